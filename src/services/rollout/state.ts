/**
 * The rollout state machine, persisted, and derived from its audit log. Every transition is one
 * audit row holding the hash-chained records of its events (signed with the audit key) and the
 * state after it, appended with an expected sequence number. That append is the compare-and-set:
 * two processes (the server's judge and a person's `umbra rollout promote`) can never both apply a
 * transition to the same state, and no state change exists without its audit records.
 *
 * The state a process uses is the fold of the verified records (core/rollout/ledger.ts), never the
 * copy stored beside them: on the first read (so in every CLI command and at serve start), on
 * `verify`, and at least every `audit.reverify_s` in a long-running process, the whole log is
 * checked (chain, keys, fold against every stored state, anchors kept outside the store); in
 * between, and before a transition, the rows appended since and the last row (any change to it
 * forces a full check). A process never re-reads a state it verified, so an edit of an older row
 * cannot change what it serves; the next full check reports it. When the
 * log does not verify, `state()` gives the baseline-only state (the caller's own rules serve,
 * nothing else), `trusted` is false, `onAudit` hears about it, and transitions are refused with
 * E_AUDIT_TAMPERED until the log verifies again.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { Settings } from '../../core/settings.js';
import { stableStringify } from '../../core/hash.js';
import {
  appendRecords,
  championAt,
  initRollout,
  initialState,
  LedgerVerifier,
  machineOptions,
  rolloutStatus,
  transition,
  type AuditBody,
  type AuditKey,
  type AuditRecord,
  type ChampionAt,
  type KeyCheck,
  type LedgerProblem,
  type LedgerRow,
  type LedgerVerification,
  type RolloutCommand,
  type RolloutRowBody,
  type RolloutState,
  type RolloutStatus,
} from '../../core/rollout/index.js';
import type { RolloutStore } from '../../store/port.js';
import { StateKey } from '../state-keys.js';
import type { AnchoredHead, AuditAnchor } from './anchor.js';
import type { AuditKeySource } from './keys.js';

export interface RolloutServiceOptions {
  settings: Settings;
  /** Injectable clock (ms). @default Date.now */
  now?: () => number;
  /** Called after every applied transition (alerts, reloading policies). */
  onTransition?: (state: RolloutState, records: AuditRecord[]) => void;
  /** The audit keys; without them records are not signed and MACs are not checked. */
  keys?: AuditKeySource;
  /** Where the chain head goes after every transition; those that can be read back are checked. */
  anchors?: readonly AuditAnchor[];
  /** Called when the verdict on the log changes (it stops or starts verifying). */
  onAudit?: (check: AuditCheck) => void;
  /** Called when an anchor could not take a head (the transition stays committed). */
  onAnchorError?: (anchor: string, error: Error) => void;
  /** Longest time between two full verifications in a long-running process. @default 60000 */
  reverifyMs?: number;
}

/** The result of an applied command. */
export interface Applied {
  state: RolloutState;
  records: AuditRecord[];
}

/** What one anchor said about the log. */
export interface AnchorReport {
  name: string;
  /** `ok`: the log reaches its head; `behind`: the log goes on past it (not yet anchored); `missing`: it holds no head; `failed`: the log does not reach it or it cannot be read. */
  status: 'ok' | 'behind' | 'missing' | 'failed';
  head?: { seq: number; hash: string };
  message: string;
}

/** The verdict on the audit log: the ledger's, plus the anchors, when and how it was checked. */
export interface AuditCheck extends LedgerVerification {
  /** Whether the whole log was read (otherwise only rows appended since the last full check). */
  full: boolean;
  checkedAt: string;
  anchors: AnchorReport[];
}

/** The problem as one sentence. */
export function auditProblemText(c: Pick<AuditCheck, 'problem'>): string {
  const p = c.problem;
  if (p === undefined) return 'the audit log verifies';
  return `${p.seq === null ? `row ${p.row}` : `record ${p.seq} (row ${p.row})`}${p.field ? `, field ${p.field}` : ''}: ${p.reason}`;
}

/** The verdict in brief, for status pages. */
export function auditSummary(c: AuditCheck): { ok: boolean; checkedAt: string; records: number; keys: KeyCheck; problem?: string; anchors: Record<string, string> } {
  return {
    ok: c.ok,
    checkedAt: c.checkedAt,
    records: c.records,
    keys: c.keys.status,
    ...(c.ok ? {} : { problem: auditProblemText(c) }),
    anchors: Object.fromEntries(c.anchors.map((a) => [a.name, a.status])),
  };
}

