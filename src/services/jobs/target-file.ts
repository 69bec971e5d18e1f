/**
 * Reading a target file (`umbra ope --target`: one `{id, probs}` per logged event) into columns:
 * the ids in file order, and each line's probabilities as (action name index, probability) pairs.
 * Every line is checked as it is read; the first bad one is an error naming its line. A large file
 * is read on a worker thread while the caller reads the log, so the two files are parsed at once.
 */
import { statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ErrorCode, UmbraError, firstIssue } from '../../core/errors.js';
import { PROB_SUM_TOLERANCE, TargetProbsSchema } from '../../core/events.js';
import { eachRecord } from '../../platform/fs.js';

/** A target file in columns: line k's pairs are `name[off[k] … off[k+1]−1]` and `prob[…]`. */
export interface TargetColumns {
  ids: string[];
  off: Int32Array;
  /** Index into `names` of each pair's action. */
  name: Int32Array;
  prob: Float64Array;
  names: string[];
}

/** A target line's `{id, probs}` when plainly valid (what the schema gives), else undefined (the schema decides). */
function plainTarget(v: unknown): { id: string; probs: Record<string, number> } | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const o = v as { id?: unknown; probs?: unknown };
  if (typeof o.id !== 'string' || o.id.length < 1 || o.id.length > 256) return undefined;
  const p = o.probs;
  if (typeof p !== 'object' || p === null || Array.isArray(p) || Object.getPrototypeOf(p) !== Object.prototype) return undefined;
  for (const k in p) {
    const x = (p as Record<string, unknown>)[k];
    if (k === '__proto__' || typeof x !== 'number' || !(x >= 0 && x <= 1)) return undefined;
  }
  return { id: o.id, probs: p as Record<string, number> };
}

/** One target line checked: bad lines are errors naming the line (it is the user's own file). */
export function targetLine(path: string, rec: { line: number; value?: unknown; error?: string }): { id: string; probs: Record<string, number> } {
  if (rec.error !== undefined) throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line} is not JSON: ${rec.error}`, { line: rec.line });
  let t = plainTarget(rec.value);
  if (t === undefined) {
    const r = TargetProbsSchema.safeParse(rec.value);
    if (!r.success) {
      throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line} is not a target line {id, probs}: ${firstIssue(r.error)}`, { line: rec.line });
    }
    t = r.data;
  }
  let sum = 0;
  for (const k in t.probs) sum += t.probs[k]!;
  if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
    throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line}: probs of "${t.id}" sum to ${sum}, not 1`, { line: rec.line, id: t.id });
  }
  return t;
}

/** Read and check a target file into columns, on this thread. */
export function readTargetColumns(path: string): TargetColumns {
  const ids: string[] = [];
  const names: string[] = [];
  const nameIndex = new Map<string, number>();
  let off = new Int32Array(1024);
  let name = new Int32Array(4096);
  let prob = new Float64Array(4096);
  let pairs = 0;
  eachRecord(path, (rec) => {
    const t = targetLine(path, rec);
    const k = ids.length;
    ids.push(t.id);
    for (const a in t.probs) {
      let j = nameIndex.get(a);
      if (j === undefined) {
        j = names.length;
        names.push(a);
        nameIndex.set(a, j);
      }
      if (pairs === name.length) {
        const n2 = new Int32Array(pairs * 2);
        n2.set(name);
        name = n2;
        const p2 = new Float64Array(pairs * 2);
        p2.set(prob);
        prob = p2;
      }
      name[pairs] = j;
      prob[pairs] = t.probs[a]!;
      pairs++;
    }
    if (k + 2 > off.length) {
      const o2 = new Int32Array(off.length * 2);
      o2.set(off);
      off = o2;
    }
    off[k + 1] = pairs;
  });
  return { ids, off: off.slice(0, ids.length + 1), name: name.slice(0, pairs), prob: prob.slice(0, pairs), names };
}

/** Files below this size are read on the calling thread: a thread costs more than it saves. */
const MIN_THREAD_BYTES = 4 << 20;

const WORKER_URL = new URL('./target-file.main.js', import.meta.url);

/** What the worker answers. */
export type TargetWorkerReply = { ok: TargetColumns } | { error: { code: ErrorCode; message: string; details?: unknown } };

/** A target file being read: its columns when ready; `cancel` stops a reader no longer needed. */
export interface PendingTargets {
  /** Never rejects unobserved: it is safe to leave it unawaited. */
  columns: Promise<TargetColumns>;
  cancel(): void;
}

/** `readTargetColumns` on a worker thread for a large file (on this thread for a small one). */
export function readTargetColumnsAsync(path: string, opts: { thread?: boolean } = {}): PendingTargets {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {
    /* readTargetColumns reports a missing or unreadable file */
  }
  const thread = opts.thread ?? size >= MIN_THREAD_BYTES;
  if (!thread) {
    let columns: Promise<TargetColumns>;
    try {
      columns = Promise.resolve(readTargetColumns(path));
    } catch (e) {
      columns = Promise.reject(e as Error);
      columns.catch(() => undefined);
    }
    return { columns, cancel: () => undefined };
  }
  const worker = new Worker(WORKER_URL, { workerData: { path } });
  const columns = new Promise<TargetColumns>((resolve, reject) => {
    worker.once('message', (m: TargetWorkerReply) => {
      if ('ok' in m) resolve(m.ok);
      else reject(new UmbraError(m.error.code, m.error.message, m.error.details));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the target reader exited with code ${code}`)));
  }).finally(() => void worker.terminate());
  columns.catch(() => undefined);
  return { columns, cancel: () => void worker.terminate() };
}
