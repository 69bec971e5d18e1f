/**
 * Tampering with a real data directory after a realistic run of transitions (a champion promoted
 * through canary, a second candidate ramped, rolled back, retried and in canary again), each case
 * on its own copy: every field of the stored state edited; every byte of one audit row flipped in
 * the raw SQLite file; the last row deleted and the head kept in the store rewritten; the whole
 * chain replaced by a re-hashed one without the key. `umbra rollout verify` must fail naming the
 * record or field, and `umbra serve` on the copy must answer with the baseline only and raise the
 * `audit_untrusted` alert.
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umbra } from '../helpers/cli.js';
import { faultBundle, faultLoaderUrl, post, serverModule, settingsModule, startTestServer } from '../helpers/server.js';
import { projectRoot } from '../helpers/shared-data.js';

const dist = (p: string): string => pathToFileURL(join(projectRoot, 'dist', 'src', p)).href;
const contextModule = (await import(dist('app/context.js'))) as typeof import('../../src/app/context.js');
const rolloutCore = (await import(dist('core/rollout/index.js'))) as typeof import('../../src/core/rollout/index.js');

// Generous deadlines: a policy worker on a busy 2-core machine must not time out into a fallback.
const CFG = { rollout: { retry_cooldown_s: 0 }, server: { state_poll_ms: 100, decision_deadline_ms: 2000, request_deadline_ms: 4000 } };
const settings = settingsModule.settingsOf(CFG);
const pass = { passed: true, summary: 'test gates' };
const actions = ['micro', 'planner', 'deep'];
const dirs: string[] = [];
let source = '';
let v1 = '';
let v2 = '';

beforeAll(async () => {
  const s = await startTestServer(CFG, { loaderUrl: faultLoaderUrl });
  source = s.dataDir;
  dirs.push(source);
  v1 = faultBundle(source, CFG, 'ok:deep', dirs);
  v2 = faultBundle(source, CFG, 'ok:micro', dirs);
  const steps: Parameters<typeof s.rollout.apply>[0][] = [
    { type: 'register', id: v1, artifactHash: v1, actor: 'trainer', trigger: 'auto' },
    { type: 'start_shadow', gates: pass, actor: 'trainer', trigger: 'auto' },
    { type: 'promote', gates: pass, actor: 'cli:ops', reason: 'shadow gates passed' },
    { type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' },
    { type: 'register', id: v2, artifactHash: v2, actor: 'trainer', trigger: 'auto' },
    { type: 'start_shadow', gates: pass, actor: 'trainer', trigger: 'auto' },
    { type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' },
    { type: 'ramp', gates: pass, weight: 0.1, actor: 'cli:ops' },
    { type: 'rollback', reason: 'guardrail.success_rate FAIL', actor: 'judge', trigger: 'auto' },
    { type: 'retry', reason: 'fixed the features', actor: 'cli:ops' },
    { type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' },
  ];
  for (const c of steps) await s.rollout.apply(c);
  await s.close();
}, 60_000);

afterAll(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function copy(): string {
  const d = mkdtempSync(join(tmpdir(), 'umbra-tamper-'));
  dirs.push(d);
  cpSync(source, d, { recursive: true });
  return d;
}

type Row = { seq: number; ts: string; body: string };
function withDb<T>(dir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dir, 'umbra.db'));
  try {
    return fn(db);
  } finally {
    db.close();
  }
}
const lastRow = (dir: string): Row => withDb(dir, (db) => db.prepare('SELECT seq, ts, body FROM audit ORDER BY seq DESC LIMIT 1').get() as Row);

/** `rollout verify` in this process (the compiled service, the data directory's key and head file). */
async function verifyHere(dir: string): Promise<{ ok: boolean; problem?: { row: number; seq: number | null; field?: string; reason: string } }> {
  const w = contextModule.wire({ settings, dataDir: dir });
  try {
    return await w.rollout.verify();
  } finally {
    await w.close();
  }
}

/** `umbra rollout verify --json` as a process. */
function verifyCli(dir: string, extra: string[] = []): { status: number; out: { ok: boolean; problem?: { row: number; seq: number | null; field?: string; reason: string }; keys: { status: string } } } {
  const r = umbra(['--data-dir', dir, 'rollout', 'verify', '--json', ...extra]);
  return { status: r.status, out: JSON.parse(r.stdout) as ReturnType<typeof verifyCli>['out'] };
}