/** True for a store that cannot be reached at all (a server restarting), as opposed to one that reads wrong. */
function isUnreachable(e: unknown): boolean {
  return e instanceof UmbraError && e.code === ErrorCode.STORE && (e.details as { unreachable?: unknown } | undefined)?.unreachable === true;
}

/** Rows checked between two turns of the event loop. */
const YIELD_EVERY_ROWS = 32;

function isRolloutBody(b: unknown): b is RolloutRowBody {
  return typeof b === 'object' && b !== null && (b as { kind?: unknown }).kind === 'rollout';
}

/** What an anchor held when it was read (before the log). */
interface AnchorHead {
  name: string;
  required: boolean;
  head?: { seq: number; hash: string } | null;
  error?: string;
}

/** The anchors' verdicts on a log read after them. */
function judgeAnchors(v: LedgerVerifier, heads: readonly AnchorHead[]): AnchorReport[] {
  return heads.map(({ name, required, head, error }): AnchorReport => {
    if (error !== undefined) return { name, status: 'failed', message: error };
    if (head === undefined || head === null) return { name, status: required ? 'failed' : 'missing', message: required ? 'holds no head' : 'holds no head yet: a cut tail cannot be detected through it' };
    const bad = v.reaches(head);
    if (bad !== undefined) return { name, status: 'failed', head, message: bad.reason };
    const beyond = (v.head?.seq ?? -1) - head.seq;
    return beyond > 0
      ? { name, status: 'behind', head, message: `the log reaches head ${head.seq} and holds ${beyond} record(s) after it (written after the last head this anchor took)` }
      : { name, status: 'ok', head, message: `the log reaches head ${head.seq}` };
  });
}

/** The verified log as of the last check. */
interface Verified {
  verifier: LedgerVerifier;
  state: RolloutState;
  last: AuditRecord;
  /** The last row's body as stable JSON, to notice an edit of it between full checks. */
  lastRowText: string;
}

/** Reads and changes the rollout state through the store's audit log. */
export class RolloutService {
  private readonly store: RolloutStore;
  private readonly opts: RolloutServiceOptions;
  private readonly now: () => number;
  private readonly reverifyMs: number;
  private verified: Verified | undefined;
  private lastCheck: AuditCheck | undefined;
  private lastFullAt = -Infinity;
  private verdictKey: string | undefined;
  private pending: Promise<void> | undefined;

  constructor(store: RolloutStore, opts: RolloutServiceOptions) {
    this.store = store;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    this.reverifyMs = opts.reverifyMs ?? 60_000;
  }

  /** The last verdict on the audit log (undefined before the first read). */
  get audit(): AuditCheck | undefined {
    return this.lastCheck;
  }

  /** False once the log failed to verify (the baseline alone serves then). */
  get trusted(): boolean {
    return this.lastCheck?.ok !== false;
  }

  private keys(): AuditKey[] {
    return this.opts.keys?.keys() ?? [];
  }

  private verifier(): LedgerVerifier {
    return new LedgerVerifier({ keys: this.keys(), keepChampions: this.opts.settings.config.rollout.keep_champions });
  }

  /** Check the whole log; `extra` anchors (given by hand) must hold a head. */
  private async fullCheck(extra: readonly AuditAnchor[] = []): Promise<AuditCheck> {
    // The anchors are read before the log: a head is written only after its row committed, so a
    // head read first is in the log read next. Read after it, a head another process appended in
    // between would look like a cut tail.
    const heads = await this.readAnchors(extra);
    const v = this.verifier();
    let readProblem: LedgerProblem | undefined;
    let lastRow: LedgerRow | undefined;
    try {
      let n = 0;
      for await (const row of this.store.audit()) {
        lastRow = row;
        if (v.push(row) !== undefined) break;
        // A long log is checked in slices, so that a periodic check in `serve` never holds the
        // event loop (and the decisions waiting on it) for long.
        if (++n % YIELD_EVERY_ROWS === 0) await new Promise((r) => setImmediate(r));
      }
    } catch (e) {
      if (e instanceof UmbraError && e.code === ErrorCode.LOCKED) throw e; // busy, not damaged: the caller retries
      if (isUnreachable(e)) throw e; // the store is away, the log is not damaged: the caller keeps its last state
      readProblem = { row: v.rowCount + 1, seq: null, reason: `audit row ${v.rowCount + 1} cannot be read: ${(e as Error).message}` };
    }
    const ledger = v.result();
    if (readProblem !== undefined && ledger.problem === undefined) Object.assign(ledger, { ok: false, problem: readProblem });
    const anchors = judgeAnchors(v, heads);
    const failedAnchor = anchors.find((a) => a.status === 'failed');
    if (ledger.ok && failedAnchor !== undefined) {
      Object.assign(ledger, { ok: false, problem: { row: v.rowCount, seq: ledger.head?.seq ?? null, reason: `${failedAnchor.name}: ${failedAnchor.message}` } });
    }
    const check: AuditCheck = { ...ledger, full: true, checkedAt: new Date(this.now()).toISOString(), anchors };
    this.lastFullAt = this.now();
    if (check.ok && ledger.state !== null && lastRow !== undefined && isRolloutBody(lastRow.body)) {
      this.verified = { verifier: v, state: ledger.state, last: lastRow.body.records[lastRow.body.records.length - 1]!, lastRowText: stableStringify(lastRow.body) };
    } else this.verified = undefined;
    this.settle(check);
    return check;
  }

