/**
 * The worker side of WorkerStore: owns a SQLite connection in its own thread and answers the
 * store port's calls by message. A busy database (another process's write transaction) blocks
 * only this thread, never the event loop of the service that uses the store.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { compileReward, type RewardConfig } from '../core/reward.js';
import { openSqliteStore, type SqliteStoreOptions } from './sqlite.js';
import type { Store } from './port.js';
import { unpackBatch, type PackedBatch } from './wire.js';

type Call =
  | { t: 'call'; rid: number; method: string; args: unknown[] }
  | { t: 'write'; rid: number; batch: PackedBatch }
  | { t: 'iter'; rid: number; method: string; args: unknown[]; page: number }
  | { t: 'next'; rid: number; cursor: number; page: number }
  | { t: 'end'; cursor: number };

const port = parentPort;
if (!port) throw new Error('store-worker must run in a worker thread');
const { path, options } = workerData as { path: string; options: SqliteStoreOptions };
const store: Store = openSqliteStore(path, options);
const iterators = new Map<number, AsyncIterator<unknown>>();
let nextCursor = 1;

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
