/**
 * The scale-out on PostgreSQL and NATS JetStream beside the embedded default, in one run:
 *
 * - decisions/s and p50/p99 of `POST /v1/decide` (rules champion, back to back, 16 keep-alive
 *   connections from the separate load generator of bench/lib/loadgen.ts) for `umbra serve` on
 *   SQLite in one process, and for `umbra serve --replicas 1` and `--replicas 2` on PostgreSQL
 *   with the decision log published to JetStream before each answer (the fleet's set-up);
 * - ingest: the same canonical decision log (`umbra bootstrap --format decisions`) read into
 *   SQLite by `umbra ingest`, and published to a stream (`umbra ingest --to`) then stored in
 *   PostgreSQL by the durable consumer (`umbra ingest --stream`), in events per second.
 *
 * Targets (issue 17): 2 replicas ≥ 1.6 × 1 replica; JetStream → PostgreSQL ≥ 30,000 events/s.
 * Needs PostgreSQL (UMBRA_TEST_PG_URL, default postgres://postgres@127.0.0.1:5432/test) and NATS
 * JetStream (UMBRA_TEST_NATS_URL, default nats://127.0.0.1:4222); it makes its own database and
 * stream and drops them. Everything (servers, load generator, PostgreSQL, NATS) shares this
 * machine's cores, which the notes state.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { compileConfig } from '../src/core/config/index.js';
import { compileSettings } from '../src/core/settings.js';
import { consumeStream, openEventStream } from '../src/app/stream.js';
import type { LoadResult } from './lib/loadgen.js';
import { runLoadgen } from './lib/route-load.js';
import { median, type BenchFn } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'main.js');
const PG_URL = process.env.UMBRA_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const NATS_URL = process.env.UMBRA_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

function cli(args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env, maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(`umbra ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** `umbra serve` as a child; resolves with its URL and the process. */
async function serve(dataDir: string, env: NodeJS.ProcessEnv, replicas: number): Promise<{ url: string; proc: ChildProcess }> {
  const args = [CLI, '--data-dir', dataDir, '--json', 'serve', '--port', '0', ...(replicas > 1 ? ['--replicas', String(replicas)] : [])];
  const proc = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).once('line', resolve);
    proc.once('exit', (code) => reject(new Error(`umbra serve exited ${code}`)));
  });
  // Let every replica of a cluster come up before measuring.
  await new Promise((r) => setTimeout(r, replicas > 1 ? 1500 : 300));
  return { url: (JSON.parse(line) as { url: string }).url, proc };
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  const done = new Promise((r) => p.once('exit', r));
  p.kill('SIGTERM');
  await Promise.race([done, new Promise((r) => setTimeout(r, 10_000))]);
  if (p.exitCode === null) p.kill('SIGKILL');
}

function bodies(n: number): string[] {
  return Array.from({ length: n }, (_, i) => JSON.stringify({ point: 'route', context: { lang: i % 3 === 0 ? 'en' : 'sv', intent: 'weather', hour: i % 24 }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: `user-${i}` }));
}