  /** The heads the anchors hold (outside anchors, given ones, and the head kept in the store itself). */
  private async readAnchors(extra: readonly AuditAnchor[]): Promise<AnchorHead[]> {
    const out: AnchorHead[] = [];
    for (const [a, required] of [...(this.opts.anchors ?? []).map((x) => [x, false] as const), ...extra.map((x) => [x, true] as const)]) {
      if (a.latest === undefined) continue;
      try {
        out.push({ name: a.name, required, head: await a.latest() });
      } catch (e) {
        out.push({ name: a.name, required, error: (e as Error).message });
      }
    }
    const name = 'head kept in the store';
    try {
      const inStore = (await this.store.getState(StateKey.AUDIT_HEAD))?.value as { seq: number; hash: string } | undefined;
      out.push({ name, required: false, head: inStore ?? null });
    } catch (e) {
      if (isUnreachable(e)) throw e; // the store is away, not damaged: the caller keeps its last state
      out.push({ name, required: false, error: (e as Error).message });
    }
    return out;
  }

  /** Check only what changed since the last full check. */
  private async quickCheck(): Promise<void> {
    const ver = this.verified;
    if (ver === undefined) {
      // A log that failed is checked again in full when due; one never read yet, now.
      if (this.lastCheck?.ok !== false) await this.fullCheck();
      return;
    }
    try {
      const row = await this.store.lastAudit();
      const have = ver.verifier.rowCount;
      if (row === undefined || row.seq < have) {
        await this.fullCheck();
        return;
      }
      if (row.seq === have) {
        if (stableStringify(row.body) !== ver.lastRowText) await this.fullCheck();
        return;
      }
      let last: LedgerRow | undefined;
      for await (const r of this.store.audit({ afterSeq: have })) {
        last = r;
        if (ver.verifier.push(r) !== undefined) break;
      }
      const ledger = ver.verifier.result();
      if (ledger.ok && ledger.state !== null && last !== undefined && isRolloutBody(last.body)) {
        this.verified = { verifier: ver.verifier, state: ledger.state, last: last.body.records[last.body.records.length - 1]!, lastRowText: stableStringify(last.body) };
        this.settle({ ...ledger, full: false, checkedAt: new Date(this.now()).toISOString(), anchors: this.lastCheck?.anchors ?? [] });
      } else await this.fullCheck();
    } catch (e) {
      if (e instanceof UmbraError && e.code === ErrorCode.LOCKED) throw e;
      await this.fullCheck();
    }
  }

  /** Record a verdict; tell `onAudit` when it changed. */
  private settle(check: AuditCheck): void {
    this.lastCheck = check;
    const key = check.ok ? 'ok' : auditProblemText(check);
    if (key === this.verdictKey) return;
    const first = this.verdictKey === undefined;
    this.verdictKey = key;
    if (first && check.ok) return;
    try {
      this.opts.onAudit?.(check);
    } catch {
      /* a listener must not break reading the state */
    }
  }

  /** Bring the verdict up to date: in full when asked, on first use or when due; else the new rows. */
  private async refresh(full: boolean): Promise<void> {
    await this.exclusive(async () => {
      const due = full || this.lastCheck === undefined || this.now() - this.lastFullAt >= this.reverifyMs;
      if (due) await this.fullCheck();
      else await this.quickCheck();
    });
  }

