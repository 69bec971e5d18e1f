/**
 * The embedded store: one SQLite file (`<data-dir>/umbra.db`) through better-sqlite3, in WAL mode
 * so that readers (status, dashboard) never block the writer. Built for bulk ingestion: integer
 * keys from a 53-bit hash of each id instead of a unique text index, prepared statements, one
 * transaction per batch, `synchronous=NORMAL` (safe against a killed process in WAL mode).
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { OutcomeSignals, ShadowRecord } from '../../core/events.js';
import { resolveDecision, type OutcomeState } from '../../core/telemetry/merge.js';
import type { StoredTurn } from '../../core/telemetry/types.js';
import { derivedTurn, type TurnExtra } from '../codec.js';
import { idKey, nextKey } from '../key.js';
import {
  PAGE_SIZE,
  boundMs,
  type AuditRow,
  type Checkpoint,
  type DecisionQuery,
  type Episode,
  type EpisodeQuery,
  type StateEntry,
  type Store,
  type StoreCounts,
  type StoredDecision,
  type StoredQuarantine,
  type StoredShadow,
  type TurnQuery,
  type WriteBatch,
  type WriteResult,
} from '../port.js';
import { migrate, openDatabase } from './database.js';
import { EventWrites } from './event-writes.js';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';

export { migrate };
import { decodeOutcome, decodeTurn, jsonOf, type OutcomeRow } from '../rows.js';
import { auditRowOf, decodeCheckpoint, decodeRow, storeError, type CheckpointRow, type DB, type DecisionRow, type DecisionTurnRow, type EpisodeRow, type Stmt, type TurnRow } from './rows.js';
import { prepareStatements, type Statements } from './statements.js';

/** One write of a group (`SqliteStore.writeGroup`). */
export type GroupWrite = { batch: WriteBatch } | { shadow: readonly ShadowRecord[] };

/** What became of one write of a group. */
export type GroupOutcome = { ok: true; value: WriteResult | number[] } | { ok: false; error: UmbraError };

/** Options of the SQLite adapter. */
export interface SqliteStoreOptions {
  /** Wait for another writer's lock this long (ms). @default 5000 */
  busyTimeoutMs?: number;
  /** Page cache in MiB. @default 64 */
  cacheMb?: number;
  /** Migrations to apply (tests use this to check upgrades). @default SQLITE_MIGRATIONS */
  migrations?: readonly Migration[];
}

/** Open (creating when needed) the SQLite store at `path`. */
export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  try {
    const db = openDatabase(path, opts);
    migrate(db, opts.migrations ?? SQLITE_MIGRATIONS);
    return new SqliteStore(db, path, { ...opts, migrations: opts.migrations ?? SQLITE_MIGRATIONS });
  } catch (e) {
    throw storeError(e, `opening ${path}`);
  }
}

/** The SQLite adapter of the store port. */
export class SqliteStore implements Store {
  readonly kind = 'sqlite';
  /** The database file. */
  readonly path: string;
  /** The options it was opened with (another connection to the same file uses them too). */
  readonly options: SqliteStoreOptions;
  private readonly db: DB;
  private readonly s: Statements;
  private readonly stmtCache = new Map<string, Stmt>();
  private readonly writes: EventWrites;
  /** True while a batch written with `hold` keeps the transaction open. */
  private holding = false;

  constructor(db: DB, path: string, options: SqliteStoreOptions = {}) {
    this.db = db;
    this.path = path;
    this.options = options;
    this.s = prepareStatements(db);
    this.writes = new EventWrites(this.s);
  }

  /** The underlying connection, for migrations and diagnostics by other adapters' tests. */
  get database(): DB {
    return this.db;
  }

  private cached(sql: string): Stmt {
    let st = this.stmtCache.get(sql);
    if (st === undefined) {
      st = this.db.prepare(sql);
      this.stmtCache.set(sql, st);
    }
    return st;
  }

  // --- ingestion ------------------------------------------------------------------------------

