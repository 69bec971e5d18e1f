/**
 * The store port: everything Umbra persists, split by role (event writer, event reader, ingest
 * ledger, shared state, shadow log, audit log) so that callers depend on the role they use and the
 * embedded SQLite adapter, the in-memory adapter and a PostgreSQL adapter are interchangeable.
 * Every adapter passes the contract suite in `contract/` (one suite per role); the guarantees
 * below are what it checks.
 *
 * Guarantees (all adapters):
 * - **Atomicity.** `writeBatch` is one transaction: its decisions, turn facts, outcome updates,
 *   quarantine rows, session counters and checkpoints become visible together or not at all. A
 *   process killed at any moment leaves the store as it was before or after the batch.
 * - **Idempotency.** Decisions and turn facts are keyed by id. Writing an id again stores nothing
 *   new: it counts a duplicate, and only fills fields the first write lacked (first wins). Outcome
 *   updates merge field by field, later wins, whether the decision arrives before or after them.
 *   Companion updates join the same way but are not reported pending while their decision is absent.
 * - **Ordering.** Decisions, quarantine rows, shadow records and audit rows get a sequence number
 *   at insertion, strictly increasing in commit order; every iterator returns rows in that order
 *   (turn facts: in the order they were first stored). Sequence numbers are never reused.
 * - **Append-only.** Nothing here deletes or rewrites decisions, quarantine, shadow or audit rows.
 * - **Streaming.** Iterators page through the data (no whole-table arrays) and may be interleaved
 *   with writes on the same store; a page already read is not re-read.
 * - **Single writer per store for ingestion.** Several processes may read; concurrent writers are
 *   serialised by the adapter (SQLite: busy timeout), and `casState` arbitrates shared state.
 */
import type { DecisionEvent, OutcomeSignals, ShadowRecord } from '../core/events.js';
import type { RewardFunction } from '../core/reward.js';
import type { OutcomeState, RewardSource } from '../core/telemetry/merge.js';
import type { OutcomeUpdate, StoredTurn } from '../core/telemetry/types.js';
import type { DecisionInput, TurnInput } from './codec.js';

/** A decision as stored, with its insertion sequence number. */
export interface StoredDecision {
  seq: number;
  event: DecisionEvent;
}

/**
 * What one telemetry record stores: its KPI turn fact (when it is a turn) and its decisions. A
 * turn's decisions get the turn's depth in its session as `context.session_depth`; the decision
 * whose id equals the turn's id is the turn's own (route) decision, and the turn is new exactly
 * when that decision is (the SQLite adapter deduplicates both with one key).
 */
export interface RecordInsert {
  /** The turn, or its `encodeTurn` form (then its own decision must be in `decisions`). */
  turn?: TurnInput;
  /** Events, or their `encodeDecision` form (serialised by the producer). */
  decisions: readonly DecisionInput[];
}

/** One quarantined line (or record). */
export interface QuarantineEntry {
  /** Where it came from: a file path (or any source name). */
  source: string;
  /** Byte offset of the line's first byte in the source (element index for JSON arrays). */
  offset: number;
  /** Stable reason code (see `QuarantineReason`). */
  reason: string;
  /** Bounded, redacted excerpt of the line. */
  excerpt: string;
  /** A sentence on what was wrong. */
  detail?: string;
}

/** A quarantine row as stored. */
export interface StoredQuarantine extends QuarantineEntry {
  seq: number;
  /** When it was quarantined (ISO-8601). */
  at: string;
}

/**
 * Where ingestion of one source stands: the file identity (device, inode), the offset just after
 * the last consumed line, and what is needed to recognise the same file again.
 */
export interface Checkpoint {
  /** Source key (the file path as ingested). */
  source: string;
  /** Device and inode of the file, as decimal strings (64-bit safe). */
  dev: string;
  ino: string;
  /** Byte offset after the last consumed line: resuming reads from here. */
  offset: number;
  /** File size seen when the checkpoint was written. */
  size: number;
  /** SHA-256 prefix of the file's first `fpLen` bytes: tells a rewritten or reused-inode file apart. */
  fp: string;
  fpLen: number;
  /** When the bytes at `offset` continue an over-long line that began at this offset (it is being skipped). */
  skipFrom: number | null;
  /** ISO-8601 time of the write. */
  updatedAt: string;
}