  /** Run checks one at a time (a state read, a verify and the check before a transition may overlap). */
  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.pending) await this.pending;
    const p = fn();
    const mine = p.then(
      () => undefined,
      () => undefined,
    );
    this.pending = mine;
    try {
      return await p;
    } finally {
      if (this.pending === mine) this.pending = undefined;
    }
  }

  /** Write the first row of an empty log, unless an anchor says the log held records (then they were deleted). */
  private async initialise(): Promise<void> {
    const anchored = this.lastCheck?.anchors.find((a) => a.head !== undefined);
    if (anchored !== undefined) return; // the full check already failed: "the log ends before the anchored record"
    const init = initRollout(this.now(), 'umbra');
    try {
      await this.append(null, init.events, init.state, 1);
    } catch (e) {
      if (!(e instanceof UmbraError && e.code === ErrorCode.LOCKED)) throw e;
      // someone else initialised first: read theirs
    }
    await this.fullCheck();
  }

  /** The verified state and its last record; throws E_AUDIT_TAMPERED when the log does not verify. */
  private async current(full: boolean): Promise<Verified> {
    await this.refresh(full);
    if (this.lastCheck?.ok === true && this.lastCheck.rows === 0) await this.initialise();
    const ver = this.verified;
    if (ver === undefined || this.lastCheck?.ok !== true) {
      throw new UmbraError(ErrorCode.AUDIT_TAMPERED, `the audit log does not verify, so the rollout state cannot be trusted: ${auditProblemText(this.lastCheck ?? {})}`, this.lastCheck);
    }
    return ver;
  }

  /**
   * The state to serve: the fold of the verified log. When the log does not verify: the
   * baseline-only state (the caller's own rules are champion, no candidate), never the stored one.
   */
  async state(): Promise<RolloutState> {
    try {
      return structuredClone((await this.current(false)).state);
    } catch (e) {
      if (e instanceof UmbraError && e.code === ErrorCode.AUDIT_TAMPERED) return initialState(this.now());
      throw e;
    }
  }

  /** The `rollout status` summary (of the baseline-only state when the log does not verify). */
  async status(): Promise<RolloutStatus> {
    return rolloutStatus(await this.state());
  }

  /** Append one row of events after `prev`, signed when a key is at hand; then anchor its head. */
  private async append(prev: AuditRecord | null, events: AuditBody[], state: RolloutState, expectRow: number): Promise<AuditRecord[]> {
    const signing = this.opts.keys?.signingKey();
    const records = appendRecords(prev, events.map((e) => ({ ...e, configHash: this.opts.settings.configHash })), signing?.key);
    const row = await this.store.appendAudit({ ts: state.updatedAt, body: { kind: 'rollout', records, state } satisfies RolloutRowBody }, expectRow);
    // Keep the verified log in step without reading it back (a new key means a fresh full check).
    const ver = this.verified;
    if (ver !== undefined && signing?.created !== true && ver.verifier.push(row) === undefined) {
      this.verified = { verifier: ver.verifier, state: structuredClone(state), last: records[records.length - 1]!, lastRowText: stableStringify(row.body) };
    } else this.verified = undefined;
    await this.anchor(records[records.length - 1]!, row.seq);
    return records;
  }

  private async anchor(last: AuditRecord, row: number): Promise<void> {
    const head: AnchoredHead = { seq: last.seq, hash: last.hash, row, ts: last.ts, ...(last.keyId === undefined ? {} : { keyId: last.keyId }) };
    await this.store.setState(StateKey.AUDIT_HEAD, { seq: last.seq, hash: last.hash }).catch((e: Error) => this.opts.onAnchorError?.('head kept in the store', e));
    await Promise.all(
      (this.opts.anchors ?? []).map((a) =>
        a.publish(head).catch((e: Error) => {
          try {
            this.opts.onAnchorError?.(a.name, e);
          } catch {
            /* listeners must not undo a committed transition */
          }
        }),
      ),
    );
  }

  /**
   * Apply a command to the verified state. The log is checked first: in full on this service's
   * first read or when a full check is due, otherwise the rows appended since and the last row
   * against what was verified (an edit of it forces a full check). Refused transitions throw their
   * UmbraError (E_TRANSITION_INVALID, E_GATE_FAILED, E_USAGE; E_AUDIT_TAMPERED when the log does
   * not verify); a concurrent change is retried on the new state.
   */
  async apply(command: RolloutCommand): Promise<Applied> {
    const opts = machineOptions(this.opts.settings.config.rollout);
    for (let attempt = 0; attempt < 5; attempt++) {
      const cur = await this.current(false);
      const t = transition(cur.state, command, Math.max(this.now(), Date.parse(cur.state.updatedAt)), opts);
      if (!t.ok) throw t.error;
      let records: AuditRecord[];
      try {
        records = await this.append(cur.last, t.events, t.state, cur.verifier.rowCount + 1);
      } catch (e) {
        if (e instanceof UmbraError && e.code === ErrorCode.LOCKED) continue; // another process moved first: read its rows
        throw e;
      }
      try {
        this.opts.onTransition?.(t.state, records);
      } catch {
        /* a listener must not undo a committed transition */
      }
      return { state: t.state, records };
    }
    throw new UmbraError(ErrorCode.LOCKED, 'the rollout state kept changing while applying the command; try again');
  }

  /**
   * Sign a log that has no signed record yet (written before audit keys, or before the key was
   * set): one `seal` record, signed, whose MAC vouches for every record before it. Only after the
   * unsigned log verifies in every other respect.
   */
  async seal(actor: string, reason: string): Promise<Applied> {
    if (this.opts.keys === undefined) throw new UmbraError(ErrorCode.USAGE, 'no audit key is configured: set UMBRA_AUDIT_KEY or audit.key_file');
    if (!reason.trim()) throw new UmbraError(ErrorCode.USAGE, 'rollout seal needs --reason TEXT');
    const heads = await this.readAnchors([]);
    const v = new LedgerVerifier({ keepChampions: this.opts.settings.config.rollout.keep_champions });
    let lastRow: LedgerRow | undefined;
    for await (const row of this.store.audit()) {
      lastRow = row;
      if (v.push(row) !== undefined) break;
    }
    const r = v.result();
    if (!r.ok || r.state === null || lastRow === undefined || !isRolloutBody(lastRow.body)) {
      throw new UmbraError(ErrorCode.AUDIT_TAMPERED, `cannot seal: ${r.ok ? 'the log is empty' : auditProblemText(r)}`, r);
    }
    if (r.keys.signed > 0) throw new UmbraError(ErrorCode.TRANSITION_INVALID, `the log is already signed (${r.keys.signed} signed records); nothing to seal`);
    const anchors = judgeAnchors(v, heads);
    const bad = anchors.find((a) => a.status === 'failed');
    if (bad !== undefined) throw new UmbraError(ErrorCode.AUDIT_TAMPERED, `cannot seal: ${bad.name}: ${bad.message}`, anchors);
    const prev = r.state;
    const ts = new Date(Math.max(this.now(), Date.parse(prev.updatedAt))).toISOString();
    const state: RolloutState = { ...structuredClone(prev), seq: prev.seq + 1, updatedAt: ts };
    const event: AuditBody = { event: 'seal', version: prev.champion, from: 'production', to: 'production', actor, trigger: 'manual', reason: reason.trim(), ts, champion: prev.champion, artifactHash: null, canaryWeight: 0, evaluation: { unsignedRecords: r.records, head: r.head } };
    const last = lastRow.body.records[lastRow.body.records.length - 1]!;
    const records = await this.append(last, [event], state, v.rowCount + 1);
    this.verified = undefined;
    await this.fullCheck();
    return { state, records };
  }

  /** Every audit record as stored, in order (unverified: for reading, `verify` says whether to trust it). */
  async history(): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    for await (const row of this.store.audit()) {
      if (isRolloutBody(row.body) && Array.isArray(row.body.records)) out.push(...row.body.records);
      else out.push(row.body as AuditRecord); // verify flags it
    }
    return out;
  }

  /** Verify the whole log now: rows, chain, keys, fold against the stored states, anchors (and the `anchors` given). */
  async verify(anchors: readonly AuditAnchor[] = []): Promise<AuditCheck> {
    return this.exclusive(() => this.fullCheck(anchors));
  }

  /** Which policy served production at a time (from a log that verifies). */
  async championAt(time: string | number | Date): Promise<ChampionAt> {
    const v = await this.verify();
    if (!v.ok) throw new UmbraError(ErrorCode.AUDIT_TAMPERED, `the audit log does not verify: ${auditProblemText(v)}`, v);
    return championAt(await this.history(), time);
  }
}
