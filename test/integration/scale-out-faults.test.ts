/**
 * The fleet with the real servers on loopback: three decision-service replicas (their own
 * processes), one ingest consumer (`umbra ingest --stream`), one shadow controller, PostgreSQL and
 * NATS JetStream, with bounded load from a separate process. Mid-run one replica and the consumer
 * are killed with SIGKILL and the consumer is started again; every connection of the store's
 * database is cut (pg_terminate_backend) twice during load, and later the database refuses
 * connections for longer than the staleness limit (a PostgreSQL restart without disturbing other
 * users of the shared server). Then: every decision a client received is stored exactly once, no
 * outcome is joined twice (resends included), the canary share of every replica is 5 % within
 * four standard errors, a key is in the same slice on every replica, replicas answered throughout
 * (the baseline while the state was lost), a promote and a rollback sent to different replicas at
 * once leave one state that every replica serves within 2 s, and the audit chain verifies.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, umbra } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { faultBundle, settingsModule } from '../helpers/server.js';
import { NATS_URL, scratchDatabase, scratchName, serviceAvailable } from '../helpers/services.js';
import type { ConfigInput } from '../../src/core/config/index.js';

const up = (await serviceAvailable('postgres')) && (await serviceAvailable('nats'));
const contextModule = (await import(join(projectRoot, 'dist', 'src', 'app', 'context.js'))) as typeof import('../../src/app/context.js');
const streamModule = (await import(join(projectRoot, 'dist', 'src', 'app', 'stream.js'))) as typeof import('../../src/app/stream.js');

const ADMIN = 'scale-out-admin-token';
const children: ChildProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const f of cleanups.reverse()) await f();
});

function spawnLogged(args: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
  const c = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(c);
  c.stderr?.on('data', (d: Buffer) => writeFileSync(log, d, { flag: 'a' }));
  return c;
}

/** Start a replica; resolves with its URL once it listens. */
async function startReplica(dataDir: string, env: NodeJS.ProcessEnv, i: number): Promise<{ url: string; proc: ChildProcess }> {
  const proc = spawnLogged([join(projectRoot, 'test', 'fixtures', 'replica.mjs'), dataDir], env, join(dataDir, `replica-${i}.log`));
  const line = await new Promise<string>((resolve, reject) => {
    let listening = false;
    const rl = createInterface({ input: proc.stdout! });
    rl.once('line', (l) => {
      listening = true;
      resolve(l);
    });
    proc.once('exit', (code) => {
      if (!listening) reject(new Error(`replica ${i} exited (${code}) before listening`));
    });
  });
  return { url: (JSON.parse(line) as { url: string }).url, proc };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

interface Answer {
  id: string;
  key: string;
  r: number;
  servedBy: string;
  action: string;
  stage: string;
  reason: string | null;
}

function readLoad(file: string): { answers: Answer[]; errors: number; outcomes: { o: string; status: number }[] } {
  const answers: Answer[] = [];
  const outcomes: { o: string; status: number }[] = [];
  let errors = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line === '') continue;
    const x = JSON.parse(line) as Record<string, unknown>;
    if (typeof x.o === 'string') outcomes.push(x as { o: string; status: number });
    else if (typeof x.err === 'string') errors++;
    else answers.push(x as unknown as Answer);
  }
  return { answers, errors, outcomes };
}

const lines = (file: string): number => {
  try {
    return readFileSync(file, 'utf8').split('\n').length - 1;
  } catch {
    return 0;
  }
};

async function decide(url: string, key: string, id: string): Promise<{ status: number; body: Answer }> {
  const r = await fetch(`${url}/v1/decide`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: key, id }) });
  return { status: r.status, body: (await r.json()) as Answer };
}

async function status(url: string): Promise<{ stage: string; champion: string; candidate: string | null }> {
  return (await (await fetch(`${url}/v1/status`)).json()) as { stage: string; champion: string; candidate: string | null };
}

