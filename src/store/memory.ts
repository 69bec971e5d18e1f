/**
 * The in-memory adapter of the store port: the same guarantees as SQLite without a file. Used by
 * `loadLog` (commands that read a log file directly), by tests, and as the reference that shows
 * the port does not depend on SQL. Values are copied in and out, so callers never alias its state.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { DecisionEvent, ShadowRecord } from '../core/events.js';
import { fillDecision, resolveDecision } from '../core/telemetry/merge.js';
import { SESSION_DEPTH_KEY, type OutcomeUpdate, type TurnFact } from '../core/telemetry/types.js';
import {
  boundMs,
  type AuditRow,
  type BundleArchive,
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
  type WriteBatch,
  type WriteResult,
} from './port.js';
import { toEvent, toTurn } from './codec.js';
import { InMemoryLedger } from './in-memory-ledger.js';
import { jsonOf } from './rows.js';

interface DecisionSlot {
  seq: number;
  tsMs: number;
  event: DecisionEvent;
}

const clone = <T>(v: T): T => structuredClone(v);

/** The in-memory store. */
export class MemoryStore extends InMemoryLedger implements Store, BundleArchive {
  readonly kind = 'memory';
  private seq = 0;
  private readonly decisionList: DecisionSlot[] = [];
  private readonly decisionById = new Map<string, DecisionSlot>();
  private qSeq = 0;
  private readonly state = new Map<string, { json: string; version: number; updatedAt: string }>();
  private readonly shadow: StoredShadow[] = [];
  private readonly auditRows: AuditRow[] = [];
  private readonly bundles = new Map<string, string>();
  /** Undo steps of held batches (see `WriteBatch.hold`). */
  private held: (() => void)[] = [];

  constructor() {
    super('memory store', 'store is closed');
  }

  protected hasDecision(id: string): boolean {
    return this.decisionById.has(id);
  }

  protected copyTurn<T extends TurnFact>(t: T): T {
    return clone(t);
  }

  protected copyUpdate(u: OutcomeUpdate): OutcomeUpdate {
    return clone(u);
  }

  // --- ingestion ------------------------------------------------------------------------------

  writeBatch(batch: WriteBatch): Promise<WriteResult> {
    return this.run(() => {
      // Held batches keep their undo steps until a committing batch, so a failure drops them too.
      const undo = this.held;
      try {
        const r = this.apply(batch, undo);
        if (batch.hold !== true) this.held = [];
        return r;
      } catch (e) {
        for (let i = undo.length - 1; i >= 0; i--) undo[i]!();
        this.held = [];
        throw e;
      }
    });
  }

  discardHeld(): Promise<void> {
    return this.run(() => {
      for (let i = this.held.length - 1; i >= 0; i--) this.held[i]!();
      this.held = [];
    });
  }

  private apply(b: WriteBatch, undo: (() => void)[]): WriteResult {
    const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
    for (const rec of b.records ?? []) this.applyRecord(rec, r, undo);
    for (const u of b.outcomes ?? []) this.applyOutcome(u, r, undo);
    const at = new Date().toISOString();
    for (const q of b.quarantine ?? []) {
      const row: StoredQuarantine = { ...q, seq: ++this.qSeq, at };
      this.quarantineRows.push(row);
      undo.push(() => {
        this.quarantineRows.pop();
        this.qSeq--;
      });
      r.quarantined++;
    }
    this.applyCheckpoints(b.checkpoints ?? [], undo);
    return r;
  }

  private applyRecord(rec: RecordInsert, r: WriteResult, undo: (() => void)[]): void {
    const t = rec.turn;
    const own = t === undefined ? undefined : rec.decisions.find((d) => d.id === t.id);
    const depth = t === undefined ? null : this.applyTurn(toTurn(t, own === undefined ? undefined : toEvent(own)), r, undo);
    for (const d of rec.decisions) {
      const e = toEvent(d);
      const withDepth = depth !== null && e.context[SESSION_DEPTH_KEY] !== depth ? { ...e, context: { ...e.context, [SESSION_DEPTH_KEY]: depth } } : e;
      this.applyDecision(withDepth, r, undo);
    }
  }

