/**
 * Verifying the rollout's audit log as stored: rows of records (one row per transition) with the
 * state after each row kept beside them as a cache. One pass checks, row by row:
 *
 * 1. the rows: numbered 1, 2, 3, … with nothing missing, each a rollout row with records, its
 *    time that of its records;
 * 2. the plain chain of the records (schema, position, link, hash, time order; audit.ts);
 * 3. the keys: with keys at hand, each record's MAC; once a record is signed every later one must
 *    be, never by an older key than the one before it; and at least one record must be signed;
 * 4. the fold: the records replayed into the state (fold.ts), and the stored state compared with
 *    it, naming the first field that differs.
 *
 * The state to serve is the fold, never the stored copy. The verifier can be resumed with the rows
 * appended since (a long-running process checks only what is new between full passes).
 */
import { anchorProblem, ChainCursor, macMatches, type AuditKey, type AuditRecord, type ChainAnchor } from './audit.js';
import { FoldError, firstDifference, foldTransition, type FoldOptions } from './fold.js';
import type { RolloutState } from './state.js';

/** One stored audit row: its number in the store, its time and its body. */
export interface LedgerRow {
  seq: number;
  ts: string;
  body: unknown;
}

/** The body of a rollout audit row. */
export interface RolloutRowBody {
  kind: 'rollout';
  records: AuditRecord[];
  /** The state after the row: a cache of the fold, checked against it. */
  state: RolloutState;
}

export interface LedgerOptions extends FoldOptions {
  /** Keys that may have signed records, newest first (the first signs new records). Empty: MACs are not checked. */
  keys?: readonly AuditKey[];
}

/** What the keys said about the log. */
export const KeyCheck = {
  /** Every signed record's MAC matched; the records after the first signed one are all signed. */
  VERIFIED: 'verified',
  /** Records are signed, but no key was at hand: the MACs could not be checked. */
  UNCHECKED: 'unchecked',
  /** No record is signed and no key was at hand: only the plain chain was checked. */
  ABSENT: 'absent',
  /** A MAC is wrong, missing or by an unknown key. */
  FAILED: 'failed',
} as const;
export type KeyCheck = (typeof KeyCheck)[keyof typeof KeyCheck];

export interface KeyReport {
  status: KeyCheck;
  /** Records carrying a MAC. */
  signed: number;
  /** Records without one (written before audit keys, or by someone without the key). */
  unsigned: number;
  message: string;
}

/** The first thing that does not fit. */
export interface LedgerProblem {
  /** Audit row number (from 1). */
  row: number;
  /** Record seq, when a record is concerned. */
  seq: number | null;
  /** The field that differs, for a stored state or row that disagrees with its records (`state.versions.c1.rollbacks`). */
  field?: string;
  reason: string;
}

export interface LedgerVerification {
  ok: boolean;
  rows: number;
  records: number;
  /** The last record's seq and hash (null for an empty log). */
  head: ChainAnchor | null;
  /** The fold of the records read (up to the problem, if any). */
  state: RolloutState | null;
  keys: KeyReport;
  problem?: LedgerProblem;
}

const show = (v: unknown): string => (v === undefined ? '(missing)' : JSON.stringify(v) ?? String(v));

/** Row-by-row verifier; `push` rows in order, then read `result()`. */
export class LedgerVerifier {
  private readonly keys: readonly AuditKey[];
  private readonly fold: FoldOptions;
  private readonly chain = new ChainCursor();
  private readonly hashes: string[] = [];
  private state: RolloutState | null = null;
  private rows = 0;
  private signed = 0;
  private unsigned = 0;
  private firstSigned: number | null = null;
  private keyRank = Infinity;
  private keyFailed = false;
  private problem: LedgerProblem | undefined;

  constructor(options: LedgerOptions = {}) {
    this.keys = options.keys ?? [];
    this.fold = options.keepChampions === undefined ? {} : { keepChampions: options.keepChampions };
  }

  /** Rows accepted so far (the number of the last one). */
  get rowCount(): number {
    return this.rows;
  }

  /** The first problem, once one was found (nothing more is accepted then). */
  get failed(): LedgerProblem | undefined {
    return this.problem;
  }