/** Start `umbra serve` on a data directory and collect what it answers. */
async function serveOn(dir: string): Promise<{ servedBy: Record<string, number>; reasons: Set<string>; audit: { ok: boolean; problem?: string } | null; alerts: { kind: string; severity: string; message: string }[]; verifiedMetric: number | undefined }> {
  const s = await serverModule.startServer({ settings, dataDir: dir, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000, loaderUrl: faultLoaderUrl });
  try {
    const servedBy: Record<string, number> = {};
    const reasons = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const r = await post(`${s.url}/v1/decide`, { context: { text: 'hej' }, actions, baselineAction: 'planner', stickyKey: `user-${k}` });
      expect(r.status).toBe(200);
      const by = r.body.servedBy as string;
      servedBy[by] = (servedBy[by] ?? 0) + 1;
      if (typeof r.body.reason === 'string') reasons.add(r.body.reason);
      if (by === 'fallback') expect(r.body.action).toBe('planner');
    }
    const status = (await (await fetch(`${s.url}/v1/status`)).json()) as { audit: { ok: boolean; problem?: string } | null };
    let alerts: { kind: string; severity: string; message: string }[] = [];
    for (let i = 0; i < 50; i++) {
      alerts = ((await (await fetch(`${s.url}/api/dashboard`)).json()) as { alerts: typeof alerts }).alerts;
      if (alerts.some((a) => a.kind === 'audit_untrusted') || status.audit?.ok !== false) break;
      await new Promise((r) => setTimeout(r, 100)); // the alert is persisted in the background
    }
    const metric = /^umbra_audit_verified (\d)$/m.exec(await (await fetch(`${s.url}/metrics`)).text())?.[1];
    return { servedBy, reasons, audit: status.audit, alerts, verifiedMetric: metric === undefined ? undefined : Number(metric) };
  } finally {
    await s.close();
  }
}

async function expectBaselineOnly(dir: string): Promise<void> {
  const r = await serveOn(dir);
  expect(r.servedBy).toEqual({ fallback: 200 });
  expect([...r.reasons]).toEqual(['audit_untrusted']);
  expect(r.audit?.ok).toBe(false);
  expect(r.alerts.find((a) => a.kind === 'audit_untrusted')).toMatchObject({ severity: 'critical' });
  expect(r.verifiedMetric).toBe(0);
}

/** Every leaf of a JSON value with its path. */
function leaves(v: unknown, path: string[] = []): { path: string[]; value: unknown }[] {
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v);
    if (entries.length === 0) return [{ path, value: v }];
    return entries.flatMap(([k, x]) => leaves(x, [...path, k]));
  }
  return [{ path, value: v }];
}
function other(v: unknown): unknown {
  if (typeof v === 'number') return v === 0 ? 1 : 0;
  if (typeof v === 'string') return v === 'baseline' ? v2 : `${v}x`;
  if (v === null) return 'shadow';
  return 'x';
}