/** One transaction's worth of ingestion output, applied in this order: records, outcomes, quarantine, checkpoints. */
export interface WriteBatch {
  /**
   * Applied first, in order. New turn and decision ids are inserted (a new turn with a session
   * counts one more turn of it); ids already stored count as duplicates and only fill the fields
   * the stored item lacks.
   */
  records?: readonly RecordInsert[];
  /** Applied second, in order: merged field by field into the outcome of the id (later wins). */
  outcomes?: readonly OutcomeUpdate[];
  quarantine?: readonly QuarantineEntry[];
  /** Upserted by source key. */
  checkpoints?: readonly Checkpoint[];
  /**
   * Leave the transaction open: this batch becomes durable and visible to other connections only
   * with the next batch written without `hold` (which should carry the checkpoint). A failure or
   * `close()` before that drops every held batch, as a crash would. Bulk ingestion uses it to
   * commit large transactions while passing small batches. Adapters may commit every batch
   * instead. Meant for the single ingesting writer of a store. @default false
   */
  hold?: boolean;
  /**
   * Group commit: the adapter may keep this batch briefly and commit it in one transaction with
   * the writes that follow (the store thread does, for `group_commit_ms`); it stays atomic on its
   * own, and the promise resolves once it is committed. Anything else done through the same store
   * commits the group first, so it is seen at once. A crash before the commit loses the group, as
   * it would lose batches not yet handed over. For steady streams of small writes (the decision
   * log), where one commit per batch costs more than the rows. Ignored with `hold`. @default false
   */
  group?: boolean;
}

/** What a batch did. */
export interface WriteResult {
  /** New decisions stored. */
  inserted: number;
  /** Decisions whose id was already stored (this batch included). */
  duplicates: number;
  /** Duplicates that filled at least one missing field. */
  filled: number;
  /** New turn facts stored. */
  turnsInserted: number;
  /** Turn facts whose id was already stored. */
  turnDuplicates: number;
  /** Outcome updates merged. */
  outcomes: number;
  /**
   * Outcome updates matched to a decision: at arrival when the decision exists, else when the
   * decision arrives (each update is counted once).
   */
  outcomesJoined: number;
  quarantined: number;
}

/** Filters of decision and episode iterators; all optional, combined with AND. */
export interface DecisionQuery {
  /** Decision point (`route`, `tool`, `cache`, ...). */
  point?: string;
  /** Inclusive lower bound on `ts` (ISO-8601 or epoch ms). */
  from?: string | number;
  /** Exclusive upper bound on `ts`. */
  to?: string | number;
  /** Only decisions inserted after this sequence number (a cursor). */
  afterSeq?: number;
  /** Stop after this many rows. */
  limit?: number;
}

/** Episode query: decisions joined with outcome and reward. */
export interface EpisodeQuery extends DecisionQuery {
  /** Reference time for the default-reward wait. */
  now: Date | number;
  reward: RewardFunction;
}

/** A decision joined with its merged outcome and its reward. */
export interface Episode {
  seq: number;
  /** The decision, its `outcome` merged with outcome updates, `reward` the explicit one if any. */
  event: DecisionEvent;
  /** Reward in [0, 1]. */
  reward: number;
  /** True when the reward is the configured default because no outcome arrived in time. */
  defaulted: boolean;
  source: RewardSource;
}

/** Counts over the whole store. */
export interface StoreCounts {
  decisions: number;
  /** Decisions per point. */
  byPoint: Record<string, number>;
  turns: number;
  /** Outcome ids stored (joined or not). */
  outcomes: number;
  /** Outcome ids whose decision has not arrived, except those with only companion updates (see `OutcomeUpdate.companion`). */
  outcomesPending: number;
  quarantined: number;
  sessions: number;
  shadow: number;
  audit: number;
}

/** A state value with its version (1 on first write, +1 on each write). */
export interface StateEntry {
  value: unknown;
  version: number;
  updatedAt: string;
}

/** A shadow record as stored. */
export interface StoredShadow {
  seq: number;
  record: ShadowRecord;
}

/** An audit row; `body` is any JSON object (the rollout core computes the hash chain inside it). */
export interface AuditRow {
  seq: number;
  ts: string;
  body: unknown;
}

/** Turn facts query. */
export interface TurnQuery {
  from?: string | number;
  to?: string | number;
  limit?: number;
}

/**
 * Writes of decisions, turns, outcomes, quarantine rows and checkpoints (ingestion, the decision
 * log of the service). Errors are `UmbraError` with code `E_STORE` (or `E_LOCKED`).
 */
export interface EventWriter {
  /** Apply a batch in one transaction (see the guarantees above). */
  writeBatch(batch: WriteBatch): Promise<WriteResult>;
  /** Drop the batches written with `hold` since the last committing batch (a writer that gives up). */
  discardHeld(): Promise<void>;
}

/** What the learner, off-policy evaluation, the canary judge and status read. */
export interface EventReader {
  /** Decision by id. */
  getDecision(id: string): Promise<StoredDecision | undefined>;
  /** Decisions in insertion order. */
  decisions(q?: DecisionQuery): AsyncIterable<StoredDecision>;
  /** Number of decisions matching the query (`limit` ignored). */
  countDecisions(q?: Omit<DecisionQuery, 'limit'>): Promise<number>;
  /** The merged outcome state of a decision id (present even before the decision arrives). */
  getOutcome(id: string): Promise<OutcomeState | undefined>;
  /** Decisions joined with outcome and reward, in insertion order; pending decisions are skipped. */
  episodes(q: EpisodeQuery): AsyncIterable<Episode>;
  /** Turn fact by id. */
  getTurn(id: string): Promise<StoredTurn | undefined>;
  /** Turn facts in insertion order (first sighting), optionally within a time range. */
  turns(q?: TurnQuery): AsyncIterable<StoredTurn>;
  /** Turns stored for a session so far (0 when unknown). */
  sessionTurns(session: string): Promise<number>;
  /** Whole-store counts (every role's rows). */
  counts(): Promise<StoreCounts>;
}

