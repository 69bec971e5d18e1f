/**
 * What it costs to derive the rollout state from a verified audit log (issue 20): a SQLite store
 * holding a log of 1,000 or 10,000 records, read as `umbra serve` does at start (every row: plain
 * chain, MACs, the fold replayed and compared with every stored state, the head file and the head
 * kept in the store), and one transition in a warm process (the rows since the last check, the last
 * row, then sign, append and anchor) and in a fresh one (a CLI command: a full check first).
 * In-run baselines: the bare read of the same rows (the adapter's JSON.parse included), and the
 * bare append of one row.
 *
 * Two shapes of log. `lifecycle`: candidates registered, shadowed, canaried, promoted or rolled
 * back, so the number of versions (and the state stored in every row) grows with the log, as it
 * does in a real deployment; the stored states then dominate (they grow quadratically in total,
 * which is why 10,000 records are not run in this shape). `long-canary`: a few candidates, each
 * paused and resumed many times, so the state stays small and the per-record cost shows.
 * `quick`: 1,000 records of each shape, fewer repetitions.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compileSettings } from '../src/core/settings.js';
import { compileConfig } from '../src/core/config/index.js';
import { Rng } from '../src/core/rng.js';
import { appendRecords, auditKeyOf, initRollout, transition, machineOptions, type AuditRecord, type RolloutCommand, type RolloutState } from '../src/core/rollout/index.js';
import { openSqliteStore } from '../src/store/index.js';
import type { Store } from '../src/store/port.js';
import { RolloutService } from '../src/services/rollout/state.js';
import { HeadFileAnchor } from '../src/services/rollout/anchor.js';
import type { AuditKeySource } from '../src/services/rollout/keys.js';
import { StateKey } from '../src/services/state-keys.js';
import { median, type BenchFn, type BenchMetric, type BenchRatio } from './types.js';

const settings = compileSettings(compileConfig({ rollout: { retry_cooldown_s: 0 } }));
const KEY = auditKeyOf(new Uint8Array(32).fill(0x5a));
const keys: AuditKeySource = { where: 'bench', keys: () => [KEY], signingKey: () => ({ key: KEY, created: false }) };
const pass = { passed: true, summary: 'bench gates' };
const HOUR = 3_600_000;

type Shape = 'lifecycle' | 'long-canary';

/** Commands of a log of the given shape, until about `records` records. */
function* commands(shape: Shape, rng: Rng): Generator<RolloutCommand> {
  const who = { actor: 'bench' };
  for (let v = 0; ; v++) {
    const id = `cand-${v.toString().padStart(5, '0')}`;
    yield { type: 'register', id, artifactHash: `sha-${id}`, ...who };
    yield { type: 'start_shadow', gates: pass, ...who };
    if (shape === 'lifecycle' && rng.next() < 0.3) continue; // superseded by the next retraining
    yield { type: 'promote', gates: pass, ...who };
    if (shape === 'long-canary') {
      for (let k = 0; k < 150; k++) {
        yield { type: 'pause', reason: 'srm', ...who };
        yield { type: 'resume', gates: pass, reason: 'checked', ...who };
      }
    } else if (rng.next() < 0.3) yield { type: 'ramp', gates: pass, weight: 0.1, ...who };
    const u = rng.next();
    if (shape === 'lifecycle' && u < 0.35) {
      yield { type: 'rollback', reason: 'guardrail', ...who };
      continue;
    }
    yield { type: 'promote', gates: pass, ...who };
    if (shape === 'lifecycle' && u > 0.95) yield { type: 'rollback', reason: 'drift', ...who, target: '@champion' };
  }
}

