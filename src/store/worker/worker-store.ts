/**
 * A store adapter that runs the SQLite store in a worker thread. Every call of the port is a
 * message; iterators page rows across. Why: better-sqlite3 is synchronous, so a write that waits
 * for another process's lock (the shadow controller ingesting a large file) would block the
 * decision service's event loop and delay production answers. Behind this adapter only the
 * worker waits. It passes the same contract suite as the other adapters.
 */
import { Worker } from 'node:worker_threads';
import { ErrorCode, UmbraError, type ErrorCode as Code } from '../../core/errors.js';
import type { SqliteStoreOptions } from '../sqlite/store.js';
import type {
  AuditRow,
  Checkpoint,
  DecisionQuery,
  Episode,
  EpisodeQuery,
  StateEntry,
  Store,
  StoreCounts,
  StoredDecision,
  StoredQuarantine,
  StoredShadow,
  TurnQuery,
  WriteBatch,
  WriteResult,
} from '../port.js';
import { packBatch, type PackedBatch } from './wire.js';
import type { StoreWorkerData } from './thread.main.js';
import type { BackgroundPriority } from '../../platform/thread-priority.js';
import type { OutcomeState } from '../../core/telemetry/merge.js';
import type { StoredTurn } from '../../core/telemetry/types.js';
import type { ShadowRecord } from '../../core/events.js';

const WORKER_URL = new URL('./thread.main.js', import.meta.url);
const PAGE = 500;

interface Reply {
  rid?: number;
  ok?: boolean;
  result?: unknown;
  error?: { code?: string; message: string; details?: unknown };
  ready?: boolean;
}

/** Options of the adapter: the SQLite adapter's, and those of its thread. */
export interface WorkerStoreOptions extends SqliteStoreOptions {
  /** Group commit window for batches written with `group` and for shadow appends, ms (thread.main.ts). @default 0 (off) */
  groupCommitMs?: number;
  /** Scheduling of the store thread (see src/services/thread-priority.ts). @default 'normal' */
  priority?: BackgroundPriority;
}

/** The SQLite store behind a worker thread (see the module comment). */
export class WorkerStore implements Store {
  readonly kind = 'sqlite-worker';
  private readonly worker: Worker;
  private nextRid = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  private closed = false;
  /** Set when the worker failed or exited: every call fails with it. */
  private dead: UmbraError | undefined;

  constructor(path: string, options: WorkerStoreOptions = {}) {
    const { groupCommitMs, priority, ...sqlite } = options;
    const data: StoreWorkerData = { path, options: sqlite, groupCommitMs: groupCommitMs ?? 0, priority: priority ?? 'normal' };
    this.worker = new Worker(WORKER_URL, { workerData: data });
    this.worker.on('message', (m: Reply) => {
      if (m.rid === undefined) return;
      const p = this.pending.get(m.rid);
      if (!p) return;
      this.pending.delete(m.rid);
      if (m.ok) p.resolve(m.result);
      else {
        const code = (Object.values(ErrorCode) as string[]).includes(m.error?.code ?? '') ? (m.error!.code as Code) : ErrorCode.STORE;
        p.reject(new UmbraError(code, m.error?.message ?? 'store worker failed', m.error?.details));
      }
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', () => this.failAll(new Error('store worker exited')));
  }

  private failAll(e: unknown): void {
    // The first cause wins (an open error, then the exit it leads to); later calls fail with it at once.
    this.dead ??= new UmbraError(ErrorCode.STORE, `store worker: ${String((e as Error).message ?? e)}`);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
  }

  private send<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.closed) return Promise.reject(new UmbraError(ErrorCode.STORE, 'the store is closed'));
    if (this.dead !== undefined) return Promise.reject(this.dead);
    return new Promise<T>((resolve, reject) => {
      const rid = this.nextRid++;
      this.pending.set(rid, { resolve: resolve as (v: unknown) => void, reject });
      try {
        this.worker.postMessage({ ...msg, rid });
      } catch (e) {
        this.pending.delete(rid);
        reject(e);
      }
    });
  }

  private call<T>(method: string, ...args: unknown[]): Promise<T> {
    return this.send<T>({ t: 'call', method, args });
  }

  private async *iter<T>(method: string, ...args: unknown[]): AsyncGenerator<T> {
    let r = await this.send<{ rows: T[]; done: boolean; cursor: number }>({ t: 'iter', method, args, page: PAGE });
    try {
      for (;;) {
        for (const row of r.rows) yield row;
        if (r.done) return;
        r = await this.send<{ rows: T[]; done: boolean; cursor: number }>({ t: 'next', cursor: r.cursor, page: PAGE });
      }
    } finally {
      if (!r.done && r.cursor !== 0 && !this.closed) this.worker.postMessage({ t: 'end', cursor: r.cursor });
    }
  }