/** Ingestion's bookkeeping: where each source stands, and what was quarantined on the way. */
export interface IngestLedger {
  /** Quarantine rows in insertion order. */
  quarantine(q?: { source?: string; reason?: string; afterSeq?: number; limit?: number }): AsyncIterable<StoredQuarantine>;
  /** Quarantined rows per reason code. */
  quarantineCounts(): Promise<Record<string, number>>;
  /** The checkpoint of a source key. */
  getCheckpoint(source: string): Promise<Checkpoint | undefined>;
  /** Every checkpoint (to recognise a renamed file by device and inode). */
  listCheckpoints(): Promise<Checkpoint[]>;
}

/** Shared JSON state of the services (counters, judge state, controller state). */
export interface StateStore {
  /** A JSON state value. */
  getState(key: string): Promise<StateEntry | undefined>;
  /** Write unconditionally; returns the new version. */
  setState(key: string, value: unknown): Promise<number>;
  /**
   * Compare-and-set: write only when the current version is `expectedVersion` (null: the key must
   * not exist). Returns the new version, or undefined when someone else wrote first.
   */
  casState(key: string, expectedVersion: number | null, value: unknown): Promise<number | undefined>;
}

/** Shadow records: append-only, apart from production data. */
export interface ShadowLog {
  /** Append shadow records; returns their sequence numbers. */
  appendShadow(records: readonly ShadowRecord[]): Promise<number[]>;
  /** Shadow records of a candidate, in insertion order. */
  shadowByCandidate(candidate: string, q?: { afterSeq?: number; limit?: number }): AsyncIterable<StoredShadow>;
}

/** The audit log: append-only rows, each appended at an expected sequence number. */
export interface AuditLog {
  /**
   * Append an audit row. With `expectSeq`, the row must get exactly that sequence number (the
   * caller read the last row to chain its hash); otherwise nothing is written and E_LOCKED is thrown.
   */
  appendAudit(row: { ts: string; body: unknown }, expectSeq?: number): Promise<AuditRow>;
  /** Audit rows in sequence order. */
  audit(q?: { afterSeq?: number; limit?: number }): AsyncIterable<AuditRow>;
  /** The last audit row. */
  lastAudit(): Promise<AuditRow | undefined>;
}

/**
 * Changes of shared state and audit rows pushed to other processes as they commit (PostgreSQL:
 * LISTEN/NOTIFY). Optional: adapters without it are polled. `onChange` hears the state key, or
 * `audit`; `onChange` may be called for changes made by this very process too.
 */
export interface ChangeFeed {
  /** Start listening; resolves with a function that stops. Reconnects by itself after a failure. */
  watch(onChange: (key: string) => void): Promise<() => Promise<void>>;
}

/** True when a store pushes its changes. */
export function hasChangeFeed(s: object): s is ChangeFeed {
  return typeof (s as Partial<ChangeFeed>).watch === 'function';
}

/**
 * Policy bundles kept in the shared store, so replicas on other hosts serve a version they did not
 * build (PostgreSQL). Optional: adapters without it leave bundles in the data directory only.
 * A bundle is its files, name → text; the version is a content hash, so a version's files never change.
 */
export interface BundleArchive {
  /** Keep a bundle's files under its version; idempotent (a version already kept stays as it is). */
  putBundle(version: string, files: Readonly<Record<string, string>>): Promise<void>;
  /** A kept bundle's files, or undefined. */
  getBundle(version: string): Promise<Record<string, string> | undefined>;
}

/** True when a store keeps bundles. */
export function hasBundleArchive(s: object): s is BundleArchive {
  return typeof (s as Partial<BundleArchive>).putBundle === 'function' && typeof (s as Partial<BundleArchive>).getBundle === 'function';
}

/** The rollout's persistence: its audit log and the shared state beside it. */
export type RolloutStore = AuditLog & StateStore;

/**
 * The whole store: every role, as one adapter serves them. All methods are asynchronous so that
 * remote adapters fit; the embedded adapters complete synchronously inside. Callers depend on the
 * roles they use, not on this; only the composition root (src/app) opens and closes a Store.
 */
export interface Store extends EventWriter, EventReader, IngestLedger, StateStore, ShadowLog, AuditLog {
  /** Adapter name (`sqlite`, `memory`, ...). */
  readonly kind: string;
  /** Release resources; further calls fail. */
  close(): Promise<void>;
}

/** Rows per page of the paging iterators. */
export const PAGE_SIZE = 1000;

/** Epoch milliseconds of a query bound. */
export function boundMs(v: string | number | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number') return v;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Outcome signals re-exported for adapter authors. */
export type { OutcomeSignals, OutcomeState };