  writeBatch(batch: WriteBatch): Promise<WriteResult> {
    try {
      if (!this.holding) this.db.exec('BEGIN IMMEDIATE');
      this.holding = true;
      const r = this.writes.apply(batch);
      if (batch.hold !== true) {
        this.db.exec('COMMIT');
        this.holding = false;
      }
      return Promise.resolve(r);
    } catch (e) {
      this.holding = false;
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        /* the rollback error would hide the cause */
      }
      return Promise.reject(storeError(e, 'writing a batch'));
    }
  }

  /**
   * Several writes in one transaction (the store thread's group commit, see worker/thread.main.ts), each
   * in its own savepoint so that a failing write leaves the others; outcomes in order. When the
   * transaction cannot begin or commit (another process holds the lock past the busy timeout, a
   * full disk), every write of the group fails. Inside a held transaction the group joins it.
   */
  writeGroup(items: readonly GroupWrite[]): GroupOutcome[] {
    const own = !this.db.inTransaction;
    const out: GroupOutcome[] = [];
    try {
      if (own) this.db.exec('BEGIN IMMEDIATE');
      for (const it of items) {
        this.db.exec('SAVEPOINT umbra_group');
        try {
          const value = 'batch' in it ? this.writes.apply(it.batch) : this.insertShadow(it.shadow);
          this.db.exec('RELEASE umbra_group');
          out.push({ ok: true, value });
        } catch (e) {
          this.db.exec('ROLLBACK TO umbra_group');
          this.db.exec('RELEASE umbra_group');
          out.push({ ok: false, error: storeError(e, 'batch' in it ? 'writing a batch' : 'writing shadow records') });
        }
      }
      if (own) this.db.exec('COMMIT');
      return out;
    } catch (e) {
      try {
        if (own && this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        /* the rollback error would hide the cause */
      }
      const error = storeError(e, 'writing a group of batches');
      return items.map(() => ({ ok: false, error }));
    }
  }

  discardHeld(): Promise<void> {
    return this.guard('discarding held batches', () => {
      if (this.holding && this.db.inTransaction) this.db.exec('ROLLBACK');
      this.holding = false;
    });
  }

  getDecision(id: string): Promise<StoredDecision | undefined> {
    return this.guard('reading a decision', () => {
      for (let key = idKey(id); ; key = nextKey(key)) {
        const row = this.s.decisionByKey!.get(key) as DecisionRow | undefined;
        if (row === undefined) return undefined;
        if (row.id === id) return { seq: row.seq, event: decodeRow(row) };
      }
    });
  }

  private where(q: Omit<DecisionQuery, 'limit'>, alias = ''): { sql: string; params: (string | number)[] } {
    const parts: string[] = [];
    const params: (string | number)[] = [];
    if (q.point !== undefined) {
      parts.push(`${alias}point = ?`);
      params.push(q.point);
    }
    const from = boundMs(q.from);
    if (from !== undefined) {
      parts.push(`${alias}ts_ms >= ?`);
      params.push(from);
    }
    const to = boundMs(q.to);
    if (to !== undefined) {
      parts.push(`${alias}ts_ms < ?`);
      params.push(to);
    }
    return { sql: parts.length > 0 ? ` AND ${parts.join(' AND ')}` : '', params };
  }

  async *decisions(q: DecisionQuery = {}): AsyncIterable<StoredDecision> {
    const w = this.where(q);
    const st = this.cached(`SELECT seq, id, point, ts, action, body, sdepth FROM decisions WHERE seq > ?${w.sql} ORDER BY seq LIMIT ?`);
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const rows = this.guardSync('reading decisions', () => st.all(after, ...w.params, Math.min(PAGE_SIZE, left)) as DecisionRow[]);
      for (const row of rows) yield { seq: row.seq, event: decodeRow(row) };
      if (rows.length < Math.min(PAGE_SIZE, left)) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  countDecisions(q: Omit<DecisionQuery, 'limit'> = {}): Promise<number> {
    return this.guard('counting decisions', () => {
      const w = this.where(q);
      return (this.cached(`SELECT count(*) AS n FROM decisions WHERE seq > ?${w.sql}`).get(q.afterSeq ?? 0, ...w.params) as { n: number }).n;
    });
  }

  getOutcome(id: string): Promise<OutcomeState | undefined> {
    return this.guard('reading an outcome', () => {
      const row = this.s.outcomeById!.get(id) as OutcomeRow | undefined;
      return row === undefined ? undefined : decodeOutcome(row);
    });
  }

  async *episodes(q: EpisodeQuery): AsyncIterable<Episode> {
    const w = this.where(q, 'd.');
    const st = this.cached(
      'SELECT d.seq, d.id, d.point, d.ts, d.action, d.body, d.sdepth, o.ts AS o_ts, o.reward AS o_reward, o.outcome AS o_outcome, o.updates AS o_updates ' +
        `FROM decisions d LEFT JOIN outcomes o ON o.id = d.id WHERE d.seq > ?${w.sql} ORDER BY d.seq LIMIT ?`,
    );
    const nowMs = typeof q.now === 'number' ? q.now : q.now.getTime();
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const rows = this.guardSync('reading episodes', () => st.all(after, ...w.params, PAGE_SIZE) as EpisodeRow[]);
      for (const row of rows) {
        after = row.seq;
        let state: OutcomeState | undefined;
        if (row.o_outcome !== null) {
          state = { id: row.id, outcome: JSON.parse(row.o_outcome) as OutcomeSignals, updates: row.o_updates ?? 0 };
          if (row.o_ts !== null) state.ts = row.o_ts;
          if (row.o_reward !== null) state.reward = row.o_reward;
        }
        const res = resolveDecision(decodeRow(row), state, q.reward, nowMs);
        if (res === undefined) continue;
        yield { seq: row.seq, event: res.event, reward: res.reward, defaulted: res.defaulted, source: res.source };
        if (--left <= 0) return;
      }
      if (rows.length < PAGE_SIZE) return;
    }
  }

  getTurn(id: string): Promise<StoredTurn | undefined> {
    return this.guard('reading a turn', () => {
      const d = this.writes.findDecisionRow(id);
      if (d !== undefined && d.tflag === 1) return derivedTurn(decodeRow(d), d.textra === null ? null : (JSON.parse(d.textra) as TurnExtra), d.tsession, d.sdepth);
      const row = this.writes.findFreeTurn(id);
      return row === undefined ? undefined : decodeTurn(row);
    });
  }

  /** Turns in insertion order: those carried by decisions, merged with the others by position. */
  async *turns(q: TurnQuery = {}): AsyncIterable<StoredTurn> {
    const from = boundMs(q.from) ?? -Number.MAX_SAFE_INTEGER;
    const to = boundMs(q.to) ?? Number.MAX_SAFE_INTEGER;
    const routedSt = this.cached('SELECT seq, id, point, ts, action, body, sdepth, tflag, tsession, textra FROM decisions WHERE seq > ? AND tflag = 1 ORDER BY seq LIMIT ?');
    const freeSt = this.cached('SELECT * FROM turns WHERE seq > ? ORDER BY seq LIMIT ?');
    let left = q.limit ?? Infinity;
    let aAfter = 0;
    let bAfter = 0;
    let a: DecisionTurnRow[] = [];
    let b: TurnRow[] = [];
    let ai = 0;
    let bi = 0;
    let aDone = false;
    let bDone = false;
    const inRange = (ms: number): boolean => ms >= from && ms < to;
    while (left > 0) {
      if (ai >= a.length && !aDone) {
        a = this.guardSync('reading turns', () => routedSt.all(aAfter, PAGE_SIZE) as DecisionTurnRow[]);
        ai = 0;
        if (a.length < PAGE_SIZE) aDone = true;
        if (a.length > 0) aAfter = a[a.length - 1]!.seq;
      }
      if (bi >= b.length && !bDone) {
        b = this.guardSync('reading turns', () => freeSt.all(bAfter, PAGE_SIZE) as TurnRow[]);
        bi = 0;
        if (b.length < PAGE_SIZE) bDone = true;
        if (b.length > 0) bAfter = b[b.length - 1]!.seq;
      }
      const ar = a[ai];
      const br = b[bi];
      if (ar === undefined && br === undefined) return;
      let turn: StoredTurn;
      let ms: number;
      if (br !== undefined && (ar === undefined || br.pos < ar.seq)) {
        bi++;
        ms = br.ts_ms;
        if (!inRange(ms)) continue;
        turn = decodeTurn(br);
      } else {
        ai++;
        const ev = decodeRow(ar!);
        turn = derivedTurn(ev, ar!.textra === null ? null : (JSON.parse(ar!.textra) as TurnExtra), ar!.tsession, ar!.sdepth);
        ms = Date.parse(turn.ts);
        if (!inRange(ms)) continue;
      }
      left--;
      yield turn;
    }
  }

  sessionTurns(session: string): Promise<number> {
    return this.guard('reading a session', () => (this.s.sessionTurns!.get(session) as { turns: number } | undefined)?.turns ?? 0);
  }

  async *quarantine(q: { source?: string; reason?: string; afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredQuarantine> {
    const parts: string[] = [];
    const params: (string | number)[] = [];
    if (q.source !== undefined) {
      parts.push('source = ?');
      params.push(q.source);
    }
    if (q.reason !== undefined) {
      parts.push('reason = ?');
      params.push(q.reason);
    }
    const st = this.cached(`SELECT * FROM quarantine WHERE seq > ?${parts.map((x) => ` AND ${x}`).join('')} ORDER BY seq LIMIT ?`);
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = this.guardSync('reading quarantine', () => st.all(after, ...params, n) as { seq: number; source: string; byte_offset: number; reason: string; excerpt: string; detail: string | null; at: string }[]);
      for (const r of rows) {
        const out: StoredQuarantine = { seq: r.seq, source: r.source, offset: r.byte_offset, reason: r.reason, excerpt: r.excerpt, at: r.at };
        if (r.detail !== null) out.detail = r.detail;
        yield out;
      }
      if (rows.length < n) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  quarantineCounts(): Promise<Record<string, number>> {
    return this.guard('counting quarantine', () => {
      const out: Record<string, number> = {};
      for (const r of this.s.quarantineCounts!.all() as { reason: string; n: number }[]) out[r.reason] = r.n;
      return out;
    });
  }

  getCheckpoint(source: string): Promise<Checkpoint | undefined> {
    return this.guard('reading a checkpoint', () => {
      const r = this.s.checkpoint!.get(source) as CheckpointRow | undefined;
      return r === undefined ? undefined : decodeCheckpoint(r);
    });
  }

  listCheckpoints(): Promise<Checkpoint[]> {
    return this.guard('reading checkpoints', () => (this.s.checkpoints!.all() as CheckpointRow[]).map(decodeCheckpoint));
  }

  counts(): Promise<StoreCounts> {
    return this.guard('counting', () => {
      const n = (sql: string): number => (this.cached(sql).get() as { n: number }).n;
      const byPoint: Record<string, number> = {};
      for (const r of this.cached('SELECT point, count(*) AS n FROM decisions GROUP BY point ORDER BY point').all() as { point: string; n: number }[]) byPoint[r.point] = r.n;
      return {
        decisions: n('SELECT count(*) AS n FROM decisions'),
        byPoint,
        turns: n('SELECT count(*) AS n FROM turns') + n('SELECT count(*) AS n FROM decisions WHERE tflag = 1'),
        outcomes: n('SELECT count(*) AS n FROM outcomes'),
        outcomesPending: n('SELECT count(*) AS n FROM outcomes WHERE pending > 0'),
        quarantined: n('SELECT count(*) AS n FROM quarantine'),
        sessions: n('SELECT count(*) AS n FROM sessions'),
        shadow: n('SELECT count(*) AS n FROM shadow'),
        audit: n('SELECT count(*) AS n FROM audit'),
      };
    });
  }

  // --- state ----------------------------------------------------------------------------------

  getState(key: string): Promise<StateEntry | undefined> {
    return this.guard('reading state', () => {
      const r = this.s.getState!.get(key) as { value: string; version: number; updated_at: string } | undefined;
      return r === undefined ? undefined : { value: JSON.parse(r.value) as unknown, version: r.version, updatedAt: r.updated_at };
    });
  }

  setState(key: string, value: unknown): Promise<number> {
    return this.guard('writing state', () => (this.s.setState!.get(key, jsonOf(value), new Date().toISOString()) as { version: number }).version);
  }

  casState(key: string, expectedVersion: number | null, value: unknown): Promise<number | undefined> {
    return this.guard('writing state', () => {
      const now = new Date().toISOString();
      if (expectedVersion === null) return this.s.insState!.run(key, jsonOf(value), now).changes === 1 ? 1 : undefined;
      return this.s.updState!.run(jsonOf(value), now, key, expectedVersion).changes === 1 ? expectedVersion + 1 : undefined;
    });
  }

  // --- shadow ---------------------------------------------------------------------------------

  appendShadow(records: readonly ShadowRecord[]): Promise<number[]> {
    return this.guard('writing shadow records', () => this.db.transaction(() => this.insertShadow(records)).immediate());
  }

  private insertShadow(records: readonly ShadowRecord[]): number[] {
    return records.map((r) => Number(this.s.insShadow!.run(r.id, r.candidate, r.ts, JSON.stringify(r)).lastInsertRowid));
  }

  async *shadowByCandidate(candidate: string, q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredShadow> {
    const st = this.cached('SELECT seq, body FROM shadow WHERE candidate = ? AND seq > ? ORDER BY seq LIMIT ?');
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = this.guardSync('reading shadow records', () => st.all(candidate, after, n) as { seq: number; body: string }[]);
      for (const r of rows) yield { seq: r.seq, record: JSON.parse(r.body) as ShadowRecord };
      if (rows.length < n) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }


  // --- audit ----------------------------------------------------------------------------------

  appendAudit(row: { ts: string; body: unknown }, expectSeq?: number): Promise<AuditRow> {
    return this.guard('appending an audit row', () =>
      this.db
        .transaction((): AuditRow => {
          const last = this.s.lastAudit!.get() as { seq: number } | undefined;
          const seq = (last?.seq ?? 0) + 1;
          if (expectSeq !== undefined && expectSeq !== seq) {
            throw new UmbraError(ErrorCode.LOCKED, `audit log moved on: expected to append row ${expectSeq}, the next row is ${seq}`);
          }
          this.s.insAudit!.run(seq, row.ts, jsonOf(row.body));
          return { seq, ts: row.ts, body: JSON.parse(jsonOf(row.body)) as unknown };
        })
        .immediate(),
    );
  }

  async *audit(q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<AuditRow> {
    const st = this.cached('SELECT seq, ts, body FROM audit WHERE seq > ? ORDER BY seq LIMIT ?');
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = this.guardSync('reading audit rows', () => st.all(after, n) as { seq: number; ts: string; body: string }[]);
      for (const r of rows) yield auditRowOf(r);
      if (rows.length < n) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  lastAudit(): Promise<AuditRow | undefined> {
    return this.guard('reading the audit log', () => {
      const r = this.s.lastAudit!.get() as { seq: number; ts: string; body: string } | undefined;
      return r === undefined ? undefined : auditRowOf(r);
    });
  }

  close(): Promise<void> {
    return this.guard('closing', () => {
      if (!this.db.open) return;
      // Held rows without their committing batch (and checkpoint) are dropped, as after a crash.
      if (this.holding && this.db.inTransaction) this.db.exec('ROLLBACK');
      this.holding = false;
      this.db.close();
    });
  }

  private guard<T>(what: string, fn: () => T): Promise<T> {
    try {
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(storeError(e, what));
    }
  }

  private guardSync<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw storeError(e, what);
    }
  }
}