  /** Check the next row; returns the problem it has, if any. */
  push(row: LedgerRow): LedgerProblem | undefined {
    if (this.problem) return this.problem;
    const n = this.rows + 1;
    const fail = (p: Omit<LedgerProblem, 'row'> & { row?: number }): LedgerProblem => (this.problem = { row: n, ...p });
    if (row.seq !== n) return fail({ seq: null, field: 'seq', reason: `audit row ${n} is numbered ${row.seq}: a row was deleted, inserted or renumbered` });
    const body = row.body as Partial<RolloutRowBody> | null;
    if (typeof body !== 'object' || body === null || body.kind !== 'rollout') return fail({ seq: null, field: 'kind', reason: `audit row ${n} is not a rollout row` });
    if (!Array.isArray(body.records) || body.records.length === 0) return fail({ seq: null, field: 'records', reason: `audit row ${n} holds no records` });
    const extra = Object.keys(body).find((k) => k !== 'kind' && k !== 'records' && k !== 'state');
    if (extra !== undefined) return fail({ seq: null, field: extra, reason: `audit row ${n} holds an unknown field ${JSON.stringify(extra)}` });
    if (body.state === undefined) return fail({ seq: null, field: 'state', reason: `audit row ${n} has no stored state` });
    const records: AuditRecord[] = [];
    for (const raw of body.records) {
      const c = this.chain.push(raw);
      if (!c.ok) return fail({ seq: c.seq, reason: c.reason });
      const r = c.record;
      const keyProblem = this.checkKey(r);
      if (keyProblem !== undefined) {
        this.keyFailed = true;
        return fail({ seq: r.seq, reason: keyProblem });
      }
      this.hashes.push(r.hash);
      records.push(r);
    }
    let next: RolloutState;
    try {
      next = foldTransition(this.state, records, { ...this.fold, inPlace: true });
    } catch (e) {
      if (e instanceof FoldError) return fail({ seq: e.seq, reason: e.message });
      throw e;
    }
    this.state = next;
    const last = records[records.length - 1]!;
    if (row.ts !== last.ts) return fail({ seq: null, field: 'ts', reason: `audit row ${n} says time ${show(row.ts)}, its records ${show(last.ts)}` });
    const d = firstDifference(body.state, next);
    if (d !== undefined) {
      const field = d.path === '(root)' ? 'state' : `state.${d.path}`;
      return fail({ seq: last.seq, field, reason: `the stored rollout state of row ${n} differs from the fold of its records at ${field}: stored ${show(d.stored)}, the records say ${show(d.derived)}` });
    }
    this.rows = n;
    return undefined;
  }

  private checkKey(r: AuditRecord): string | undefined {
    const isSigned = r.mac !== undefined || r.keyId !== undefined;
    if (!isSigned) {
      this.unsigned++;
      if (this.firstSigned !== null) return `record ${r.seq} carries no MAC, although record ${this.firstSigned} and the ones after it do: written without the key`;
      return undefined;
    }
    this.signed++;
    this.firstSigned ??= r.seq;
    if (this.keys.length === 0) return undefined;
    const rank = this.keys.findIndex((k) => k.id === r.keyId);
    if (rank < 0) return `record ${r.seq} is signed by key ${r.keyId ?? '(none)'}, which is not among the audit keys here (${this.keys.map((k) => k.id).join(', ')}): forged, or signed by a key dropped from the key file`;
    if (!macMatches(r, this.keys[rank]!)) return `record ${r.seq}'s MAC does not match its hash under key ${r.keyId}: the record was forged or re-chained without the key`;
    if (rank > this.keyRank) return `record ${r.seq} is signed by the older key ${r.keyId} after a record signed by a newer one: a retired key cannot sign new records`;
    this.keyRank = rank;
    return undefined;
  }

  /** Whether the log reaches a head recorded elsewhere (its tail was not cut or replaced). */
  reaches(anchor: ChainAnchor): { seq: number; reason: string } | undefined {
    return anchorProblem(this.hashes.length, this.hashes[anchor.seq], anchor);
  }

  /** The last accepted record's seq and hash. */
  get head(): ChainAnchor | null {
    const n = this.hashes.length;
    return n === 0 ? null : { seq: n - 1, hash: this.hashes[n - 1]! };
  }

  /** The verification so far (the state is a copy). */
  result(): LedgerVerification {
    const keys = this.keyReport();
    let problem = this.problem;
    if (problem === undefined && keys.status === KeyCheck.FAILED) problem = { row: 1, seq: 0, reason: keys.message };
    return {
      ok: problem === undefined,
      rows: this.rows,
      records: this.hashes.length,
      head: this.head,
      state: this.state === null ? null : structuredClone(this.state),
      keys,
      ...(problem === undefined ? {} : { problem }),
    };
  }

  private keyReport(): KeyReport {
    const { signed, unsigned } = this;
    const base = { signed, unsigned };
    if (this.keyFailed) return { status: KeyCheck.FAILED, ...base, message: this.problem!.reason };
    if (this.keys.length === 0) {
      return signed > 0
        ? { status: KeyCheck.UNCHECKED, ...base, message: `${signed} of ${signed + unsigned} records carry a MAC, but no audit key is at hand here (UMBRA_AUDIT_KEY or audit.key_file): the MACs could not be checked, only the plain hash chain` }
        : { status: KeyCheck.ABSENT, ...base, message: 'no record carries a MAC and no audit key is at hand: only the plain hash chain was checked' };
    }
    if (signed === 0 && unsigned > 0) {
      return { status: KeyCheck.FAILED, ...base, message: `no record carries a MAC although an audit key is configured: the log was rewritten without the key, or it predates audit keys (then run \`umbra rollout seal --reason …\` once)` };
    }
    const legacy = unsigned > 0 ? `; records 0–${unsigned - 1} predate audit keys and are vouched for by the first signed record` : '';
    const upTo = this.problem === undefined ? '' : ` read before the problem`;
    return { status: KeyCheck.VERIFIED, ...base, message: `every MAC matches (${signed} signed records${upTo})${legacy}` };
  }
}

/** Verify whole rows in one call. */
export function verifyLedger(rows: Iterable<LedgerRow>, options: LedgerOptions = {}): LedgerVerification {
  const v = new LedgerVerifier(options);
  for (const row of rows) if (v.push(row) !== undefined) break;
  return v.result();
}