  private applyDecision(e: DecisionEvent, r: WriteResult, undo: (() => void)[]): void {
    const existing = this.decisionById.get(e.id);
    if (existing === undefined) {
      const slot: DecisionSlot = { seq: ++this.seq, tsMs: Date.parse(e.ts), event: clone(e) };
      this.decisionList.push(slot);
      this.decisionById.set(e.id, slot);
      undo.push(() => {
        this.decisionList.pop();
        this.decisionById.delete(e.id);
        this.seq--;
      });
      r.inserted++;
      this.joinWaiting(e.id, r, undo);
      return;
    }
    r.duplicates++;
    const filled = fillDecision(existing.event, e);
    if (filled !== undefined) {
      const before = existing.event;
      existing.event = clone(filled);
      undo.push(() => (existing.event = before));
      r.filled++;
    }
  }

  getDecision(id: string): Promise<StoredDecision | undefined> {
    return this.run(() => {
      const s = this.decisionById.get(id);
      return s === undefined ? undefined : { seq: s.seq, event: clone(s.event) };
    });
  }

  private matches(s: DecisionSlot, q: Omit<DecisionQuery, 'limit'>): boolean {
    if (q.afterSeq !== undefined && s.seq <= q.afterSeq) return false;
    if (q.point !== undefined && s.event.point !== q.point) return false;
    const from = boundMs(q.from);
    if (from !== undefined && s.tsMs < from) return false;
    const to = boundMs(q.to);
    if (to !== undefined && s.tsMs >= to) return false;
    return true;
  }

  /** Index of the first slot with seq > after (the list is in seq order). */
  private startIndex(after: number | undefined): number {
    if (after === undefined) return 0;
    let lo = 0;
    let hi = this.decisionList.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.decisionList[mid]!.seq <= after) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  async *decisions(q: DecisionQuery = {}): AsyncIterable<StoredDecision> {
    this.check();
    let left = q.limit ?? Infinity;
    for (let i = this.startIndex(q.afterSeq); i < this.decisionList.length && left > 0; i++) {
      const s = this.decisionList[i]!;
      if (!this.matches(s, q)) continue;
      left--;
      yield { seq: s.seq, event: clone(s.event) };
    }
  }

  countDecisions(q: Omit<DecisionQuery, 'limit'> = {}): Promise<number> {
    return this.run(() => {
      let n = 0;
      for (let i = this.startIndex(q.afterSeq); i < this.decisionList.length; i++) if (this.matches(this.decisionList[i]!, q)) n++;
      return n;
    });
  }

  async *episodes(q: EpisodeQuery): AsyncIterable<Episode> {
    this.check();
    const nowMs = typeof q.now === 'number' ? q.now : q.now.getTime();
    let left = q.limit ?? Infinity;
    for (let i = this.startIndex(q.afterSeq); i < this.decisionList.length && left > 0; i++) {
      const s = this.decisionList[i]!;
      if (!this.matches(s, q)) continue;
      const res = resolveDecision(clone(s.event), this.outcomes.get(s.event.id)?.state, q.reward, nowMs);
      if (res === undefined) continue;
      left--;
      yield { seq: s.seq, event: res.event, reward: res.reward, defaulted: res.defaulted, source: res.source };
    }
  }

  counts(): Promise<StoreCounts> {
    return this.run(() => {
      const byPoint: Record<string, number> = {};
      for (const s of this.decisionList) byPoint[s.event.point] = (byPoint[s.event.point] ?? 0) + 1;
      const pending = this.pendingOutcomes();
      return {
        decisions: this.decisionList.length,
        byPoint: Object.fromEntries(Object.entries(byPoint).sort(([a], [b]) => (a < b ? -1 : 1))),
        turns: this.turnById.size,
        outcomes: this.outcomes.size,
        outcomesPending: pending,
        quarantined: this.quarantineRows.length,
        sessions: this.sessions.size,
        shadow: this.shadow.length,
        audit: this.auditRows.length,
      };
    });
  }

