/**
 * The rollout audit log: append-only and hash-chained. Each record carries the SHA-256 of the
 * previous record and its own hash over a stable JSON of everything else, so editing, deleting,
 * inserting or reordering any record breaks the chain at that point. Truncating the tail is the one
 * change a chain cannot see by itself: keep the head (seq and hash) somewhere else and pass it to
 * `verifyChain` as an anchor to catch that too.
 *
 * Pure: the store appends the records `appendRecord` returns and reads them back for
 * `verifyChain` and `championAt`.
 */
import { z } from 'zod';
import { sha256Hex, stableStringify } from '../hash.js';
import { ErrorCode, UmbraError } from '../errors.js';
import type { AuditEvent } from './machine.js';

/** `prevHash` of the first record. */
export const GENESIS_HASH = '0'.repeat(64);

/** One audit record as stored. */
export const AuditRecordSchema = z.object({
  /** Position in the log, from 0. */
  seq: z.number().int().min(0),
  /** ISO time of the event. */
  ts: z.string(),
  event: z.string(),
  version: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  actor: z.string(),
  trigger: z.enum(['auto', 'manual']),
  reason: z.string(),
  /** The champion after this event. */
  champion: z.string(),
  artifactHash: z.string().nullable(),
  /** Hash of the effective config at the time (configHash of src/core/config). */
  configHash: z.string().nullable(),
  canaryWeight: z.number(),
  /** The full gate evaluation or judge verdict, verbatim. */
  evaluation: z.unknown(),
  prevHash: z.string(),
  hash: z.string(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** What the caller supplies: a machine event plus the config hash in force. */
export type AuditBody = AuditEvent & { configHash?: string | null };

/** The hash of a record: SHA-256 of the stable JSON of the record without its `hash` field. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _ignored, ...rest } = record as AuditRecord;
  return sha256Hex(stableStringify(rest));
}

/**
 * The next record after `prev` (null for the first). The body goes through a JSON round trip so
 * that what is hashed is exactly what a store will read back (no undefined, Dates or NaN).
 */
export function appendRecord(prev: AuditRecord | null, body: AuditBody): AuditRecord {
  const clean = JSON.parse(JSON.stringify(body)) as AuditBody;
  const unhashed: Omit<AuditRecord, 'hash'> = {
    seq: prev === null ? 0 : prev.seq + 1,
    ts: clean.ts,
    event: clean.event,
    version: clean.version ?? null,
    from: clean.from ?? null,
    to: clean.to ?? null,
    actor: clean.actor,
    trigger: clean.trigger,
    reason: clean.reason,
    champion: clean.champion,
    artifactHash: clean.artifactHash ?? null,
    configHash: clean.configHash ?? null,
    canaryWeight: clean.canaryWeight ?? 0,
    evaluation: clean.evaluation ?? null,
    prevHash: prev === null ? GENESIS_HASH : prev.hash,
  };
  return { ...unhashed, hash: recordHash(unhashed) };
}

/** Append several events in order; returns the new records. */
export function appendRecords(prev: AuditRecord | null, bodies: readonly AuditBody[]): AuditRecord[] {
  const out: AuditRecord[] = [];
  let last = prev;
  for (const b of bodies) {
    last = appendRecord(last, b);
    out.push(last);
  }
  return out;
}

/** Result of verifying a chain. */
export interface ChainVerification {
  ok: boolean;
  /** Number of records checked. */
  records: number;
  /** Hash of the last record (null for an empty log). */
  head: string | null;
  /** The first record that does not fit, by position, and why. */
  firstBad?: { seq: number; reason: string };
}

/** An externally kept head, to detect a truncated tail. */
export interface ChainAnchor {
  seq: number;
  hash: string;
}

/**
 * Verify a whole log: schema, positions, links, hashes and time order. With an `anchor` (the head
 * recorded elsewhere), also that the log still contains that record, so a cut tail is detected.
 */
export function verifyChain(records: readonly unknown[], anchor?: ChainAnchor): ChainVerification {
  let prevHash = GENESIS_HASH;
  let prevTs = -Infinity;
  const fail = (seq: number, reason: string): ChainVerification => ({ ok: false, records: records.length, head: null, firstBad: { seq, reason } });
  for (let i = 0; i < records.length; i++) {
    const parsed = AuditRecordSchema.safeParse(records[i]);
    if (!parsed.success) return fail(i, `record ${i} is malformed: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim());
    const r = parsed.data;
    if (r.seq !== i) return fail(i, `record at position ${i} says seq ${r.seq}: a record was deleted, inserted or moved`);
    if (r.prevHash !== prevHash) return fail(i, `record ${i} does not link to the record before it: a record was deleted, inserted, moved or edited`);
    const want = recordHash(r);
    if (r.hash !== want) return fail(i, `record ${i} was edited: its content no longer matches its hash`);
    const t = Date.parse(r.ts);
    if (Number.isNaN(t)) return fail(i, `record ${i} has an invalid time ${JSON.stringify(r.ts)}`);
    if (t < prevTs) return fail(i, `record ${i} is older than the record before it`);
    prevTs = t;
    prevHash = r.hash;
  }
  const head = records.length > 0 ? prevHash : null;
  if (anchor !== undefined) {
    const at = records[anchor.seq] as AuditRecord | undefined;
    if (at === undefined) return { ok: false, records: records.length, head, firstBad: { seq: records.length, reason: `the log ends before the anchored record ${anchor.seq}: its tail was cut` } };
    if (at.hash !== anchor.hash) return { ok: false, records: records.length, head, firstBad: { seq: anchor.seq, reason: `record ${anchor.seq} differs from the anchored head` } };
  }
  return { ok: true, records: records.length, head };
}

/** Which policy served production at a time, and since when. */
export interface ChampionAt {
  champion: string;
  /** Time of the record that made it champion (null when the log says nothing before T). */
  since: string | null;
  /** That record's seq (null likewise). */
  seq: number | null;
}

/**
 * The champion at `time` (ISO string, epoch milliseconds or Date): the champion named by the last
 * record at or before `time`. Before the first record, the caller's own rules served (`baselineId`).
 * Verify the chain first; this trusts the records it is given.
 */
export function championAt(records: readonly AuditRecord[], time: string | number | Date, baselineId = 'baseline'): ChampionAt {
  const t = time instanceof Date ? time.getTime() : typeof time === 'number' ? time : Date.parse(time);
  if (Number.isNaN(t)) throw new UmbraError(ErrorCode.USAGE, `not a time: ${String(time)} (give an ISO-8601 time or epoch milliseconds)`);
  let at = -1;
  for (let i = 0; i < records.length; i++) {
    if (Date.parse(records[i]!.ts) > t) break;
    at = i;
  }
  if (at < 0) return { champion: baselineId, since: null, seq: null };
  const champion = records[at]!.champion;
  // Report when this champion took over, not merely the last record before T.
  let first = at;
  while (first > 0 && records[first - 1]!.champion === champion) first--;
  const since = records[first]!;
  return { champion, since: since.ts, seq: since.seq };
}
