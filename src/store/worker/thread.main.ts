/**
 * Thread entry point: the worker side of WorkerStore: owns a SQLite connection in its own thread and answers the
 * store port's calls by message. A busy database (another process's write transaction) blocks
 * only this thread, never the event loop of the service that uses the store.
 *
 * Group commit: with `groupCommitMs` > 0, batches written with `group` and shadow appends are
 * collected for that long (or up to GROUP_MAX_ROWS rows) and committed in one transaction, each
 * in its own savepoint; each caller is answered when its write is committed. Any other message
 * commits the collected group first, so reads and other writes see it and keep their order. In a
 * steady stream of small writes (the decision service's log) this turns dozens of commits a
 * second, each rewriting the pages of the random id index it touched, into a few.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileReward, type RewardConfig } from '../../core/reward.js';
import type { ShadowRecord } from '../../core/events.js';
import { lowerThreadPriority, type BackgroundPriority } from '../../platform/thread-priority.js';
import { openSqliteStore, type GroupWrite, type SqliteStore, type SqliteStoreOptions } from '../sqlite/store.js';
import { unpackBatch, type PackedBatch } from './wire.js';

type Call =
  | { t: 'call'; rid: number; method: string; args: unknown[] }
  | { t: 'write'; rid: number; batch: PackedBatch }
  | { t: 'iter'; rid: number; method: string; args: unknown[]; page: number }
  | { t: 'next'; rid: number; cursor: number; page: number }
  | { t: 'end'; cursor: number };

/** What the adapter passes to its worker. */
export interface StoreWorkerData {
  path: string;
  options: SqliteStoreOptions;
  /** Group commit window, ms (0: commit every write at once). */
  groupCommitMs: number;
  /** Scheduling of this thread (thread-priority.ts; `low` is niceness 5). */
  priority: BackgroundPriority;
}

/** A group commits early once it holds this many rows. */
const GROUP_MAX_ROWS = 20_000;

const port = parentPort;
if (!port) throw new Error('the store thread must run in a worker thread');
const { path, options, groupCommitMs, priority } = workerData as StoreWorkerData;
lowerThreadPriority(priority, 5);
const store: SqliteStore = openSqliteStore(path, options);
const iterators = new Map<number, AsyncIterator<unknown>>();
let nextCursor = 1;

const group: { writes: GroupWrite[]; rids: number[]; rows: number; timer: NodeJS.Timeout | undefined } = { writes: [], rids: [], rows: 0, timer: undefined };

/** Commit the collected group and answer its callers. */
function commitGroup(): void {
  if (group.timer !== undefined) clearTimeout(group.timer);
  group.timer = undefined;
  if (group.writes.length === 0) return;
  const { writes, rids } = group;
  group.writes = [];
  group.rids = [];
  group.rows = 0;
  const outcomes = store.writeGroup(writes);
  outcomes.forEach((o, i) => port!.postMessage(o.ok ? { rid: rids[i], ok: true, result: o.value } : { rid: rids[i], ok: false, error: errorOf(o.error) }));
}

/** Collect a write for the group; false when it must be done on its own. */
function grouped(m: Call): boolean {
  if (groupCommitMs <= 0) return false;
  let w: GroupWrite;
  let rows: number;
  if (m.t === 'write' && m.batch.group === true && m.batch.hold !== true) {
    const batch = unpackBatch(m.batch);
    w = { batch };
    rows = (batch.records?.length ?? 0) + (batch.outcomes?.length ?? 0) + (batch.quarantine?.length ?? 0);
  } else if (m.t === 'call' && m.method === 'appendShadow') {
    const records = m.args[0] as ShadowRecord[];
    w = { shadow: records };
    rows = records.length;
  } else return false;
  group.writes.push(w);
  group.rids.push(m.rid);
  group.rows += rows;
  if (group.rows >= GROUP_MAX_ROWS) commitGroup();
  else group.timer ??= setTimeout(commitGroup, groupCommitMs);
  return true;
}

/** Reward functions travel as their parameters; rebuild the function here. */
function revive(method: string, args: unknown[]): unknown[] {
  if (method !== 'episodes') return args;
  const q = { ...(args[0] as Record<string, unknown>) };
  const r = q.reward as { weights: RewardConfig['weights']; penalties: RewardConfig['penalties']; defaultReward: number; defaultAfterS: number };
  q.reward = compileReward({ weights: r.weights, penalties: r.penalties, default_reward: r.defaultReward, default_after_s: r.defaultAfterS });
  return [q];
}

function errorOf(e: unknown): { code?: string; message: string; details?: unknown } {
  const x = e as { code?: unknown; message?: unknown; details?: unknown };
  return { ...(typeof x.code === 'string' ? { code: x.code } : {}), message: String(x.message ?? e), ...(x.details === undefined ? {} : { details: x.details }) };
}

async function page(it: AsyncIterator<unknown>, n: number): Promise<{ rows: unknown[]; done: boolean }> {
  const rows: unknown[] = [];
  while (rows.length < n) {
    const r = await it.next();
    if (r.done) return { rows, done: true };
    rows.push(r.value);
  }
  return { rows, done: false };
}

port.on('message', (m: Call) => {
  try {
    if (grouped(m)) return;
  } catch (e) {
    if (m.t !== 'end') port.postMessage({ rid: m.rid, ok: false, error: errorOf(e) });
    return;
  }
  commitGroup();
  void (async () => {
    try {
      if (m.t === 'call') {
        const fn = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[m.method];
        if (typeof fn !== 'function') throw new Error(`no store method ${m.method}`);
        const result = await fn.apply(store, revive(m.method, m.args));
        port.postMessage({ rid: m.rid, ok: true, result });
        if (m.method === 'close') setImmediate(() => process.exit(0));
      } else if (m.t === 'write') {
        port.postMessage({ rid: m.rid, ok: true, result: await store.writeBatch(unpackBatch(m.batch)) });
      } else if (m.t === 'iter') {
        const fn = (store as unknown as Record<string, (...a: unknown[]) => AsyncIterable<unknown>>)[m.method];
        if (typeof fn !== 'function') throw new Error(`no store iterator ${m.method}`);
        const it = fn.apply(store, revive(m.method, m.args))[Symbol.asyncIterator]();
        const p = await page(it, m.page);
        let cursor = 0;
        if (!p.done) {
          cursor = nextCursor++;
          iterators.set(cursor, it);
        }
        port.postMessage({ rid: m.rid, ok: true, result: { ...p, cursor } });
      } else if (m.t === 'next') {
        const it = iterators.get(m.cursor);
        if (!it) throw new Error(`unknown iterator ${m.cursor}`);
        const p = await page(it, m.page);
        if (p.done) iterators.delete(m.cursor);
        port.postMessage({ rid: m.rid, ok: true, result: { ...p, cursor: p.done ? 0 : m.cursor } });
      } else if (m.t === 'end') {
        const it = iterators.get(m.cursor);
        iterators.delete(m.cursor);
        await it?.return?.();
      }
    } catch (e) {
      if (m.t !== 'end') port.postMessage({ rid: m.rid, ok: false, error: errorOf(e) });
    }
  })();
});
port.postMessage({ ready: true });