  // --- policy bundles ---------------------------------------------------------------------------

  putBundle(version: string, files: Readonly<Record<string, string>>): Promise<void> {
    return this.run(() => {
      if (!this.bundles.has(version)) this.bundles.set(version, JSON.stringify(files));
    });
  }

  getBundle(version: string): Promise<Record<string, string> | undefined> {
    return this.run(() => {
      const json = this.bundles.get(version);
      return json === undefined ? undefined : (JSON.parse(json) as Record<string, string>);
    });
  }

  // --- state ----------------------------------------------------------------------------------

  getState(key: string): Promise<StateEntry | undefined> {
    return this.run(() => {
      const s = this.state.get(key);
      return s === undefined ? undefined : { value: JSON.parse(s.json) as unknown, version: s.version, updatedAt: s.updatedAt };
    });
  }

  setState(key: string, value: unknown): Promise<number> {
    return this.run(() => {
      const version = (this.state.get(key)?.version ?? 0) + 1;
      this.state.set(key, { json: jsonOf(value), version, updatedAt: new Date().toISOString() });
      return version;
    });
  }

  casState(key: string, expectedVersion: number | null, value: unknown): Promise<number | undefined> {
    return this.run(() => {
      const cur = this.state.get(key);
      if ((cur?.version ?? null) !== expectedVersion) return undefined;
      const version = (cur?.version ?? 0) + 1;
      this.state.set(key, { json: jsonOf(value), version, updatedAt: new Date().toISOString() });
      return version;
    });
  }

  // --- shadow ---------------------------------------------------------------------------------

  appendShadow(records: readonly ShadowRecord[]): Promise<number[]> {
    return this.run(() => {
      const copies = records.map((r) => JSON.parse(jsonOf(r)) as ShadowRecord);
      const base = this.shadow.length === 0 ? 0 : this.shadow[this.shadow.length - 1]!.seq;
      return copies.map((record, i) => {
        const seq = base + i + 1;
        this.shadow.push({ seq, record });
        return seq;
      });
    });
  }

  async *shadowByCandidate(candidate: string, q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredShadow> {
    this.check();
    let left = q.limit ?? Infinity;
    for (const s of this.shadow) {
      if (left <= 0) return;
      if (s.record.candidate !== candidate || (q.afterSeq !== undefined && s.seq <= q.afterSeq)) continue;
      left--;
      yield clone(s);
    }
  }

  // --- audit ----------------------------------------------------------------------------------

  appendAudit(row: { ts: string; body: unknown }, expectSeq?: number): Promise<AuditRow> {
    return this.run(() => {
      const seq = this.auditRows.length + 1;
      if (expectSeq !== undefined && expectSeq !== seq) {
        throw new UmbraError(ErrorCode.LOCKED, `audit log moved on: expected to append row ${expectSeq}, the next row is ${seq}`);
      }
      const stored: AuditRow = { seq, ts: row.ts, body: JSON.parse(jsonOf(row.body)) as unknown };
      this.auditRows.push(stored);
      return clone(stored);
    });
  }

  async *audit(q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<AuditRow> {
    this.check();
    let left = q.limit ?? Infinity;
    for (const r of this.auditRows) {
      if (left <= 0) return;
      if (q.afterSeq !== undefined && r.seq <= q.afterSeq) continue;
      left--;
      yield clone(r);
    }
  }

  lastAudit(): Promise<AuditRow | undefined> {
    return this.run(() => {
      const r = this.auditRows[this.auditRows.length - 1];
      return r === undefined ? undefined : clone(r);
    });
  }

  close(): Promise<void> {
    for (let i = this.held.length - 1; i >= 0; i--) this.held[i]!();
    this.held = [];
    this.closed = true;
    return Promise.resolve();
  }
}