describe('tampering with a copy of a real data directory', () => {
  it('the untouched copy verifies (keys and head file) and serves the champion and the canary', async () => {
    const dir = copy();
    expect(existsSync(join(dir, 'audit.key'))).toBe(true);
    expect(readFileSync(join(dir, 'audit-head.jsonl'), 'utf8').trim().split('\n')).toHaveLength(12);
    const v = verifyCli(dir);
    expect(v.status).toBe(0);
    expect(v.out).toMatchObject({ ok: true, keys: { status: 'verified' } });
    const state = JSON.parse(lastRow(dir).body).state as { champion: string; candidate: string; versions: Record<string, { rollbacks: number; stage: string }> };
    expect(state).toMatchObject({ champion: v1, candidate: v2 });
    expect(state.versions[v2]).toMatchObject({ stage: 'canary', rollbacks: 1 });
    const r = await serveOn(dir);
    expect(r.servedBy.fallback ?? 0, [...r.reasons].join(', ')).toBe(0);
    expect(r.servedBy.canary).toBeGreaterThan(0);
    expect(r.servedBy.production).toBeGreaterThan(100);
    expect(r.audit?.ok).toBe(true);
    expect(r.verifiedMetric).toBe(1);
    expect(r.alerts.some((a) => a.kind === 'audit_untrusted')).toBe(false);
  }, 60_000);

  it('an edit of any field of the stored state is named by verify; serve then answers with the baseline only', async () => {
    const base = copy();
    const row = lastRow(base);
    const body = JSON.parse(row.body) as { state: unknown };
    const fields = leaves(body.state);
    expect(fields.length).toBeGreaterThan(30);
    const work = copy();
    for (const { path, value } of fields) {
      cpSync(join(base, 'umbra.db'), join(work, 'umbra.db'));
      const edited = JSON.parse(row.body) as { state: Record<string, unknown> };
      let o = edited.state;
      for (const k of path.slice(0, -1)) o = o[k] as Record<string, unknown>;
      o[path.at(-1)!] = other(value);
      withDb(work, (db) => db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(JSON.stringify(edited), row.seq));
      const v = await verifyHere(work);
      expect(v.ok, path.join('.')).toBe(false);
      expect(v.problem?.field).toBe(`state.${path.join('.')}`);
    }
    // The two probes through the CLI: the candidate made champion, the rollback counter reset.
    for (const [name, edit, field] of [
      ['champion', (s: Record<string, unknown>) => (s.champion = v2), 'state.champion'],
      ['rollbacks', (s: Record<string, unknown>) => ((s.versions as Record<string, { rollbacks: number }>)[v2]!.rollbacks = 0), `state.versions.${v2}.rollbacks`],
    ] as const) {
      const dir = copy();
      const b = JSON.parse(row.body) as { state: Record<string, unknown> };
      edit(b.state);
      withDb(dir, (db) => db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(JSON.stringify(b), row.seq));
      const v = verifyCli(dir);
      expect(v.status, name).toBe(14);
      expect(v.out.problem?.field, name).toBe(field);
      const st = umbra(['--data-dir', dir, 'rollout', 'status', '--json']);
      expect(st.status).toBe(14);
      expect(JSON.parse(st.stdout)).toMatchObject({ champion: 'baseline', candidate: null, audit: { ok: false } });
      if (name === 'champion') await expectBaselineOnly(dir);
    }
  }, 120_000);

  it('a flip of any byte of one audit row in the raw SQLite file is detected', async () => {
    const base = copy();
    const row = lastRow(base);
    const file = readFileSync(join(base, 'umbra.db'));
    const cell = cellOf(row);
    const at = file.indexOf(cell);
    expect(at, 'the row is stored whole in one page').toBeGreaterThan(0);
    expect(file.indexOf(cell, at + 1)).toBe(-1);
    const work = copy();
    const missed: string[] = [];
    // Each byte flipped whole (xor 0xff) and by its lowest bit alone (xor 0x01: '1' → '0', text → blob).
    for (const mask of [0xff, 0x01]) {
      for (let i = 0; i < cell.length; i++) {
        const flipped = Buffer.from(file);
        flipped[at + i]! ^= mask;
        writeFileSync(join(work, 'umbra.db'), flipped);
        const v = await verifyHere(work).catch((e: Error) => ({ ok: false, problem: { row: -1, seq: null, reason: e.message } }));
        if (v.ok) missed.push(`${i}^${mask.toString(16)}`);
      }
    }
    expect(missed, `undetected flips at cell offsets ${missed.join(', ')} of ${cell.length}`).toEqual([]);
    // The probe: the rollback counter of the candidate, 1 → 0, as one byte in the file.
    const needle = Buffer.from(`"rollbacks":1`);
    const inRow = Buffer.from(row.body).indexOf(needle);
    expect(inRow).toBeGreaterThan(0);
    const dir = copy();
    const flipped = Buffer.from(file);
    flipped[at + cell.length - Buffer.byteLength(row.body) + inRow + needle.length - 1] = '0'.charCodeAt(0);
    writeFileSync(join(dir, 'umbra.db'), flipped);
    const v = verifyCli(dir);
    expect(v.status).toBe(14);
    expect(v.out.problem?.field).toBe(`state.versions.${v2}.rollbacks`);
    await expectBaselineOnly(dir);
  }, 300_000);

  it('the last row deleted and the head kept in the store rewritten: the head file outside catches it', async () => {
    const dir = copy();
    withDb(dir, (db) => {
      db.prepare('DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)').run();
      const prev = JSON.parse((db.prepare('SELECT body FROM audit ORDER BY seq DESC LIMIT 1').get() as { body: string }).body) as { records: { seq: number; hash: string }[] };
      const head = prev.records.at(-1)!;
      db.prepare("UPDATE state SET value = ? WHERE key = 'rollout.audit_head'").run(JSON.stringify({ seq: head.seq, hash: head.hash }));
    });
    const v = verifyCli(dir);
    expect(v.status).toBe(14);
    expect(v.out.problem?.reason).toContain('tail was cut');
    // With the head file moved away the store alone looks whole; given back by hand, it is caught again.
    const moved = join(dir, 'heads-kept-elsewhere.jsonl');
    cpSync(join(dir, 'audit-head.jsonl'), moved);
    rmSync(join(dir, 'audit-head.jsonl'));
    expect(verifyCli(dir).status).toBe(0);
    const anchored = verifyCli(dir, ['--anchor', moved]);
    expect(anchored.status).toBe(14);
    expect(anchored.out.problem?.reason).toContain('tail was cut');
    const lastHead = JSON.parse(readFileSync(moved, 'utf8').trim().split('\n').at(-1)!) as { seq: number; hash: string };
    expect(verifyCli(dir, ['--anchor', `${lastHead.seq}:${lastHead.hash}`]).status).toBe(14);
    cpSync(moved, join(dir, 'audit-head.jsonl'));
    await expectBaselineOnly(dir);
  }, 60_000);

  it('the whole chain replaced by a re-hashed one without the key is caught by the MACs, even with the head file gone', async () => {
    const base = copy();
    const rows = withDb(base, (db) => db.prepare('SELECT seq, ts, body FROM audit ORDER BY seq').all() as Row[]);
    const times = rows.map((r) => Date.parse(r.ts));
    // The forger's history: v2 straight to production. Records chained and hashed by the book, states folded.
    const forge = (key: import('../../src/core/rollout/index.js').AuditKey | undefined): Row[] => {
      const init = rolloutCore.initRollout(times[0]!);
      let state = init.state;
      let last: import('../../src/core/rollout/index.js').AuditRecord | null = null;
      const out: Row[] = [];
      const push = (events: import('../../src/core/rollout/index.js').AuditEvent[]): void => {
        const records = rolloutCore.appendRecords(last, events.map((e) => ({ ...e, configHash: settings.configHash })), key);
        last = records.at(-1)!;
        out.push({ seq: out.length + 1, ts: state.updatedAt, body: JSON.stringify({ kind: 'rollout', records, state }) });
      };
      push(init.events);
      const cmds: Parameters<typeof rolloutCore.applyCommand>[1][] = [
        { type: 'register', id: v2, artifactHash: v2, actor: 'trainer', trigger: 'auto' },
        { type: 'start_shadow', gates: pass, actor: 'trainer', trigger: 'auto' },
        { type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' },
        { type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' },
      ];
      cmds.forEach((c, i) => {
        const r = rolloutCore.applyCommand(state, c, times[i + 1]!);
        state = r.state;
        push(r.events);
      });
      return out;
    };
    const guessedKey = rolloutCore.auditKeyOf(new Uint8Array(32).fill(42));
    for (const [name, key] of [['unsigned', undefined], ['signed with a guessed key', guessedKey]] as const) {
      const dir = copy();
      const forged = forge(key);
      withDb(dir, (db) => {
        db.prepare('DELETE FROM audit').run();
        const ins = db.prepare('INSERT INTO audit(seq, ts, body) VALUES (?, ?, ?)');
        for (const r of forged) ins.run(r.seq, r.ts, r.body);
        const head = (JSON.parse(forged.at(-1)!.body) as { records: { seq: number; hash: string }[] }).records.at(-1)!;
        db.prepare("UPDATE state SET value = ? WHERE key = 'rollout.audit_head'").run(JSON.stringify({ seq: head.seq, hash: head.hash }));
      });
      rmSync(join(dir, 'audit-head.jsonl')); // the forger removed the outside head too
      const v = verifyCli(dir);
      expect(v.status, name).toBe(14);
      expect(v.out.keys.status, name).toBe('failed');
      // Without the key the forgery is a valid plain chain, and verify says the MACs were not checked.
      const noKey = copy();
      cpSync(join(dir, 'umbra.db'), join(noKey, 'umbra.db'));
      rmSync(join(noKey, 'audit.key'));
      rmSync(join(noKey, 'audit-head.jsonl'));
      const nk = verifyCli(noKey);
      expect(nk.out.keys.status, name).toBe(key === undefined ? 'absent' : 'unchecked');
      await expectBaselineOnly(dir);
    }
  }, 120_000);
});

/** The bytes of a table b-tree leaf cell as SQLite stores the row (seq is the rowid: NULL in the record). */
function cellOf(row: Row): Buffer {
  const ts = Buffer.from(row.ts, 'utf8');
  const body = Buffer.from(row.body, 'utf8');
  const types = [varint(0), varint(ts.length * 2 + 13), varint(body.length * 2 + 13)];
  let headerLen = types.reduce((n, t) => n + t.length, 0) + 1;
  if (varint(headerLen).length > 1) headerLen += varint(headerLen).length - 1;
  const payload = Buffer.concat([varint(headerLen), ...types, ts, body]);
  return Buffer.concat([varint(payload.length), varint(row.seq), payload]);
}

/** SQLite's big-endian variable-length integer (values below 2^56 here). */
function varint(n: number): Buffer {
  const bytes: number[] = [n & 0x7f];
  let v = Math.floor(n / 128);
  while (v > 0) {
    bytes.unshift((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  return Buffer.from(bytes);
}