  writeBatch(batch: WriteBatch): Promise<WriteResult> {
    // The hot path (ingestion, the decision log): packed into columns, which clone far cheaper
    // than the record objects (wire.ts). Nothing here keeps the batch alive while the store
    // thread works on it: the service's records should die young.
    let packed: PackedBatch;
    try {
      packed = packBatch(batch);
    } catch (e) {
      // Not encodable: the batch fails, and it drops the held ones too, as in the other adapters
      // (port.ts). A grouped batch fails alone: the writes grouped with it are not held ones.
      const discard = batch.group !== true || batch.hold === true ? this.call('discardHeld').catch(() => undefined) : Promise.resolve();
      return discard.then(() => {
        throw new UmbraError(ErrorCode.STORE, `cannot write the batch: ${(e as Error).message}`);
      });
    }
    return this.send<WriteResult>({ t: 'write', batch: packed }).catch((e: unknown) => {
      throw e instanceof UmbraError ? e : new UmbraError(ErrorCode.STORE, `cannot write the batch: ${(e as Error).message}`);
    });
  }
  discardHeld(): Promise<void> {
    return this.call('discardHeld');
  }
  getDecision(id: string): Promise<StoredDecision | undefined> {
    return this.call('getDecision', id);
  }
  decisions(q?: DecisionQuery): AsyncIterable<StoredDecision> {
    return this.iter('decisions', q);
  }
  countDecisions(q?: Omit<DecisionQuery, 'limit'>): Promise<number> {
    return this.call('countDecisions', q);
  }
  getOutcome(id: string): Promise<OutcomeState | undefined> {
    return this.call('getOutcome', id);
  }
  episodes(q: EpisodeQuery): AsyncIterable<Episode> {
    const r = q.reward;
    return this.iter('episodes', { ...q, now: q.now instanceof Date ? q.now.getTime() : q.now, reward: { weights: r.weights, penalties: r.penalties, defaultReward: r.defaultReward, defaultAfterS: r.defaultAfterS } });
  }
  getTurn(id: string): Promise<StoredTurn | undefined> {
    return this.call('getTurn', id);
  }
  turns(q?: TurnQuery): AsyncIterable<StoredTurn> {
    return this.iter('turns', q);
  }
  sessionTurns(session: string): Promise<number> {
    return this.call('sessionTurns', session);
  }
  quarantine(q?: { source?: string; reason?: string; afterSeq?: number; limit?: number }): AsyncIterable<StoredQuarantine> {
    return this.iter('quarantine', q);
  }
  quarantineCounts(): Promise<Record<string, number>> {
    return this.call('quarantineCounts');
  }
  getCheckpoint(source: string): Promise<Checkpoint | undefined> {
    return this.call('getCheckpoint', source);
  }
  listCheckpoints(): Promise<Checkpoint[]> {
    return this.call('listCheckpoints');
  }
  counts(): Promise<StoreCounts> {
    return this.call('counts');
  }
  getState(key: string): Promise<StateEntry | undefined> {
    return this.call('getState', key);
  }
  setState(key: string, value: unknown): Promise<number> {
    return this.call('setState', key, value);
  }
  casState(key: string, expectedVersion: number | null, value: unknown): Promise<number | undefined> {
    return this.call('casState', key, expectedVersion, value);
  }
  appendShadow(records: readonly ShadowRecord[]): Promise<number[]> {
    return this.call('appendShadow', records);
  }
  shadowByCandidate(candidate: string, q?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredShadow> {
    return this.iter('shadowByCandidate', candidate, q);
  }
  appendAudit(row: { ts: string; body: unknown }, expectSeq?: number): Promise<AuditRow> {
    return this.call('appendAudit', row, expectSeq);
  }
  audit(q?: { afterSeq?: number; limit?: number }): AsyncIterable<AuditRow> {
    return this.iter('audit', q);
  }
  lastAudit(): Promise<AuditRow | undefined> {
    return this.call('lastAudit');
  }
  async close(): Promise<void> {
    if (this.closed) return;
    try {
      if (this.dead === undefined) await this.call('close');
    } finally {
      this.closed = true;
      await this.worker.terminate().catch(() => undefined);
    }
  }
}