/** A store with a signed log of about `n` records, written as the service writes it. */
async function buildLog(dir: string, shape: Shape, n: number): Promise<{ store: Store; records: number; rows: number; versions: number; bytes: number }> {
  const store = openSqliteStore(join(dir, 'umbra.db'), {});
  const head = new HeadFileAnchor(join(dir, 'audit-head.jsonl'));
  const opts = machineOptions(settings.config.rollout);
  let now = Date.parse('2025-01-01T00:00:00Z');
  const init = initRollout(now);
  let state: RolloutState = init.state;
  let last: AuditRecord | null = null;
  let rows = 0;
  let bytes = 0;
  const write = async (events: Parameters<typeof appendRecords>[1], s: RolloutState): Promise<void> => {
    const records = appendRecords(last, events.map((e) => ({ ...e, configHash: settings.configHash })), KEY);
    last = records[records.length - 1]!;
    const body = { kind: 'rollout', records, state: s };
    bytes += JSON.stringify(body).length;
    await store.appendAudit({ ts: s.updatedAt, body }, ++rows);
  };
  await write(init.events, state);
  const gen = commands(shape, new Rng(20, 20));
  while (last!.seq + 1 < n) {
    const c = gen.next().value as RolloutCommand;
    now += HOUR;
    const r = transition(state, c.target === '@champion' ? { ...c, target: state.champion } : c, now, opts);
    if (!r.ok) continue;
    state = r.state;
    await write(r.events, state);
  }
  await store.setState(StateKey.AUDIT_HEAD, { seq: last!.seq, hash: last!.hash });
  await head.publish({ seq: last!.seq, hash: last!.hash, row: rows, ts: last!.ts, keyId: KEY.id });
  return { store, records: last!.seq + 1, rows, versions: Object.keys(state.versions).length, bytes };
}

const ms = (t0: number): number => performance.now() - t0;