export const run: BenchFn = async ({ quick }) => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-scaleout-'));
  const tag = `b${process.pid}_${randomBytes(3).toString('hex')}`;
  const dbName = `umbra_bench_${tag}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = new URL(PG_URL);
  dbUrl.pathname = `/${dbName}`;
  const storeUrl = dbUrl.toString();
  const cfg = { store: { stream_name: tag.toUpperCase(), stream_subject: `${tag}.events`, stream_consumer: `${tag}_ingest` } };
  const settings = compileSettings(compileConfig(cfg));
  const children: ChildProcess[] = [];
  try {
    const reps = quick ? 1 : 3;
    const durationMs = quick ? 1000 : 5000;
    const warmupMs = quick ? 300 : 1500;
    const concurrency = 16;
    const reqs = bodies(2000);
    const sqliteDir = join(dir, 'sqlite');
    const pgDir = join(dir, 'pg');
    const tailerDir = join(dir, 'tailer');
    for (const d of [sqliteDir, pgDir, tailerDir]) {
      spawnSync('mkdir', ['-p', d]);
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    }
    const sqliteEnv = { ...process.env, UMBRA_STORE_URL: '', UMBRA_STREAM_URL: '' };
    const pgEnv = { ...process.env, UMBRA_STORE_URL: storeUrl, UMBRA_STREAM_URL: NATS_URL };
    cli(['--data-dir', pgDir, 'store', 'migrate'], pgEnv);

    const pgDirectEnv = { ...process.env, UMBRA_STORE_URL: storeUrl, UMBRA_STREAM_URL: '' };
    const samples: Record<'sqlite' | 'pgdirect' | 'pg1' | 'pg2', LoadResult[]> = { sqlite: [], pgdirect: [], pg1: [], pg2: [] };
    for (let r = 0; r < reps; r++) {
      for (const [mode, dataDir, env, n] of [
        ['sqlite', sqliteDir, sqliteEnv, 1],
        ['pgdirect', pgDir, pgDirectEnv, 1],
        ['pg1', pgDir, pgEnv, 1],
        ['pg2', pgDir, pgEnv, 2],
      ] as const) {
        const s = await serve(dataDir, env, n);
        children.push(s.proc);
        try {
          samples[mode].push(await runLoadgen({ url: s.url, concurrency, durationMs, warmupMs, bodies: reqs }));
        } finally {
          await stop(s.proc);
        }
      }
    }
    const m = (k: keyof typeof samples, f: (x: LoadResult) => number): number => median(samples[k].map(f));

    // Ingest: one decision log, into SQLite directly, and through JetStream into PostgreSQL.
    const episodes = quick ? 20_000 : 100_000;
    const log = join(dir, 'decisions.jsonl');
    cli(['bootstrap', '--episodes', String(episodes), '--seed', '11', '--format', 'decisions', '--out', log]);
    const sqIn: number[] = [];
    let events = 0;
    for (let r = 0; r < (quick ? 1 : 2); r++) {
      const d = join(dir, `sq-ingest-${r}`);
      const t0 = performance.now();
      const out = JSON.parse(cli(['--data-dir', d, '--json', 'ingest', '--telemetry', log], sqliteEnv)) as { eventsStored: number };
      sqIn.push(out.eventsStored / ((performance.now() - t0) / 1000));
      events = out.eventsStored;
    }
    const t1 = performance.now();
    const before = await (async () => {
      const s = await openEventStream(settings, NATS_URL);
      const n = await s.messages();
      await s.close();
      return n;
    })();
    cli(['--data-dir', tailerDir, '--json', 'ingest', '--telemetry', log, '--to', NATS_URL], { ...sqliteEnv });
    const publishS = (performance.now() - t1) / 1000;
    const stream = await openEventStream(settings, NATS_URL);
    const messages = (await stream.messages()) - before;
    await stream.close();
    // The consumer in this process: time from the first fetch to the last commit.
    process.env.UMBRA_STORE_URL = storeUrl;
    let lastAt = 0;
    const start = performance.now();
    const progress = await consumeStream({
      settings,
      dataDir: pgDir,
      url: NATS_URL,
      untilIdleMs: 1500,
      onBatch: () => {
        lastAt = performance.now();
      } });
    const consumeS = (lastAt - start) / 1000;
    const pgRate = progress.inserted / consumeS;
    const sqRate = median(sqIn);
    const s1 = m('pg1', (x) => x.perSecond);
    const s2 = m('pg2', (x) => x.perSecond);
    const errors = [...samples.sqlite, ...samples.pgdirect, ...samples.pg1, ...samples.pg2].reduce((a, x) => a + x.errors, 0);
    return {
      name: 'scaleout',
      description: `Decision service on SQLite (one process) beside PostgreSQL + JetStream with 1 and 2 replicas (node:cluster), ${concurrency} keep-alive connections back to back, ${durationMs / 1000} s per phase after ${warmupMs / 1000} s warm-up, ${reps} repetitions, rules champion; ingest of ${events} decision events (bootstrap --format decisions) into SQLite and through JetStream (ingest --to, then the durable consumer) into PostgreSQL.`,
      metrics: [
        { name: 'decisions/s, SQLite, 1 process', value: m('sqlite', (x) => x.perSecond), unit: '1/s', better: 'higher', samples: samples.sqlite.map((x) => x.perSecond) },
        { name: 'p99, SQLite, 1 process', value: m('sqlite', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.sqlite.map((x) => x.p99) },
        { name: 'decisions/s, PostgreSQL, log written to the store (no stream), 1 process', value: m('pgdirect', (x) => x.perSecond), unit: '1/s', better: 'higher', samples: samples.pgdirect.map((x) => x.perSecond) },
        { name: 'p99, PostgreSQL, log written to the store, 1 process', value: m('pgdirect', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.pgdirect.map((x) => x.p99) },
        { name: 'decisions/s, PostgreSQL + JetStream, 1 replica', value: s1, unit: '1/s', better: 'higher', samples: samples.pg1.map((x) => x.perSecond) },
        { name: 'p99, PostgreSQL + JetStream, 1 replica', value: m('pg1', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.pg1.map((x) => x.p99) },
        { name: 'decisions/s, PostgreSQL + JetStream, 2 replicas', value: s2, unit: '1/s', better: 'higher', samples: samples.pg2.map((x) => x.perSecond) },
        { name: 'p99, PostgreSQL + JetStream, 2 replicas', value: m('pg2', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.pg2.map((x) => x.p99) },
        { name: 'non-200 answers', value: errors, unit: 'requests', better: 'lower', target: 0 },
        { name: 'ingest events/s, SQLite (umbra ingest)', value: sqRate, unit: '1/s', better: 'higher', samples: sqIn },
        { name: 'ingest events/s, JetStream → PostgreSQL (durable consumer)', value: pgRate, unit: '1/s', better: 'higher', target: 30_000 },
        { name: 'publish events/s, file tailer → JetStream (ingest --to)', value: events / publishS, unit: '1/s', better: 'higher' },
      ],
      ratios: [
        { name: '2 replicas / 1 replica (PostgreSQL + JetStream)', value: s2 / s1, better: 'higher', target: 1.6 },
        { name: 'JetStream → PostgreSQL / SQLite ingest', value: pgRate / sqRate, better: 'higher' },
      ],
      notes: [
        `machine: ${cpus().length} cores shared by the load generator, the replicas, PostgreSQL and NATS; with 2 cores, 2 replicas compete with everything else for the second core`,
        `the tailer published ${messages} messages (the stream also held the ${before} decisions of the serve phases); the consumer stored ${progress.inserted} decisions (${progress.duplicates} duplicates) in ${progress.batches} batches`,
        `served by (last 2-replica phase): ${JSON.stringify(samples.pg2.at(-1)?.servedBy ?? {})}`,
      ] };
  } finally {
    delete process.env.UMBRA_STORE_URL;
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    try {
      const s = await openEventStream(settings, NATS_URL);
      await s.destroy();
      await s.close();
    } catch {
      /* the stream may never have been made */
    }
    await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    rmSync(dir, { recursive: true, force: true });
  }
};
