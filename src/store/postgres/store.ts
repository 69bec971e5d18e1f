// Long file: one adapter class serving the six roles of the store port on PostgreSQL, kept together like the SQLite one.
/**
 * The PostgreSQL adapter of the store port (node-postgres), for several processes and hosts
 * sharing one truth: decision-service replicas, ingest consumers, the shadow controller.
 *
 * - Opened without I/O (the composition root is synchronous); the first call connects and applies
 *   the migrations once, under an advisory lock. A failed start is retried by the next call, so a
 *   process outlives a restart of the server.
 * - `writeBatch` is one transaction: the rows it touches are read in a few queries, the batch is
 *   applied in memory with the shared merge rules (plan.ts), and written with multi-row
 *   `INSERT … SELECT FROM unnest(…)` (decisions `ON CONFLICT (id) DO NOTHING`: ids are unique).
 *   Writers take a transaction advisory lock, so sequence numbers follow commit order across
 *   processes and readers with an `afterSeq` cursor never miss a row.
 * - State is compare-and-set on a version; the audit log is appended under its own advisory
 *   lock at an expected sequence number. Both notify `LISTEN`ers on commit (`watch`).
 * - Errors are E_STORE (E_LOCKED on lock or serialisation conflicts); the URL in any message has
 *   its password replaced.
 */
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { OutcomeSignals, ShadowRecord } from '../../core/events.js';
import { redactUrl } from '../../core/redact.js';
import { resolveDecision, type OutcomeState } from '../../core/telemetry/merge.js';
import type { StoredTurn } from '../../core/telemetry/types.js';
import { decodeDecision } from '../codec.js';
import { decodeOutcome, decodeTurn, jsonOf, type DecisionColumns, type OutcomeRow, type TurnColumns } from '../rows.js';
import {
  PAGE_SIZE,
  boundMs,
  type AuditRow,
  type BundleArchive,
  type ChangeFeed,
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
import { POSTGRES_MIGRATIONS, type Migration } from './migrations.js';
import { needsOf, planBatch, type Loaded, type Plan } from './plan.js';

/** Options of the PostgreSQL adapter. */
export interface PostgresStoreOptions {
  /** Connections in the pool. @default 4 */
  poolSize?: number;
  /** Give up connecting after this long (ms). @default 5000 */
  connectTimeoutMs?: number;
  /** Migrations to apply. @default POSTGRES_MIGRATIONS */
  migrations?: readonly Migration[];
  /** Apply migrations on first use (else `migrate()` must have run). @default true */
  migrate?: boolean;
}

/** A store URL split into what node-postgres takes and the schema Umbra keeps its tables in. */
export interface PostgresTarget {
  /** The connection string without Umbra's own parameters. */
  connectionString: string;
  /** The schema (`?schema=NAME`), or `public`. */
  schema: string;
  /** The URL with its password replaced, for messages. */
  display: string;
}

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** True when a store setting names a PostgreSQL server. */
export function isPostgresUrl(url: string | undefined): url is string {
  return url !== undefined && /^postgres(ql)?:\/\//i.test(url);
}

/** Split a `postgres://` URL (E_CONFIG_INVALID when it does not parse or names a bad schema). */
export function postgresTarget(url: string): PostgresTarget {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UmbraError(ErrorCode.CONFIG_INVALID, `the store URL does not parse: ${redactUrl(url)}`);
  }
  const schema = u.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_RE.test(schema)) throw new UmbraError(ErrorCode.CONFIG_INVALID, `the store URL's schema must match ${SCHEMA_RE.source}, got ${JSON.stringify(schema)}`);
  u.searchParams.delete('schema');
  const connectionString = u.toString();
  return { connectionString, schema, display: redactUrl(connectionString) };
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '53300']);

/**
 * SQLSTATE classes of a server that cannot serve now rather than of a statement that is wrong:
 * connection exceptions (08), insufficient resources (53: too many connections, disk full, out of
 * memory), operator intervention (57: shutdown, statement timeout) and system errors (58).
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57', '58'];

/**
 * True when an error means the server cannot be reached or cannot serve now (rather than that a
 * statement failed): a caller keeps what it had and tries again, and never takes it for damage.
 */
