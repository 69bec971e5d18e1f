/**
 * The embedded store: one SQLite file (`<data-dir>/umbra.db`) through better-sqlite3, in WAL mode
 * so that readers (status, dashboard) never block the writer. Built for bulk ingestion: integer
 * keys from a 53-bit hash of each id instead of a unique text index, prepared statements, one
 * transaction per batch, `synchronous=NORMAL` (safe against a killed process in WAL mode).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { DecisionEvent, OutcomeSignals, ShadowRecord } from '../core/events.js';
import { fillDecision, fillTurn, mergeOutcome, nextPending, resolveDecision, type OutcomeState } from '../core/telemetry/merge.js';
import { SESSION_DEPTH_KEY, type OutcomeUpdate, type StoredTurn, type TurnFact } from '../core/telemetry/types.js';
import { idKey, nextKey } from './key.js';
import { decodeDecision, derivedTurn, encodeBody, encodeDecision, isEncoded, isEncodedTurn, toEvent, toTurn, turnExtra, type DecisionInput, type TurnExtra } from './codec.js';
import {
  PAGE_SIZE,
  boundMs,
  type AuditRow,
  type Checkpoint,
  type RecordInsert,
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
} from './port.js';
import { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations.js';

type DB = Database.Database;

/** Per-batch lookups and caches of the write path. */
interface ApplyContext {
  /** Some outcome waits for its decision (else new decisions skip that lookup). */
  pending: boolean;
  sessions: Map<string, number>;
  touched: Set<string>;
}

/** The event with `context.session_depth` set to `depth` (unchanged when depth is null). */
function withDepth(e: DecisionEvent, depth: number | null): DecisionEvent {
  if (depth === null || e.context[SESSION_DEPTH_KEY] === depth) return e;
  return { ...e, context: { ...e.context, [SESSION_DEPTH_KEY]: depth } };
}
type Stmt = Database.Statement;

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

interface DecisionRow {
  seq: number;
  id: string;
  point: string;
  ts: string;
  action: string;
  body: string;
  sdepth: number | null;
}

interface DecisionTurnRow extends DecisionRow {
  tflag: number;
  tsession: string | null;
  textra: string | null;
}

interface EpisodeRow extends DecisionRow {
  o_ts: string | null;
  o_reward: number | null;
  o_outcome: string | null;
  o_updates: number | null;
}

interface TurnRow {
  seq: number;
  pos: number;
  key: number;
  id: string;
  ts: string;
  ts_ms: number;
  route: string | null;
  intent: string | null;
  session: string | null;
  session_depth: number | null;
  outcome: string;
}

interface OutcomeRow {
  id: string;
  ts: string | null;
  reward: number | null;
  outcome: string;
  updates: number;
  pending: number;
}

interface CheckpointRow {
  source: string;
  dev: string;
  ino: string;
  byte_offset: number;
  size: number;
  fp: string;
  fp_len: number;
  skip_from: number | null;
  updated_at: string;
}

function decodeRow(r: DecisionRow): DecisionEvent {
  return decodeDecision(r, r.sdepth);
}

function decodeTurn(r: TurnRow): StoredTurn {
  const t: StoredTurn = { id: r.id, ts: r.ts, route: r.route, outcome: JSON.parse(r.outcome) as OutcomeSignals, sessionDepth: r.session_depth };
  if (r.intent !== null) t.intent = r.intent;
  if (r.session !== null) t.session = r.session;
  return t;
}

function decodeOutcome(r: OutcomeRow): OutcomeState {
  const s: OutcomeState = { id: r.id, outcome: JSON.parse(r.outcome) as OutcomeSignals, updates: r.updates };
  if (r.ts !== null) s.ts = r.ts;
  if (r.reward !== null) s.reward = r.reward;
  return s;
}

function decodeCheckpoint(r: CheckpointRow): Checkpoint {
  return { source: r.source, dev: r.dev, ino: r.ino, offset: r.byte_offset, size: r.size, fp: r.fp, fpLen: r.fp_len, skipFrom: r.skip_from, updatedAt: r.updated_at };
}

