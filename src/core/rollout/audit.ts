/**
 * The rollout audit log: append-only and hash-chained. Each record carries the SHA-256 of the
 * previous record and its own hash over a stable JSON of everything else, so editing, deleting,
 * inserting or reordering any record breaks the chain at that point. Truncating the tail is the one
 * change a chain cannot see by itself: keep the head (seq and hash) somewhere else and pass it to
 * `verifyChain` as an anchor to catch that too.
 *
 * Keyed: a record may also carry a MAC (HMAC-SHA-256 of its hash under a key kept outside the
 * store) and the id of that key. The MAC is not part of the hash, so the plain chain verifies with
 * or without keys; since each hash covers the previous one, a valid MAC on a record vouches for
 * every record before it as well. Without the key nobody can write a record whose MAC verifies,
 * so a chain re-hashed by someone who could only write the store is told apart from the real one.
 *
 * Pure: the store appends the records `appendRecord` returns and reads them back for
 * `verifyChain` and `championAt`; keys are passed in as bytes.
 */
import { z } from 'zod';
import { hmacSha256Hex, sha256Hex, stableStringify } from '../hash.js';
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
  /** The previous champions after a `retire` (absent on older records and on other events). */
  previousChampions: z.array(z.string()).optional(),
  prevHash: z.string(),
  hash: z.string(),
  /** Id of the key behind `mac` (absent on records written without a key). Not hashed. */
  keyId: z.string().optional(),
  /** HMAC-SHA-256 of `hash` under the key `keyId` names. Not hashed. */
  mac: z.string().optional(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/** What the caller supplies: a machine event plus the config hash in force. */
export type AuditBody = AuditEvent & { configHash?: string | null };

/** The hash of a record: SHA-256 of the stable JSON of the record without `hash`, `keyId` and `mac`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> | AuditRecord): string {
  const { hash: _h, keyId: _k, mac: _m, ...rest } = record as AuditRecord;
  return sha256Hex(stableStringify(rest));
}

/** A key of the audit chain: its secret bytes and a short public id derived from them. */
export interface AuditKey {
  /** 16 hex digits, derived from the secret (reveals nothing about it). */
  id: string;
  secret: Uint8Array;
}

/** The audit key of some secret bytes. */
export function auditKeyOf(secret: Uint8Array): AuditKey {
  return { id: hmacSha256Hex(secret, 'umbra.audit.key-id').slice(0, 16), secret };
}

/** The MAC of a record hash under a key. */
export function recordMac(hash: string, key: AuditKey): string {
  return hmacSha256Hex(key.secret, `umbra.audit.v1:${hash}`);
}

/** The record with its MAC under `key`. */
export function signRecord(record: AuditRecord, key: AuditKey): AuditRecord {
  return { ...record, keyId: key.id, mac: recordMac(record.hash, key) };
}

/** True when a record's MAC is the one `key` gives (constant-time comparison is not needed: the MAC is not secret). */
export function macMatches(record: AuditRecord, key: AuditKey): boolean {
  return record.mac === recordMac(record.hash, key);
}

/**
 * The next record after `prev` (null for the first). The body goes through a JSON round trip so
 * that what is hashed is exactly what a store will read back (no undefined, Dates or NaN).
 */
export function appendRecord(prev: AuditRecord | null, body: AuditBody, key?: AuditKey): AuditRecord {
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
    ...(clean.previousChampions === undefined ? {} : { previousChampions: clean.previousChampions }),
    prevHash: prev === null ? GENESIS_HASH : prev.hash,
  };
  const rec = { ...unhashed, hash: recordHash(unhashed) };
  return key === undefined ? rec : signRecord(rec, key);
}

/** Append several events in order, signed with `key` when one is given; returns the new records. */
export function appendRecords(prev: AuditRecord | null, bodies: readonly AuditBody[], key?: AuditKey): AuditRecord[] {
  const out: AuditRecord[] = [];
  let last = prev;
  for (const b of bodies) {
    last = appendRecord(last, b, key);
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
 * The plain chain, checked one record at a time (schema, position, link, hash, time order), so
 * that a long log can be verified as it is read and resumed when new records arrive.
 */
export class ChainCursor {
  /** Records accepted so far. */
  count = 0;
  /** Hash of the last accepted record (GENESIS_HASH before the first). */
  prevHash = GENESIS_HASH;
  private prevTs = -Infinity;

  /** Check the next record; the parsed record, or why it does not fit (nothing is accepted then). */
  push(raw: unknown): { ok: true; record: AuditRecord } | { ok: false; seq: number; reason: string } {
    const i = this.count;
    const parsed = AuditRecordSchema.safeParse(raw);
    if (!parsed.success) return { ok: false, seq: i, reason: `record ${i} is malformed: ${parsed.error.issues[0]?.path.join('.') ?? ''} ${parsed.error.issues[0]?.message ?? ''}`.trim() };
    const r = parsed.data;
    if (r.seq !== i) return { ok: false, seq: i, reason: `record at position ${i} says seq ${r.seq}: a record was deleted, inserted or moved` };
    if (r.prevHash !== this.prevHash) return { ok: false, seq: i, reason: `record ${i} does not link to the record before it: a record was deleted, inserted, moved or edited` };
    if (r.hash !== recordHash(r)) return { ok: false, seq: i, reason: `record ${i} was edited: its content no longer matches its hash` };
    const t = Date.parse(r.ts);
    if (Number.isNaN(t)) return { ok: false, seq: i, reason: `record ${i} has an invalid time ${JSON.stringify(r.ts)}` };
    if (t < this.prevTs) return { ok: false, seq: i, reason: `record ${i} is older than the record before it` };
    this.prevTs = t;
    this.prevHash = r.hash;
    this.count++;
    return { ok: true, record: r };
  }
}

/** Check that a log of `count` records whose record `anchor.seq` has hash `hashAt` reaches an anchored head. */
export function anchorProblem(count: number, hashAt: string | undefined, anchor: ChainAnchor): { seq: number; reason: string } | undefined {
  if (anchor.seq >= count || hashAt === undefined) return { seq: count, reason: `the log ends before the anchored record ${anchor.seq}: its tail was cut` };
  if (hashAt !== anchor.hash) return { seq: anchor.seq, reason: `record ${anchor.seq} differs from the anchored head` };
  return undefined;
}

/**
 * Verify a whole log: schema, positions, links, hashes and time order. With an `anchor` (the head
 * recorded elsewhere), also that the log still contains that record, so a cut tail is detected.
 */
export function verifyChain(records: readonly unknown[], anchor?: ChainAnchor): ChainVerification {
  const cur = new ChainCursor();
  for (const raw of records) {
    const r = cur.push(raw);
    if (!r.ok) return { ok: false, records: records.length, head: null, firstBad: { seq: r.seq, reason: r.reason } };
  }
  const head = records.length > 0 ? cur.prevHash : null;
  if (anchor !== undefined) {
    const bad = anchorProblem(records.length, (records[anchor.seq] as AuditRecord | undefined)?.hash, anchor);
    if (bad !== undefined) return { ok: false, records: records.length, head, firstBad: bad };
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