export function isConnectionError(e: unknown): boolean {
  const code = (e as { code?: unknown }).code;
  if (typeof code === 'string' && (CONNECTION_CODES.has(code) || UNAVAILABLE_CLASSES.includes(code.slice(0, 2)))) return true;
  const msg = e instanceof Error ? e.message : '';
  // pg-pool's wait for a free connection, and the driver's own read timeout, say so only in words
  return /Connection terminated|connection timeout|Client has encountered a connection error|terminating connection|not currently accepting connections|timeout exceeded when trying to connect|Query read timeout/i.test(msg);
}

function pgError(e: unknown, what: string, display: string): UmbraError {
  if (e instanceof UmbraError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (isConnectionError(e)) return new UmbraError(ErrorCode.STORE, `the PostgreSQL store at ${display} is unreachable (${what}): ${msg}`, { unreachable: true }, { cause: e });
  if (code === '40001' || code === '40P01' || code === '55P03') return new UmbraError(ErrorCode.LOCKED, `store conflict (${what}): ${msg}`, undefined, { cause: e });
  return new UmbraError(ErrorCode.STORE, `store failed (${what}): ${msg}`, undefined, { cause: e });
}

// New decisions, new turns and changed outcomes go as one JSON document of rows ($1) each:
// JSON.stringify and the server's JSON parser beat escaping seven text arrays element by element
// (about 2× on batches of thousands of bodies). Inserts keep the rows' order (their sequence numbers).
const INSERT_DECISIONS =
  'INSERT INTO decisions (id, point, ts, ts_ms, action, body, sdepth) ' +
  'SELECT id, point, ts, ts_ms, action, body, sdepth FROM ROWS FROM (json_to_recordset($1::json) AS (id text, point text, ts text, "tsMs" bigint, action text, body text, sdepth int)) ' +
  'WITH ORDINALITY AS v(id, point, ts, ts_ms, action, body, sdepth, n) ORDER BY n ON CONFLICT (id) DO NOTHING';
const INSERT_TURNS =
  'INSERT INTO turns (id, ts, ts_ms, route, intent, session, session_depth, outcome) ' +
  'SELECT id, ts, ts_ms, route, intent, session, session_depth, outcome FROM ROWS FROM (json_to_recordset($1::json) AS (id text, ts text, "tsMs" bigint, route text, intent text, session text, "sessionDepth" int, outcome text)) ' +
  'WITH ORDINALITY AS v(id, ts, ts_ms, route, intent, session, session_depth, outcome, n) ORDER BY n ON CONFLICT (id) DO NOTHING';
const UPSERT_OUTCOMES =
  'INSERT INTO outcomes (id, ts, reward, outcome, updates, pending) SELECT * FROM json_to_recordset($1::json) AS v(id text, ts text, reward float8, outcome text, updates int, pending int) ' +
  'ON CONFLICT (id) DO UPDATE SET ts = EXCLUDED.ts, reward = EXCLUDED.reward, outcome = EXCLUDED.outcome, updates = EXCLUDED.updates, pending = EXCLUDED.pending';

/** Run one of the statements above with `rows` as its JSON document, unless there are none. */
async function writeJsonRows(c: PoolClient, sql: string, rows: readonly object[]): Promise<void> {
  if (rows.length > 0) await c.query(sql, [JSON.stringify(rows)]);
}

/** Lock names, each taken per schema (`hashtext(schema:name)`). */
const LOCK = { migrate: 'migrate', events: 'events', shadow: 'shadow', audit: 'audit' } as const;

/** Sequence numbers are BIGINT, which node-postgres reads as text. */
interface DecisionRowPg extends DecisionColumns {
  seq: string;
}

interface TurnRowPg extends TurnColumns {
  seq: string;
}

/** Open the PostgreSQL store at `url` (no I/O until first use). */
export function openPostgresStore(url: string, opts: PostgresStoreOptions = {}): PostgresStore {
  return new PostgresStore(url, opts);
}

/** The PostgreSQL adapter of the store port. */
export class PostgresStore implements Store, ChangeFeed, BundleArchive {
  readonly kind = 'postgres';
  /** Where it connects, the password replaced. */
  readonly display: string;
  readonly schema: string;
  /** The channel `LISTEN`ers hear state and audit changes on. */
  readonly channel: string;
  private readonly pool: pg.Pool;
  private readonly opts: PostgresStoreOptions;
  private readonly target: PostgresTarget;
  private started: Promise<void> | undefined;
  private closed = false;
  /** The connection of an open (held) write transaction. */
  private held: PoolClient | undefined;
  /** Writes run one at a time (a held transaction belongs to the store, not to a caller). */
  private writeChain: Promise<unknown> = Promise.resolve();

  constructor(url: string, opts: PostgresStoreOptions = {}) {
    this.target = postgresTarget(url);
    this.display = this.target.display;
    this.schema = this.target.schema;
    this.channel = `umbra_${this.schema}`;
    this.opts = opts;
    this.pool = new pg.Pool({
      connectionString: this.target.connectionString,
      max: opts.poolSize ?? 4,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5000,
      idleTimeoutMillis: 30_000,
      // A peer that vanished without closing (a partition) is found by TCP keepalive, not never.
      keepAlive: true,
      options: `-c search_path=${this.schema}`,
      application_name: 'umbra',
    });
    // A connection dropped by a server restart (idle or checked out) must not crash the process:
    // the query in flight fails with E_STORE and the next one reconnects.
    this.pool.on('error', () => undefined);
    this.pool.on('connect', (c) => c.on('error', () => undefined));
  }

  /** The connection string (with password) for a companion connection of the same process, e.g. LISTEN. */
  connectionConfig(): pg.ClientConfig {
    return { connectionString: this.target.connectionString, options: `-c search_path=${this.schema}`, application_name: 'umbra-listen', connectionTimeoutMillis: this.opts.connectTimeoutMs ?? 5000 };
  }

  /**
   * LISTEN on this store's channel with a connection of its own; `onChange` hears the state key or
   * `audit` of every committed change. A dropped connection is opened again (with back-off).
   */
  watch(onChange: (key: string) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    let timer: NodeJS.Timeout | undefined;
    const connect = async (wait: number): Promise<void> => {
      if (stopped) return;
      const c = new pg.Client(this.connectionConfig());
      client = c;
      const retry = (): void => {
        if (stopped || client !== c) return;
        client = undefined;
        c.end().catch(() => undefined);
        timer = setTimeout(() => void connect(Math.min(wait * 2, 5000)), wait);
        timer.unref();
      };
      c.on('error', retry);
      c.on('end', retry);
      c.on('notification', (n) => {
        if (n.channel === this.channel) onChange(n.payload ?? '');
      });
      try {
        await c.connect();
        await c.query(`LISTEN "${this.channel}"`);
        // Anything may have changed while no one listened.
        if (wait > 250) onChange('reconnected');
      } catch {
        retry();
      }
    };
    return connect(250).then(() => async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    });
  }

  // --- connection, migrations -------------------------------------------------------------------

  private ready(): Promise<void> {
    if (this.closed) return Promise.reject(new UmbraError(ErrorCode.STORE, 'store is closed'));
    if (this.started === undefined) {
      const p = this.opts.migrate === false ? Promise.resolve() : this.migrate().then(() => undefined);
      this.started = p;
      // A failed start (server down) is tried again by the next call.
      p.catch(() => {
        if (this.started === p) this.started = undefined;
      });
    }
    return this.started;
  }

  /**
   * Apply pending migrations once, under a session advisory lock (two processes starting together
   * wait for each other; the second finds nothing to do). Returns the schema version. A database
   * newer than this code is refused with E_STORE.
   */
  async migrate(): Promise<number> {
    const migrations = this.opts.migrations ?? POSTGRES_MIGRATIONS;
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw pgError(e, 'connecting', this.display);
    }
    try {
      await c.query('SELECT pg_advisory_lock(hashtext($1))', [`${this.schema}:${LOCK.migrate}`]);
      try {
        if (this.schema !== 'public') await c.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
        await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
        const current = async (): Promise<number> => Number((await c.query<{ v: number }>('SELECT coalesce(max(version), 0) AS v FROM schema_migrations')).rows[0]!.v);
        const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
        const have = await current();
        if (have > known) throw new UmbraError(ErrorCode.STORE, `the database has schema version ${have}, newer than this Umbra knows (${known}): upgrade Umbra`);
        for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
          if (m.version <= have) continue;
          await c.query('BEGIN');
          try {
            await c.query(m.up);
            await c.query('INSERT INTO schema_migrations(version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
            await c.query('COMMIT');
          } catch (e) {
            await c.query('ROLLBACK').catch(() => undefined);
            throw e;
          }
        }
        return await current();
      } finally {
        await c.query('SELECT pg_advisory_unlock(hashtext($1))', [`${this.schema}:${LOCK.migrate}`]).catch(() => undefined);
      }
    } catch (e) {
      throw pgError(e, 'migrating', this.display);
    } finally {
      c.release();
    }
  }

  /** The applied migrations (version, name), for `umbra store migrate`. */
  async migrations(): Promise<{ version: number; name: string; appliedAt: string }[]> {
    const rows = await this.q<{ version: number; name: string; applied_at: string }>('reading migrations', 'SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
    return rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at }));
  }

  /** A query on the held transaction's connection when there is one (it sees its own rows), else the pool. */
  private async q<R extends QueryResultRow>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    await this.ready();
    try {
      const res = this.held !== undefined ? await this.held.query<R>(sql, params) : await this.pool.query<R>(sql, params);
      return res.rows;
    } catch (e) {
      throw pgError(e, what, this.display);
    }
  }

  /** Run `fn` in a transaction on one connection (committed, or rolled back on failure). */
  private async tx<T>(what: string, fn: (c: PoolClient) => Promise<T>): Promise<T> {
    await this.ready();
    let c: PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw pgError(e, what, this.display);
    }
    let broken = false;
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      broken = isConnectionError(e);
      await c.query('ROLLBACK').catch(() => undefined);
      throw pgError(e, what, this.display);
    } finally {
      c.release(broken);
    }
  }

  private serialWrite<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.writeChain.then(fn, fn);
    this.writeChain = p.catch(() => undefined);
    return p;
  }

  // --- event writer ---------------------------------------------------------------------------

  writeBatch(batch: WriteBatch): Promise<WriteResult> {
    return this.serialWrite(async () => {
      await this.ready();
      let c = this.held;
      try {
        if (c === undefined) {
          c = await this.pool.connect();
          this.held = c;
          await c.query('BEGIN');
          await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}:${LOCK.events}`]);
        }
        const r = await this.applyBatch(c, batch);
        if (batch.hold !== true) {
          this.held = undefined;
          await c.query('COMMIT');
          c.release();
        }
        return r;
      } catch (e) {
        // A failure drops the whole open transaction, held batches included.
        this.held = undefined;
        if (c !== undefined) {
          await c.query('ROLLBACK').catch(() => undefined);
          c.release(isConnectionError(e));
        }
        throw pgError(e, 'writing a batch', this.display);
      }
    });
  }

  discardHeld(): Promise<void> {
    return this.serialWrite(async () => {
      const c = this.held;
      this.held = undefined;
      if (c === undefined) return;
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    });
  }

  private async applyBatch(c: PoolClient, b: WriteBatch): Promise<WriteResult> {
    const need = needsOf(b);
    const loaded: Loaded = { decisions: new Map(), turns: new Map(), sessions: new Map(), outcomes: new Map() };
    if (need.decisionIds.length > 0) {
      const rows = (await c.query<DecisionRowPg>('SELECT seq, id, point, ts, action, body, sdepth FROM decisions WHERE id = ANY($1::text[])', [need.decisionIds])).rows;
      for (const r of rows) loaded.decisions.set(r.id, decodeDecision(r, r.sdepth));
    }
    if (need.turnIds.length > 0) {
      for (const r of (await c.query<TurnRowPg>('SELECT * FROM turns WHERE id = ANY($1::text[])', [need.turnIds])).rows) loaded.turns.set(r.id, decodeTurn(r));
    }
    if (need.sessions.length > 0) {
      for (const r of (await c.query<{ session: string; turns: number }>('SELECT session, turns FROM sessions WHERE session = ANY($1::text[])', [need.sessions])).rows) loaded.sessions.set(r.session, r.turns);
    }
    if (need.outcomeIds.length > 0) {
      for (const r of (await c.query<OutcomeRow>('SELECT * FROM outcomes WHERE id = ANY($1::text[])', [need.outcomeIds])).rows) loaded.outcomes.set(r.id, { state: decodeOutcome(r), pending: r.pending });
    }
    const plan = planBatch(b, loaded);
    await this.writePlan(c, plan);
    return plan.result;
  }

  private async writePlan(c: PoolClient, p: Plan): Promise<void> {
    await writeJsonRows(c, INSERT_DECISIONS, p.newDecisions);
    if (p.filledDecisions.size > 0) {
      await c.query('UPDATE decisions SET body = v.body FROM unnest($1::text[], $2::text[]) AS v(id, body) WHERE decisions.id = v.id', [[...p.filledDecisions.keys()], [...p.filledDecisions.values()]]);
    }
    await writeJsonRows(c, INSERT_TURNS, p.newTurns);
    const f = p.filledTurns;
    if (f.length > 0) {
      await c.query('UPDATE turns SET route = v.route, intent = v.intent, outcome = v.outcome FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS v(id, route, intent, outcome) WHERE turns.id = v.id', [
        f.map((x) => x.id),
        f.map((x) => x.route),
        f.map((x) => x.intent),
        f.map((x) => x.outcome),
      ]);
    }
    if (p.sessions.size > 0) {
      await c.query('INSERT INTO sessions (session, turns) SELECT * FROM unnest($1::text[], $2::int[]) ON CONFLICT (session) DO UPDATE SET turns = EXCLUDED.turns', [[...p.sessions.keys()], [...p.sessions.values()]]);
    }
    await writeJsonRows(c, UPSERT_OUTCOMES, [...p.outcomes.values()]);
    const q = p.quarantine;
    if (q.length > 0) {
      const at = new Date().toISOString();
      await c.query(
        'INSERT INTO quarantine (source, byte_offset, reason, excerpt, detail, at) SELECT source, byte_offset, reason, excerpt, detail, $6 FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS v(source, byte_offset, reason, excerpt, detail, n) ORDER BY n',
        [q.map((x) => x.source), q.map((x) => x.offset), q.map((x) => x.reason), q.map((x) => x.excerpt), q.map((x) => x.detail ?? null), at],
      );
    }
    for (const cp of p.checkpoints) {
      await c.query(
        'INSERT INTO checkpoints (source, dev, ino, byte_offset, size, fp, fp_len, skip_from, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ' +
          'ON CONFLICT (source) DO UPDATE SET dev = EXCLUDED.dev, ino = EXCLUDED.ino, byte_offset = EXCLUDED.byte_offset, size = EXCLUDED.size, fp = EXCLUDED.fp, fp_len = EXCLUDED.fp_len, skip_from = EXCLUDED.skip_from, updated_at = EXCLUDED.updated_at',
        [cp.source, cp.dev, cp.ino, cp.offset, cp.size, cp.fp, cp.fpLen, cp.skipFrom, cp.updatedAt],
      );
    }
  }

  // --- event reader ---------------------------------------------------------------------------

  async getDecision(id: string): Promise<StoredDecision | undefined> {
    const [r] = await this.q<DecisionRowPg>('reading a decision', 'SELECT seq, id, point, ts, action, body, sdepth FROM decisions WHERE id = $1', [id]);
    return r === undefined ? undefined : { seq: Number(r.seq), event: decodeDecision(r, r.sdepth) };
  }

  private where(q: Omit<DecisionQuery, 'limit'>, params: unknown[], alias = ''): string {
    const parts: string[] = [];
    if (q.point !== undefined) {
      params.push(q.point);
      parts.push(`${alias}point = $${params.length}`);
    }
    const from = boundMs(q.from);
    if (from !== undefined) {
      params.push(from);
      parts.push(`${alias}ts_ms >= $${params.length}`);
    }
    const to = boundMs(q.to);
    if (to !== undefined) {
      params.push(to);
      parts.push(`${alias}ts_ms < $${params.length}`);
    }
    return parts.map((p) => ` AND ${p}`).join('');
  }

  async *decisions(q: DecisionQuery = {}): AsyncIterable<StoredDecision> {
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const params: unknown[] = [after];
      const w = this.where(q, params);
      params.push(n);
      const rows = await this.q<DecisionRowPg>('reading decisions', `SELECT seq, id, point, ts, action, body, sdepth FROM decisions WHERE seq > $1${w} ORDER BY seq LIMIT $${params.length}`, params);
      for (const r of rows) yield { seq: Number(r.seq), event: decodeDecision(r, r.sdepth) };
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1]!.seq);
      left -= rows.length;
    }
  }

  async countDecisions(q: Omit<DecisionQuery, 'limit'> = {}): Promise<number> {
    const params: unknown[] = [q.afterSeq ?? 0];
    const w = this.where(q, params);
    const [r] = await this.q<{ n: string }>('counting decisions', `SELECT count(*) AS n FROM decisions WHERE seq > $1${w}`, params);
    return Number(r!.n);
  }

  async getOutcome(id: string): Promise<OutcomeState | undefined> {
    const [r] = await this.q<OutcomeRow>('reading an outcome', 'SELECT * FROM outcomes WHERE id = $1', [id]);
    return r === undefined ? undefined : decodeOutcome(r);
  }

  async *episodes(q: EpisodeQuery): AsyncIterable<Episode> {
    const nowMs = typeof q.now === 'number' ? q.now : q.now.getTime();
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const params: unknown[] = [after];
      const w = this.where(q, params, 'd.');
      params.push(PAGE_SIZE);
      const rows = await this.q<DecisionRowPg & { o_ts: string | null; o_reward: number | null; o_outcome: string | null; o_updates: number | null }>(
        'reading episodes',
        `SELECT d.seq, d.id, d.point, d.ts, d.action, d.body, d.sdepth, o.ts AS o_ts, o.reward AS o_reward, o.outcome AS o_outcome, o.updates AS o_updates FROM decisions d LEFT JOIN outcomes o ON o.id = d.id WHERE d.seq > $1${w} ORDER BY d.seq LIMIT $${params.length}`,
        params,
      );
      for (const r of rows) {
        after = Number(r.seq);
        let state: OutcomeState | undefined;
        if (r.o_outcome !== null) {
          state = { id: r.id, outcome: JSON.parse(r.o_outcome) as OutcomeSignals, updates: r.o_updates ?? 0 };
          if (r.o_ts !== null) state.ts = r.o_ts;
          if (r.o_reward !== null) state.reward = r.o_reward;
        }
        const res = resolveDecision(decodeDecision(r, r.sdepth), state, q.reward, nowMs);
        if (res === undefined) continue;
        yield { seq: after, event: res.event, reward: res.reward, defaulted: res.defaulted, source: res.source };
        if (--left <= 0) return;
      }
      if (rows.length < PAGE_SIZE) return;
    }
  }

  async getTurn(id: string): Promise<StoredTurn | undefined> {
    const [r] = await this.q<TurnRowPg>('reading a turn', 'SELECT * FROM turns WHERE id = $1', [id]);
    return r === undefined ? undefined : decodeTurn(r);
  }

  async *turns(q: TurnQuery = {}): AsyncIterable<StoredTurn> {
    const from = boundMs(q.from) ?? -Number.MAX_SAFE_INTEGER;
    const to = boundMs(q.to) ?? Number.MAX_SAFE_INTEGER;
    let after = 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = await this.q<TurnRowPg>('reading turns', 'SELECT * FROM turns WHERE seq > $1 AND ts_ms >= $2 AND ts_ms < $3 ORDER BY seq LIMIT $4', [after, from, to, n]);
      for (const r of rows) yield decodeTurn(r);
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1]!.seq);
      left -= rows.length;
    }
  }

  async sessionTurns(session: string): Promise<number> {
    const [r] = await this.q<{ turns: number }>('reading a session', 'SELECT turns FROM sessions WHERE session = $1', [session]);
    return r?.turns ?? 0;
  }

  async counts(): Promise<StoreCounts> {
    const [r] = await this.q<Record<string, string>>(
      'counting',
      'SELECT (SELECT count(*) FROM decisions) AS decisions, (SELECT count(*) FROM turns) AS turns, (SELECT count(*) FROM outcomes) AS outcomes, ' +
        '(SELECT count(*) FROM outcomes WHERE pending > 0) AS pending, (SELECT count(*) FROM quarantine) AS quarantined, (SELECT count(*) FROM sessions) AS sessions, ' +
        '(SELECT count(*) FROM shadow) AS shadow, (SELECT count(*) FROM audit) AS audit',
    );
    const byPoint: Record<string, number> = {};
    for (const p of await this.q<{ point: string; n: string }>('counting', 'SELECT point, count(*) AS n FROM decisions GROUP BY point ORDER BY point')) byPoint[p.point] = Number(p.n);
    return {
      decisions: Number(r!.decisions),
      byPoint,
      turns: Number(r!.turns),
      outcomes: Number(r!.outcomes),
      outcomesPending: Number(r!.pending),
      quarantined: Number(r!.quarantined),
      sessions: Number(r!.sessions),
      shadow: Number(r!.shadow),
      audit: Number(r!.audit),
    };
  }

  // --- ingest ledger --------------------------------------------------------------------------

  async *quarantine(q: { source?: string; reason?: string; afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredQuarantine> {
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const params: unknown[] = [after];
      let w = '';
      if (q.source !== undefined) {
        params.push(q.source);
        w += ` AND source = $${params.length}`;
      }
      if (q.reason !== undefined) {
        params.push(q.reason);
        w += ` AND reason = $${params.length}`;
      }
      params.push(n);
      const rows = await this.q<{ seq: string; source: string; byte_offset: string; reason: string; excerpt: string; detail: string | null; at: string }>(
        'reading quarantine',
        `SELECT * FROM quarantine WHERE seq > $1${w} ORDER BY seq LIMIT $${params.length}`,
        params,
      );
      for (const r of rows) {
        const out: StoredQuarantine = { seq: Number(r.seq), source: r.source, offset: Number(r.byte_offset), reason: r.reason, excerpt: r.excerpt, at: r.at };
        if (r.detail !== null) out.detail = r.detail;
        yield out;
      }
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1]!.seq);
      left -= rows.length;
    }
  }

  async quarantineCounts(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const r of await this.q<{ reason: string; n: string }>('counting quarantine', 'SELECT reason, count(*) AS n FROM quarantine GROUP BY reason ORDER BY reason')) out[r.reason] = Number(r.n);
    return out;
  }

  private static checkpointOf(r: { source: string; dev: string; ino: string; byte_offset: string; size: string; fp: string; fp_len: number; skip_from: string | null; updated_at: string }): Checkpoint {
    return { source: r.source, dev: r.dev, ino: r.ino, offset: Number(r.byte_offset), size: Number(r.size), fp: r.fp, fpLen: r.fp_len, skipFrom: r.skip_from === null ? null : Number(r.skip_from), updatedAt: r.updated_at };
  }

  async getCheckpoint(source: string): Promise<Checkpoint | undefined> {
    const [r] = await this.q<Parameters<typeof PostgresStore.checkpointOf>[0]>('reading a checkpoint', 'SELECT * FROM checkpoints WHERE source = $1', [source]);
    return r === undefined ? undefined : PostgresStore.checkpointOf(r);
  }

  async listCheckpoints(): Promise<Checkpoint[]> {
    return (await this.q<Parameters<typeof PostgresStore.checkpointOf>[0]>('reading checkpoints', 'SELECT * FROM checkpoints ORDER BY source')).map(PostgresStore.checkpointOf);
  }

  // --- policy bundles ---------------------------------------------------------------------------

  async putBundle(version: string, files: Readonly<Record<string, string>>): Promise<void> {
    await this.q('keeping a bundle', 'INSERT INTO bundles (version, files, created_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING', [version, JSON.stringify(files), new Date().toISOString()]);
  }

  async getBundle(version: string): Promise<Record<string, string> | undefined> {
    const [r] = await this.q<{ files: string }>('reading a bundle', 'SELECT files FROM bundles WHERE version = $1', [version]);
    return r === undefined ? undefined : (JSON.parse(r.files) as Record<string, string>);
  }

  // --- shared state ---------------------------------------------------------------------------

  async getState(key: string): Promise<StateEntry | undefined> {
    const [r] = await this.q<{ value: string; version: number; updated_at: string }>('reading state', 'SELECT value, version, updated_at FROM state WHERE key = $1', [key]);
    return r === undefined ? undefined : { value: JSON.parse(r.value) as unknown, version: r.version, updatedAt: r.updated_at };
  }

  async setState(key: string, value: unknown): Promise<number> {
    const [r] = await this.q<{ version: number }>(
      'writing state',
      'WITH u AS (INSERT INTO state (key, value, version, updated_at) VALUES ($1, $2, 1, $3) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, version = state.version + 1, updated_at = EXCLUDED.updated_at RETURNING version) ' +
        'SELECT version, pg_notify($4, $1) FROM u',
      [key, jsonOf(value), new Date().toISOString(), this.channel],
    );
    return r!.version;
  }

  async casState(key: string, expectedVersion: number | null, value: unknown): Promise<number | undefined> {
    const now = new Date().toISOString();
    const rows =
      expectedVersion === null
        ? await this.q<{ version: number }>(
            'writing state',
            'WITH u AS (INSERT INTO state (key, value, version, updated_at) VALUES ($1, $2, 1, $3) ON CONFLICT (key) DO NOTHING RETURNING version) SELECT version, pg_notify($4, $1) FROM u',
            [key, jsonOf(value), now, this.channel],
          )
        : await this.q<{ version: number }>(
            'writing state',
            'WITH u AS (UPDATE state SET value = $2, version = version + 1, updated_at = $3 WHERE key = $1 AND version = $5 RETURNING version) SELECT version, pg_notify($4, $1) FROM u',
            [key, jsonOf(value), now, this.channel, expectedVersion],
          );
    return rows[0]?.version;
  }

  // --- shadow log -----------------------------------------------------------------------------

  appendShadow(records: readonly ShadowRecord[]): Promise<number[]> {
    if (records.length === 0) return Promise.resolve([]);
    const bodies = records.map((r) => jsonOf(r));
    return this.tx('writing shadow records', async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}:${LOCK.shadow}`]);
      const res = await c.query<{ seq: string }>(
        'INSERT INTO shadow (id, candidate, ts, body) SELECT id, candidate, ts, body FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) WITH ORDINALITY AS v(id, candidate, ts, body, n) ORDER BY n RETURNING seq',
        [records.map((r) => r.id), records.map((r) => r.candidate), records.map((r) => r.ts), bodies],
      );
      // Sequence numbers were drawn in input order.
      return res.rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    });
  }

  async *shadowByCandidate(candidate: string, q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredShadow> {
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = await this.q<{ seq: string; body: string }>('reading shadow records', 'SELECT seq, body FROM shadow WHERE candidate = $1 AND seq > $2 ORDER BY seq LIMIT $3', [candidate, after, n]);
      for (const r of rows) yield { seq: Number(r.seq), record: JSON.parse(r.body) as ShadowRecord };
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1]!.seq);
      left -= rows.length;
    }
  }

  // --- audit log ------------------------------------------------------------------------------

  appendAudit(row: { ts: string; body: unknown }, expectSeq?: number): Promise<AuditRow> {
    const body = jsonOf(row.body);
    return this.tx('appending an audit row', async (c) => {
      // One appender at a time per schema: the chain is read and extended under this lock.
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`${this.schema}:${LOCK.audit}`]);
      const last = (await c.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM audit')).rows[0]?.seq;
      const seq = Number(last ?? 0) + 1;
      if (expectSeq !== undefined && expectSeq !== seq) {
        throw new UmbraError(ErrorCode.LOCKED, `audit log moved on: expected to append row ${expectSeq}, the next row is ${seq}`);
      }
      await c.query('INSERT INTO audit (seq, ts, body) VALUES ($1, $2, $3)', [seq, row.ts, body]);
      await c.query('SELECT pg_notify($1, $2)', [this.channel, 'audit']);
      return { seq, ts: row.ts, body: JSON.parse(body) as unknown };
    });
  }

  async *audit(q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<AuditRow> {
    let after = q.afterSeq ?? 0;
    let left = q.limit ?? Infinity;
    while (left > 0) {
      const n = Math.min(PAGE_SIZE, left);
      const rows = await this.q<{ seq: string; ts: string; body: string }>('reading audit rows', 'SELECT seq, ts, body FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2', [after, n]);
      for (const r of rows) yield { seq: Number(r.seq), ts: r.ts, body: JSON.parse(r.body) as unknown };
      if (rows.length < n) return;
      after = Number(rows[rows.length - 1]!.seq);
      left -= rows.length;
    }
  }

  async lastAudit(): Promise<AuditRow | undefined> {
    const [r] = await this.q<{ seq: string; ts: string; body: string }>('reading the audit log', 'SELECT seq, ts, body FROM audit ORDER BY seq DESC LIMIT 1');
    return r === undefined ? undefined : { seq: Number(r.seq), ts: r.ts, body: JSON.parse(r.body) as unknown };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await this.writeChain;
    this.closed = true;
    const c = this.held;
    this.held = undefined;
    if (c !== undefined) {
      // Held rows without their committing batch are dropped, as after a crash.
      await c.query('ROLLBACK').catch(() => undefined);
      c.release();
    }
    await this.pool.end().catch(() => undefined);
  }
}