describe.skipIf(!up)('scale-out on PostgreSQL and NATS JetStream, under faults', () => {
  it('keeps every answer, joins every outcome once, splits 5 % per replica and agrees on one rollout state', async () => {
    const db = await scratchDatabase();
    cleanups.push(() => db.drop());
    const dataDir = mkdtempSync(join(tmpdir(), 'umbra-fleet-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const tag = scratchName('t');
    const cfg: ConfigInput = {
      store: { stream_name: tag.toUpperCase(), stream_subject: `${tag}.events`, stream_consumer: `${tag}_ingest` },
      server: { state_poll_ms: 200, state_staleness_ms: 4000, decision_deadline_ms: 1000, request_deadline_ms: 3000, admin_token: ADMIN },
    };
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify(cfg));
    const env: NodeJS.ProcessEnv = { ...process.env, UMBRA_STORE_URL: db.url, UMBRA_STREAM_URL: NATS_URL, UMBRA_ADMIN_TOKEN: ADMIN };
    const settings = settingsModule.settingsOf(cfg);
    cleanups.push(async () => {
      const s = await streamModule.openEventStream(settings, NATS_URL);
      await s.destroy();
      await s.close();
    });

    // A candidate on a 5 % canary, set up through the same store the fleet uses.
    const savedUrl = process.env.UMBRA_STORE_URL;
    process.env.UMBRA_STORE_URL = db.url;
    const version = faultBundle(dataDir, cfg, 'ok:deep');
    await contextModule.withWired({ settings, dataDir }, async (w) => {
      await w.rollout.apply({ type: 'register', id: version, actor: 'test' });
      await w.rollout.apply({ type: 'start_shadow', gates: { passed: true, summary: 'test gates' }, actor: 'test' });
      await w.rollout.apply({ type: 'promote', gates: { passed: true, summary: 'test gates' }, weight: 0.05, actor: 'test' });
    });
    if (savedUrl === undefined) delete process.env.UMBRA_STORE_URL;
    else process.env.UMBRA_STORE_URL = savedUrl;

    // The fleet.
    const replicas = await Promise.all([0, 1, 2].map((i) => startReplica(dataDir, env, i)));
    const urls = replicas.map((r) => r.url);
    const consumerArgs = [CLI, '--data-dir', dataDir, 'ingest', '--stream'];
    let consumer = spawnLogged(consumerArgs, env, join(dataDir, 'consumer.log'));
    const telemetry = join(dataDir, 'telemetry.jsonl');
    writeFileSync(telemetry, '');
    const controller = spawnLogged([CLI, '--data-dir', dataDir, 'shadow', 'start', '--telemetry', telemetry], env, join(dataDir, 'shadow.log'));
    for (const u of urls) await waitFor('the canary on every replica', async () => ((await status(u)).stage === 'canary' ? true : undefined));

    // Bounded load from its own process.
    const out = join(dataDir, 'load.jsonl');
    const job = { urls, n: 6000, concurrency: 6, out, keys: 4001, outcomeEvery: 3, resendEvery: 5, prefix: tag };
    const load = spawn(process.execPath, [join(projectRoot, 'test', 'fixtures', 'loadgen.mjs'), JSON.stringify(job)], { stdio: 'inherit' });
    children.push(load);
    const loadDone = new Promise<number | null>((r) => load.once('exit', r));

    const admin = new pg.Client({ connectionString: db.url.replace(/\/[^/]*$/, '/postgres') });
    admin.on('error', () => undefined);
    await admin.connect();
    cleanups.push(() => admin.end());
    const cutConnections = async (): Promise<number> => Number((await admin.query<{ n: string }>('SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [db.name])).rows[0]!.n);

    await waitFor('a quarter of the load', () => (lines(out) >= 1500 ? true : undefined), 120_000);
    replicas[2]!.proc.kill('SIGKILL');
    consumer.kill('SIGKILL');
    const cut1 = await cutConnections();
    await waitFor('half of the load', () => (lines(out) >= 3000 ? true : undefined), 120_000);
    consumer = spawnLogged(consumerArgs, env, join(dataDir, 'consumer.log'));
    await waitFor('three quarters of the load', () => (lines(out) >= 4500 ? true : undefined), 120_000);
    const cut2 = await cutConnections();
    expect(await loadDone).toBe(0);
    expect(cut1 + cut2).toBeGreaterThan(0);

    const { answers, errors, outcomes } = readLoad(out);
    const received = new Set(answers.map((a) => a.id));
    expect(received.size).toBe(answers.length);
    // Replica 2 stopped answering when it was killed; the other two answered everything.
    expect(answers.filter((a) => a.r !== 2)).toHaveLength(4000);
    expect(errors).toBeGreaterThan(0);

    // Every decision a client received is stored exactly once.
    const store = new pg.Client({ connectionString: db.url });
    store.on('error', () => undefined);
    await store.connect();
    cleanups.push(() => store.end().catch(() => undefined));
    const storedIds = await waitFor(
      'the consumer to store every received decision',
      async () => {
        const rows = (await store.query<{ id: string }>('SELECT id FROM decisions WHERE id LIKE $1', [`${tag}-%`])).rows;
        const ids = new Set(rows.map((r) => r.id));
        if (process.env.UMBRA_DEBUG_FLEET) process.stderr.write(`stored ${ids.size} of ${received.size}; missing e.g. ${[...received].filter((id) => !ids.has(id)).slice(0, 3).join(' ')}\n${readFileSync(join(dataDir, 'consumer.log'), 'utf8').slice(-600)}\n`);
        return [...received].every((id) => ids.has(id)) ? rows.map((r) => r.id) : undefined;
      },
      60_000,
      2000,
    );
    expect(new Set(storedIds).size).toBe(storedIds.length);
    const extra = storedIds.filter((id) => !received.has(id));
    // Published but never answered: only requests in flight at the replica's SIGKILL.
    expect(extra.length).toBeLessThanOrEqual(job.concurrency);

    // No outcome joined twice: one update per outcome id, resends included, and every one joined.
    const accepted = new Set(outcomes.filter((o) => o.status === 202).map((o) => o.o));
    expect(accepted.size).toBeGreaterThan(1000);
    const rows = await waitFor(
      'every accepted outcome stored',
      async () => {
        const r = (await store.query<{ id: string; updates: number; pending: number }>('SELECT id, updates, pending FROM outcomes WHERE id LIKE $1', [`${tag}-%`])).rows;
        return r.length >= accepted.size ? r : undefined;
      },
      30_000,
      500,
    );
    expect(rows.filter((r) => accepted.has(r.id)).every((r) => r.updates === 1 && r.pending === 0)).toBe(true);

    // The canary share per replica: 5 % within four standard errors of a binomial share.
    // (Among the answers the rollout state decided: a fallback, the baseline within the deadline, says nothing about the split.)
    const shares: Record<number, { n: number; canary: number; control: number; fallback: number; reasons: Record<string, number> }> = {};
    for (const a of answers) {
      const s = (shares[a.r] ??= { n: 0, canary: 0, control: 0, fallback: 0, reasons: {} });
      if (a.servedBy === 'fallback') {
        s.fallback++;
        s.reasons[a.reason ?? '?'] = (s.reasons[a.reason ?? '?'] ?? 0) + 1;
        expect(a.action).toBe('planner');
        continue;
      }
      s.n++;
      if (a.servedBy === 'canary') s.canary++;
      if (a.servedBy === 'control') s.control++;
    }
    for (const [r, s] of Object.entries(shares)) {
      const tol = 4 * Math.sqrt((0.05 * 0.95) / s.n);
      expect(Math.abs(s.canary / s.n - 0.05), `replica ${r}: canary ${s.canary}/${s.n}`).toBeLessThanOrEqual(tol);
      expect(Math.abs(s.control / s.n - 0.05), `replica ${r}: control ${s.control}/${s.n}`).toBeLessThanOrEqual(tol);
      // Cutting connections cost no answer, and at most a few went to the baseline; none for an audit log wrongly distrusted.
      expect(s.reasons.audit_untrusted ?? 0, `replica ${r}`).toBe(0);
      expect(s.fallback, `replica ${r}: fallbacks ${JSON.stringify(s.reasons)}`).toBeLessThan(s.n / 100);
    }
    // A key is in the same slice whichever replica answers.
    const sliceByKey = new Map<string, string>();
    let shared = 0;
    for (const a of answers) {
      if (a.servedBy === 'fallback') continue;
      const prev = sliceByKey.get(a.key);
      if (prev === undefined) sliceByKey.set(a.key, a.servedBy);
      else {
        shared++;
        expect(a.servedBy, a.key).toBe(prev);
      }
    }
    expect(shared).toBeGreaterThan(500);

    // The database refuses connections for longer than the staleness limit: replicas keep
    // answering, with the baseline once their state is too old; afterwards the canary is back.
    const live = urls.slice(0, 2);
    const canaryKey = answers.find((a) => a.servedBy === 'canary' && a.r < 2)!.key;
    await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS false`);
    await cutConnections();
    const during: Answer[] = [];
    // At least 35 rounds, and on until the state has gone stale (4 s; longer on a loaded machine).
    const outageStart = Date.now();
    for (let k = 0; k < 35 || (!during.some((a) => a.reason === 'state_stale') && Date.now() - outageStart < 30_000); k++) {
      for (const u of live) {
        const r = await decide(u, canaryKey, `${tag}-outage-${k}-${u.slice(-5)}`);
        expect(r.status).toBe(200);
        during.push(r.body);
      }
      await sleep(100);
    }
    await admin.query(`ALTER DATABASE ${db.name} ALLOW_CONNECTIONS true`);
    expect(during.every((a) => a.servedBy === 'canary' || (a.servedBy === 'fallback' && a.action === 'planner'))).toBe(true);
    expect(during.some((a) => a.reason === 'state_stale')).toBe(true);
    // A store that is away is not a damaged audit log: no replica distrusts it.
    expect(during.filter((a) => a.reason === 'audit_untrusted').length).toBe(0);
    for (const u of live) await waitFor('the canary back after the outage', async () => ((await decide(u, canaryKey, `${tag}-back-${Date.now()}`)).body.servedBy === 'canary' ? true : undefined), 20_000, 200);

    // A promote and a rollback sent to different replicas at once: one consistent state, reached by
    // every replica within 2 s, and a verifying audit chain.
    const act = (u: string, action: string, body: unknown): Promise<Response> => fetch(`${u}/v1/admin/rollout/${action}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN}` }, body: JSON.stringify(body) });
    const [p, rb] = await Promise.all([act(live[0]!, 'promote', { force: true, reason: 'race test' }), act(live[1]!, 'rollback', { reason: 'race test' })]);
    const t0 = Date.now();
    const ok = [p.status, rb.status].filter((s) => s === 200).length;
    expect(ok).toBeGreaterThanOrEqual(1);
    const settled = await waitFor(
      'every replica on the same state',
      async () => {
        const all = await Promise.all(live.map(status));
        return all.every((s) => s.stage === all[0]!.stage && s.champion === all[0]!.champion) ? all[0] : undefined;
      },
      5000,
      50,
    );
    const propagatedMs = Date.now() - t0;
    expect(propagatedMs).toBeLessThan(2000);
    // Both applied (promote, then rollback of the new champion) or the rollback came first and the
    // promote found nothing to promote: never two different states.
    expect(settled.stage).toBe('rolled_back');
    expect(settled.champion).toBe('baseline');
    const verify = umbra(['--data-dir', dataDir, '--json', 'audit', 'verify'], { env });
    expect(verify.status, verify.stderr).toBe(0);
    expect(JSON.parse(verify.stdout)).toMatchObject({ ok: true });

    process.stderr.write(
      `scale-out fault run: ${answers.length} answers received (${errors} refused by the killed replica), ${storedIds.length} stored (${extra.length} published but unanswered), ${accepted.size} outcomes each joined once; ` +
        `canary/control per replica ${Object.entries(shares).map(([r, s]) => `${r}: ${(100 * s.canary / s.n).toFixed(2)}%/${(100 * s.control / s.n).toFixed(2)}% of ${s.n} (fallbacks ${JSON.stringify(s.reasons)})`).join(', ')}; ` +
        `${shared} keys answered by two replicas, same slice; outage answers ${during.length} (${during.filter((a) => a.reason === 'state_stale').length} baseline for stale state); race: promote ${p.status}, rollback ${rb.status} → ${settled.stage}, on every replica ${propagatedMs} ms after the answers\n`,
    );
    for (const c of [consumer, controller, replicas[0]!.proc, replicas[1]!.proc]) c.kill('SIGTERM');
    await sleep(500);
  }, 300_000);
});