/** One shape and size, measured (exported for a smoke run on a tiny log). */
export async function measure(shape: Shape, n: number, reps: number): Promise<{ metrics: BenchMetric[]; ratios: BenchRatio[]; note: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-audit-'));
  try {
    const log = await buildLog(dir, shape, n);
    const { store } = log;
    const svc = (): RolloutService => new RolloutService(store, { settings, keys, anchors: [new HeadFileAnchor(join(dir, 'audit-head.jsonl'))], reverifyMs: 3_600_000 });
    const read: number[] = [];
    const plain: number[] = [];
    const start: number[] = [];
    for (let r = 0; r < reps; r++) {
      let t0 = performance.now();
      let count = 0;
      for await (const row of store.audit()) count += row.seq > 0 ? 1 : 0;
      read.push(ms(t0));
      if (count !== log.rows) throw new Error(`read ${count} rows, wrote ${log.rows}`);
      t0 = performance.now();
      const v = await new RolloutService(store, { settings }).verify();
      plain.push(ms(t0));
      if (!v.ok) throw new Error(`the log does not verify: ${v.problem?.reason}`);
      t0 = performance.now();
      const s = svc();
      await s.state();
      start.push(ms(t0));
      if (!s.trusted || s.audit?.keys.status !== 'verified') throw new Error('serve start did not verify the keys');
    }
    // One transition in a warm process (pause / resume alternately), and in a fresh one.
    const warm = svc();
    await warm.state();
    const inCanary = async (): Promise<boolean> => (await warm.status()).stage === 'canary';
    const flip = async (s: RolloutService, canary: boolean): Promise<void> => {
      await s.apply(canary ? { type: 'pause', reason: 'bench', actor: 'bench' } : { type: 'resume', gates: pass, reason: 'bench', actor: 'bench' });
    };
    // Bring a candidate into canary (or paused from it), so that pause / resume always apply.
    const st = await warm.status();
    if (!(st.stage === 'canary' || (st.stage === 'paused' && st.pausedFrom === 'canary'))) {
      if (st.stage === 'paused') await warm.apply({ type: 'abort', reason: 'bench', actor: 'bench' });
      await warm.apply({ type: 'register', id: 'bench-extra', actor: 'bench' });
      await warm.apply({ type: 'start_shadow', gates: pass, actor: 'bench' });
      await warm.apply({ type: 'promote', gates: pass, actor: 'bench' });
    }
    const tWarm: number[] = [];
    const tFresh: number[] = [];
    const tAppend: number[] = [];
    for (let r = 0; r < Math.max(5, reps * 3); r++) {
      const canary = await inCanary();
      const t0 = performance.now();
      await flip(warm, canary);
      tWarm.push(ms(t0));
    }
    for (let r = 0; r < reps; r++) {
      const fresh = svc();
      const canary = await inCanary();
      const t0 = performance.now();
      await flip(fresh, canary);
      tFresh.push(ms(t0));
    }
    // Baseline: appending one row of the same size to a scratch table of the same store.
    const body = (await store.lastAudit())!.body;
    const scratch = openSqliteStore(join(dir, 'scratch.db'), {});
    for (let r = 0; r < Math.max(5, reps * 3); r++) {
      const t0 = performance.now();
      await scratch.appendAudit({ ts: new Date().toISOString(), body });
      tAppend.push(ms(t0));
    }
    await scratch.close();
    await store.close();
    const tag = `${shape}_${n >= 1000 ? `${n / 1000}k` : n}`;
    const metrics: BenchMetric[] = [
      { name: `${tag}_read_rows_ms`, value: median(read), unit: 'ms', better: 'lower', samples: read },
      { name: `${tag}_verify_plain_ms`, value: median(plain), unit: 'ms', better: 'lower', samples: plain },
      { name: `${tag}_serve_start_check_ms`, value: median(start), unit: 'ms', better: 'lower', samples: start },
      { name: `${tag}_transition_warm_ms`, value: median(tWarm), unit: 'ms', better: 'lower', samples: tWarm },
      { name: `${tag}_transition_fresh_ms`, value: median(tFresh), unit: 'ms', better: 'lower', samples: tFresh },
      { name: `${tag}_append_row_ms`, value: median(tAppend), unit: 'ms', better: 'lower', samples: tAppend },
    ];
    const ratios: BenchRatio[] = [
      { name: `${tag}_serve_start_check_over_read`, value: median(start) / median(read), better: 'lower' },
      { name: `${tag}_transition_warm_over_append`, value: median(tWarm) / median(tAppend), better: 'lower' },
    ];
    const note = `${tag}: ${log.records.toLocaleString('en-US')} records in ${log.rows.toLocaleString('en-US')} rows, ${log.versions} versions, ${(log.bytes / 2 ** 20).toFixed(1)} MiB of row bodies (${Math.round(log.bytes / log.rows).toLocaleString('en-US')} B per row on average)`;
    return { metrics, ratios, note };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const run: BenchFn = async ({ quick }) => {
  const cases: [Shape, number][] = quick ? [['lifecycle', 1000], ['long-canary', 1000]] : [['lifecycle', 1000], ['long-canary', 1000], ['long-canary', 10_000]];
  const reps = quick ? 3 : 5;
  const metrics: BenchMetric[] = [];
  const ratios: BenchRatio[] = [];
  const notes: string[] = [];
  for (const [shape, n] of cases) {
    const r = await measure(shape, n, reps);
    metrics.push(...r.metrics);
    ratios.push(...r.ratios);
    notes.push(r.note);
  }
  notes.push(
    'serve_start_check: the first state() of a fresh RolloutService (direct SQLite store): every row read and checked (chain, MACs, fold against every stored state), the head file and the in-store head; verify_plain: the same without keys and anchors',
    'transition_warm: one pause or resume in a process that verified the log before (new rows, last row, sign, append, the head written to the store and the head file with fsync); transition_fresh: the same in a new process (a CLI command), a full check first',
    'append_row: the bare append of a row of the same size to a scratch store: the in-run baseline of a transition',
  );
  return {
    name: 'audit',
    description: 'deriving the rollout state from the verified audit log: full check at serve start and before a CLI transition, incremental check before a transition in a running service; baselines: bare read of the rows, bare append of one row',
    metrics,
    ratios,
    notes,
  };
};