function storeError(e: unknown, what: string): UmbraError {
  if (e instanceof UmbraError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return new UmbraError(ErrorCode.LOCKED, `store is locked by another writer (${what}): ${msg}`, undefined, { cause: e });
  return new UmbraError(ErrorCode.STORE, `store failed (${what}): ${msg}`, undefined, { cause: e });
}

/** Apply pending migrations in order, each in its own immediate transaction. */
export function migrate(db: DB, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = (): number => (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current() > known) {
    throw new UmbraError(ErrorCode.STORE, `the database has schema version ${current()}, newer than this Umbra knows (${known}): upgrade Umbra`);
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    db.transaction(() => {
      if (current() >= m.version) return; // another process applied it meanwhile
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
  return current();
}

/** Open (creating when needed) the SQLite store at `path`. */
export function openSqliteStore(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    const db = new Database(path);
    db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    // Large pages keep the random id-key index shallow and cut write amplification several times
    // in bulk ingestion; it only takes effect when the file is created.
    db.pragma('page_size = 32768');
    db.pragma('journal_mode = WAL');
    db.pragma('wal_autocheckpoint = 2048');
    db.pragma('synchronous = NORMAL');
    db.pragma(`cache_size = -${Math.max(1, Math.floor(opts.cacheMb ?? 64)) * 1024}`);
    db.pragma('temp_store = MEMORY');
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
  private readonly s: Record<string, Stmt>;
  private readonly stmtCache = new Map<string, Stmt>();
  /** True while a batch written with `hold` keeps the transaction open. */
  private holding = false;
  /**
   * Keys of turns without a decision of their own (rare), mirrored from the table at each batch so
   * that a routed turn needs no lookup to know it was not seen before without its decision.
   */
  private readonly freeKeys = new Set<number>();
  private freeSeen = 0;

  constructor(db: DB, path: string, options: SqliteStoreOptions = {}) {
    this.db = db;
    this.path = path;
    this.options = options;
    const p = (sql: string): Stmt => db.prepare(sql);
    this.s = {
      insDecision: p('INSERT INTO decisions(key, id, point, ts, ts_ms, action, body, sdepth, tflag, tsession, textra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING'),
      decisionByKey: p('SELECT seq, id, point, ts, action, body, sdepth, tflag, tsession, textra FROM decisions WHERE key = ?'),
      setTurnOf: p('UPDATE decisions SET tflag = 1, tsession = ?, sdepth = ?, textra = ? WHERE seq = ?'),
      setTextra: p('UPDATE decisions SET textra = ? WHERE seq = ?'),
      maxSeq: p('SELECT coalesce(max(seq), 0) AS m FROM decisions'),
      setSdepth: p('UPDATE decisions SET sdepth = ? WHERE seq = ?'),
      decisionIdByKey: p('SELECT seq, id FROM decisions WHERE key = ?'),
      updDecisionBody: p('UPDATE decisions SET body = ? WHERE seq = ?'),
      insTurnFree: p('INSERT INTO turns(pos, key, id, ts, ts_ms, route, intent, session, session_depth, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(key) DO NOTHING'),
      freeTurnByKey: p('SELECT * FROM turns WHERE key = ?'),
      freeKeysAfter: p('SELECT seq, key FROM turns WHERE seq > ? ORDER BY seq'),
      updTurn: p('UPDATE turns SET route = ?, intent = ?, outcome = ? WHERE seq = ?'),
      putSession: p('INSERT INTO sessions(session, turns) VALUES (?, ?) ON CONFLICT(session) DO UPDATE SET turns = excluded.turns'),
      sessionTurns: p('SELECT turns FROM sessions WHERE session = ?'),
      // pending > 0: updates waiting for their decision; < 0: only companion updates waiting (not reported).
      anyPending: p('SELECT 1 AS x FROM outcomes WHERE pending <> 0 LIMIT 1'),
      outcomeById: p('SELECT id, ts, reward, outcome, updates, pending FROM outcomes WHERE id = ?'),
      pendingById: p('SELECT pending FROM outcomes WHERE id = ? AND pending <> 0'),
      clearPending: p('UPDATE outcomes SET pending = 0 WHERE id = ?'),
      upsertOutcome: p(
        'INSERT INTO outcomes(id, ts, reward, outcome, updates, pending) VALUES (@id, @ts, @reward, @outcome, @updates, @pending) ' +
          'ON CONFLICT(id) DO UPDATE SET ts = excluded.ts, reward = excluded.reward, outcome = excluded.outcome, updates = excluded.updates, pending = excluded.pending',
      ),
      insQuarantine: p('INSERT INTO quarantine(source, byte_offset, reason, excerpt, detail, at) VALUES (?, ?, ?, ?, ?, ?)'),
      upsertCheckpoint: p(
        'INSERT INTO checkpoints(source, dev, ino, byte_offset, size, fp, fp_len, skip_from, updated_at) VALUES (@source, @dev, @ino, @offset, @size, @fp, @fpLen, @skipFrom, @updatedAt) ' +
          'ON CONFLICT(source) DO UPDATE SET dev = excluded.dev, ino = excluded.ino, byte_offset = excluded.byte_offset, size = excluded.size, fp = excluded.fp, fp_len = excluded.fp_len, skip_from = excluded.skip_from, updated_at = excluded.updated_at',
      ),
      checkpoint: p('SELECT * FROM checkpoints WHERE source = ?'),
      checkpoints: p('SELECT * FROM checkpoints ORDER BY source'),
      quarantineCounts: p('SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason'),
      getState: p('SELECT value, version, updated_at FROM state WHERE key = ?'),
      insState: p('INSERT INTO state(key, value, version, updated_at) VALUES (?, ?, 1, ?) ON CONFLICT(key) DO NOTHING'),
      updState: p('UPDATE state SET value = ?, version = version + 1, updated_at = ? WHERE key = ? AND version = ?'),
      setState: p('INSERT INTO state(key, value, version, updated_at) VALUES (?, ?, 1, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, version = state.version + 1, updated_at = excluded.updated_at RETURNING version'),
      insShadow: p('INSERT INTO shadow(id, candidate, ts, body) VALUES (?, ?, ?, ?)'),
      lastAudit: p('SELECT seq, ts, body FROM audit ORDER BY seq DESC LIMIT 1'),
      insAudit: p('INSERT INTO audit(seq, ts, body) VALUES (?, ?, ?)'),
    };
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
      const r = this.apply(batch);
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
   * Several writes in one transaction (the store thread's group commit, see store-worker.ts), each
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
          const value = 'batch' in it ? this.apply(it.batch) : this.insertShadow(it.shadow);
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

  private apply(b: WriteBatch): WriteResult {
    const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
    if (b.records !== undefined && b.records.length > 0) {
      const ctx: ApplyContext = { pending: this.s.anyPending!.get() !== undefined, sessions: new Map(), touched: new Set() };
      for (const row of this.s.freeKeysAfter!.all(this.freeSeen) as { seq: number; key: number }[]) {
        this.freeKeys.add(row.key);
        this.freeSeen = row.seq;
      }
      for (const rec of b.records) this.applyRecord(rec, r, ctx);
      // Session counters are read once and written once per batch, not once per turn.
      for (const k of ctx.touched) this.s.putSession!.run(k, ctx.sessions.get(k)!);
    }
    for (const u of b.outcomes ?? []) this.applyOutcome(u, r);
    if (b.quarantine !== undefined && b.quarantine.length > 0) {
      const at = new Date().toISOString();
      for (const q of b.quarantine) {
        this.s.insQuarantine!.run(q.source, q.offset, q.reason, q.excerpt, q.detail ?? null, at);
        r.quarantined++;
      }
    }
    for (const c of b.checkpoints ?? []) this.s.upsertCheckpoint!.run(c);
    return r;
  }

  private sessionCount(session: string, ctx: ApplyContext): number {
    let n = ctx.sessions.get(session);
    if (n === undefined) {
      n = (this.s.sessionTurns!.get(session) as { turns: number } | undefined)?.turns ?? 0;
      ctx.sessions.set(session, n);
    }
    return n;
  }

  /**
   * One record. A turn with a decision of its own lives in that decision's row, so the one key
   * lookup of the decision deduplicates both; turns without one use the small turns table.
   */
  private applyRecord(rec: RecordInsert, r: WriteResult, ctx: ApplyContext): void {
    const input = rec.turn;
    if (input === undefined) {
      for (const e of rec.decisions) this.insertDecision(e, null, r, ctx);
      return;
    }
    const session = isEncodedTurn(input) ? input.session : (input.session ?? null);
    const guess = session === null ? null : this.sessionCount(session, ctx) + 1;
    const primary = rec.decisions.find((d) => d.id === input.id);
    // The turn fact; an encoded turn is rebuilt only on the (rare) paths that need it.
    let fact: TurnFact | undefined;
    const turn = (): TurnFact => (fact ??= toTurn(input, primary === undefined ? undefined : toEvent(primary)));
    let depth: number | null;
    const free = this.freeKeys.size > 0 && this.freeKeys.has(idKey(input.id)) ? this.findFreeTurn(input.id) : undefined;
    if (free !== undefined) {
      // Seen before without a decision of its own: that row stays the turn.
      depth = this.dupFreeTurn(free, turn(), r);
      if (primary !== undefined) this.insertDecision(primary, depth, r, ctx);
    } else if (primary !== undefined) {
      const extra = isEncodedTurn(input) ? input.extra : turnExtra(input, toEvent(primary));
      const res = this.insertDecision(primary, guess, r, ctx, { session, extra });
      if (res.inserted) {
        this.newTurn(session, guess, r, ctx);
        depth = guess;
      } else if (res.row.tflag === 1) {
        depth = this.dupRoutedTurn(res.row, res.after, turn(), r);
      } else {
        // The decision came earlier on its own (not as a turn's): it carries the turn from now on.
        depth = guess;
        this.s.setTurnOf!.run(session, guess, turnExtra(turn(), res.after), res.row.seq);
        this.newTurn(session, guess, r, ctx);
      }
    } else {
      const t = turn();
      const row = this.findDecisionRow(t.id);
      if (row !== undefined && row.tflag === 1) {
        depth = this.dupRoutedTurn(row, decodeRow(row), t, r);
      } else {
        depth = guess;
        const outcome = JSON.stringify(t.outcome);
        const tsMs = Date.parse(t.ts);
        const pos = (this.s.maxSeq!.get() as { m: number }).m;
        for (let key = idKey(t.id); ; key = nextKey(key)) {
          const info = this.s.insTurnFree!.run(pos, key, t.id, t.ts, tsMs, t.route, t.intent ?? null, session, guess, outcome);
          if (info.changes === 1) {
            this.freeKeys.add(key);
            this.newTurn(session, guess, r, ctx);
            break;
          }
          const existing = this.s.freeTurnByKey!.get(key) as TurnRow;
          if (existing.id !== t.id) continue;
          depth = this.dupFreeTurn(existing, t, r);
          break;
        }
      }
    }
    for (const e of rec.decisions) if (e !== primary) this.insertDecision(e, depth, r, ctx);
  }

  private newTurn(session: string | null, depth: number | null, r: WriteResult, ctx: ApplyContext): void {
    r.turnsInserted++;
    if (session !== null && depth !== null) {
      ctx.sessions.set(session, depth);
      ctx.touched.add(session);
    }
  }

  /** A turn without a decision of its own seen again: fill what it lacked; its depth. */
  private dupFreeTurn(row: TurnRow, t: TurnFact, r: WriteResult): number | null {
    r.turnDuplicates++;
    const filled = fillTurn(decodeTurn(row), t);
    if (filled !== undefined) this.s.updTurn!.run(filled.route, filled.intent ?? null, JSON.stringify(filled.outcome), row.seq);
    return row.session_depth;
  }

  /**
   * A turn carried by a decision row seen again. `row` is the row as it was, `after` the decision
   * after this record's own fill; the turn is filled from its state before, then stored as the
   * difference from what `after` derives.
   */
  private dupRoutedTurn(row: DecisionTurnRow, after: DecisionEvent, t: TurnFact, r: WriteResult): number | null {
    r.turnDuplicates++;
    const before = derivedTurn(decodeRow(row), row.textra === null ? null : (JSON.parse(row.textra) as TurnExtra), row.tsession, row.sdepth);
    const turn = fillTurn(before, t) ?? before;
    const extra = turnExtra(turn, after);
    if (extra !== row.textra) this.s.setTextra!.run(extra, row.seq);
    return row.sdepth;
  }

  private findFreeTurn(id: string): TurnRow | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.freeTurnByKey!.get(key) as TurnRow | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  private findDecisionRow(id: string): DecisionTurnRow | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.decisionByKey!.get(key) as DecisionTurnRow | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  private findDecision(id: string): { seq: number } | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.decisionIdByKey!.get(key) as { seq: number; id: string } | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  /**
   * Insert a decision (or fill its stored twin); `depth` is its turn's session depth, if any, and
   * `turn` makes the row carry its turn. On a duplicate, returns the row as it was and the event
   * after filling.
   */
  private insertDecision(
    d: DecisionInput,
    depth: number | null,
    r: WriteResult,
    ctx: ApplyContext,
    turn?: { session: string | null; extra: string | null },
  ): { inserted: true; seq: number } | { inserted: false; row: DecisionTurnRow; after: DecisionEvent } {
    const e = isEncoded(d) ? d : encodeDecision(d);
    for (let key = idKey(e.id); ; key = nextKey(key)) {
      const info = this.s.insDecision!.run(key, e.id, e.point, e.ts, e.tsMs, e.action, e.body, depth, turn === undefined ? 0 : 1, turn?.session ?? null, turn?.extra ?? null);
      if (info.changes === 1) {
        r.inserted++;
        if (ctx.pending) {
          const p = this.s.pendingById!.get(e.id) as { pending: number } | undefined;
          if (p !== undefined) {
            r.outcomesJoined += Math.abs(p.pending);
            this.s.clearPending!.run(e.id);
          }
        }
        return { inserted: true, seq: Number(info.lastInsertRowid) };
      }
      const row = this.s.decisionByKey!.get(key) as DecisionTurnRow;
      if (row.id !== e.id) continue; // a different id with the same hash: probe on
      r.duplicates++;
      const stored = decodeRow(row);
      const filled = fillDecision(stored, withDepth(toEvent(d), depth));
      if (filled !== undefined) {
        this.s.updDecisionBody!.run(encodeBody(filled), row.seq);
        r.filled++;
      }
      return { inserted: false, row, after: filled ?? stored };
    }
  }

  private decisionExists(id: string): boolean {
    return this.findDecision(id) !== undefined;
  }

  private applyOutcome(u: OutcomeUpdate, r: WriteResult): void {
    const prevRow = this.s.outcomeById!.get(u.id) as OutcomeRow | undefined;
    const next = mergeOutcome(prevRow === undefined ? undefined : decodeOutcome(prevRow), u);
    const joined = this.decisionExists(u.id);
    r.outcomes++;
    if (joined) r.outcomesJoined++;
    this.s.upsertOutcome!.run({
      id: u.id,
      ts: next.ts ?? null,
      reward: next.reward ?? null,
      outcome: JSON.stringify(next.outcome),
      updates: next.updates,
      pending: joined ? 0 : nextPending(prevRow?.pending ?? 0, u.companion === true),
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
      const d = this.findDecisionRow(id);
      if (d !== undefined && d.tflag === 1) return derivedTurn(decodeRow(d), d.textra === null ? null : (JSON.parse(d.textra) as TurnExtra), d.tsession, d.sdepth);
      const row = this.findFreeTurn(id);
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
      for (const r of rows) yield { seq: r.seq, ts: r.ts, body: JSON.parse(r.body) as unknown };
      if (rows.length < n) return;
      after = rows[rows.length - 1]!.seq;
      left -= rows.length;
    }
  }

  lastAudit(): Promise<AuditRow | undefined> {
    return this.guard('reading the audit log', () => {
      const r = this.s.lastAudit!.get() as { seq: number; ts: string; body: string } | undefined;
      return r === undefined ? undefined : { seq: r.seq, ts: r.ts, body: JSON.parse(r.body) as unknown };
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

function jsonOf(v: unknown): string {
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) throw new UmbraError(ErrorCode.SCHEMA, 'value is not representable as JSON');
  return s;
}

