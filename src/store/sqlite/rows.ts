/**
 * The SQLite store's rows and how they decode into the port's types (with ../rows.ts, which it
 * shares with PostgreSQL); its error mapping.
 */
import type Database from 'better-sqlite3';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { DecisionEvent } from '../../core/events.js';
import { SESSION_DEPTH_KEY } from '../../core/telemetry/types.js';
import { decodeDecision } from '../codec.js';
import type { AuditRow, Checkpoint } from '../port.js';
import type { DecisionColumns, TurnColumns } from '../rows.js';

/** A better-sqlite3 connection. */
export type DB = Database.Database;
/** A prepared statement. */
export type Stmt = Database.Statement;

/** The event with `context.session_depth` set to `depth` (unchanged when depth is null). */
export function withDepth(e: DecisionEvent, depth: number | null): DecisionEvent {
  if (depth === null || e.context[SESSION_DEPTH_KEY] === depth) return e;
  return { ...e, context: { ...e.context, [SESSION_DEPTH_KEY]: depth } };
}
export interface DecisionRow extends DecisionColumns {
  seq: number;
}

export interface DecisionTurnRow extends DecisionRow {
  tflag: number;
  tsession: string | null;
  textra: string | null;
}

export interface EpisodeRow extends DecisionRow {
  o_ts: string | null;
  o_reward: number | null;
  o_outcome: string | null;
  o_updates: number | null;
}

export interface TurnRow extends TurnColumns {
  seq: number;
  pos: number;
  key: number;
  ts_ms: number;
}

export interface CheckpointRow {
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

export function decodeRow(r: DecisionRow): DecisionEvent {
  return decodeDecision(r, r.sdepth);
}

export function decodeCheckpoint(r: CheckpointRow): Checkpoint {
  return { source: r.source, dev: r.dev, ino: r.ino, offset: r.byte_offset, size: r.size, fp: r.fp, fpLen: r.fp_len, skipFrom: r.skip_from, updatedAt: r.updated_at };
}

export function storeError(e: unknown, what: string): UmbraError {
  if (e instanceof UmbraError) return e;
  const code = (e as { code?: unknown }).code;
  const msg = e instanceof Error ? e.message : String(e);
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return new UmbraError(ErrorCode.LOCKED, `store is locked by another writer (${what}): ${msg}`, undefined, { cause: e });
  return new UmbraError(ErrorCode.STORE, `store failed (${what}): ${msg}`, undefined, { cause: e });
}

/**
 * An audit row as read. Umbra writes both columns as text; a row whose values are stored as
 * another type (a blob with the same bytes, say) was not written by Umbra and is refused, so that
 * not even the type tag of an audit row can change unseen.
 */
export function auditRowOf(r: { seq: number; ts: unknown; body: unknown }): AuditRow {
  if (typeof r.ts !== 'string' || typeof r.body !== 'string') {
    const kind = (v: unknown): string => (v instanceof Uint8Array ? 'blob' : v === null ? 'null' : typeof v);
    throw new UmbraError(ErrorCode.STORE, `audit row ${r.seq} is not stored as text (ts: ${kind(r.ts)}, body: ${kind(r.body)}): the database was edited`);
  }
  return { seq: r.seq, ts: r.ts, body: JSON.parse(r.body) as unknown };
}
