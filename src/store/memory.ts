/**
 * The in-memory adapter of the store port: the same guarantees as SQLite without a file. Used by
 * `loadLog` (commands that read a log file directly), by tests, and as the reference that shows
 * the port does not depend on SQL. Values are copied in and out, so callers never alias its state.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { DecisionEvent, ShadowRecord } from '../core/events.js';
import { fillDecision, fillTurn, mergeOutcome, nextPending, resolveDecision, type OutcomeState } from '../core/telemetry/merge.js';
import { SESSION_DEPTH_KEY, type OutcomeUpdate, type StoredTurn, type TurnFact } from '../core/telemetry/types.js';
import {
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
import { toEvent, toTurn } from './codec.js';
import { jsonOf } from './rows.js';

interface DecisionSlot {
  seq: number;
  tsMs: number;
  event: DecisionEvent;
}

interface OutcomeSlot {
  state: OutcomeState;
  pending: number;
}

const clone = <T>(v: T): T => structuredClone(v);

/** The in-memory store. */
export class MemoryStore implements Store {
  readonly kind = 'memory';
  private closed = false;
  private seq = 0;
  private readonly decisionList: DecisionSlot[] = [];
  private readonly decisionById = new Map<string, DecisionSlot>();
  private readonly turnById = new Map<string, StoredTurn & { tsMs: number }>();
  private readonly sessions = new Map<string, number>();
  private readonly outcomes = new Map<string, OutcomeSlot>();
  private readonly quarantineRows: StoredQuarantine[] = [];
  private qSeq = 0;
  private readonly checkpointMap = new Map<string, Checkpoint>();
  private readonly state = new Map<string, { json: string; version: number; updatedAt: string }>();
  private readonly shadow: StoredShadow[] = [];
  private readonly auditRows: AuditRow[] = [];
  /** Undo steps of held batches (see `WriteBatch.hold`). */
  private held: (() => void)[] = [];

  private check(): void {
    if (this.closed) throw new UmbraError(ErrorCode.STORE, 'store is closed');
  }

  private run<T>(fn: () => T): Promise<T> {
    try {
      this.check();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof UmbraError ? e : new UmbraError(ErrorCode.STORE, `memory store failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e }));
    }
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
    for (const c of b.checkpoints ?? []) {
      const prev = this.checkpointMap.get(c.source);
      this.checkpointMap.set(c.source, { ...c });
      undo.push(() => (prev === undefined ? this.checkpointMap.delete(c.source) : this.checkpointMap.set(c.source, prev)));
    }
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

  /** Insert or fill a turn; its session depth (null without session). */
  private applyTurn(t: TurnFact, r: WriteResult, undo: (() => void)[]): number | null {
    const existing = this.turnById.get(t.id);
    if (existing === undefined) {
      let depth: number | null = null;
      if (t.session !== undefined) {
        const session = t.session;
        const prev = this.sessions.get(session);
        depth = (prev ?? 0) + 1;
        this.sessions.set(session, depth);
        undo.push(() => (prev === undefined ? this.sessions.delete(session) : this.sessions.set(session, prev)));
      }
      this.turnById.set(t.id, { ...clone(t), sessionDepth: depth, tsMs: Date.parse(t.ts) });
      undo.push(() => this.turnById.delete(t.id));
      r.turnsInserted++;
      return depth;
    }
    r.turnDuplicates++;
    const filled = fillTurn(existing, t);
    if (filled !== undefined) {
      this.turnById.set(t.id, { ...clone(filled), sessionDepth: existing.sessionDepth, tsMs: existing.tsMs });
      undo.push(() => this.turnById.set(t.id, existing));
    }
    return existing.sessionDepth;
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
      const o = this.outcomes.get(e.id);
      if (o !== undefined && o.pending !== 0) {
        const pending = o.pending;
        r.outcomesJoined += Math.abs(pending);
        o.pending = 0;
        undo.push(() => (o.pending = pending));
      }
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

  private applyOutcome(u: OutcomeUpdate, r: WriteResult, undo: (() => void)[]): void {
    const prev = this.outcomes.get(u.id);
    const joined = this.decisionById.has(u.id);
    const next: OutcomeSlot = { state: mergeOutcome(prev?.state, clone(u)), pending: joined ? 0 : nextPending(prev?.pending ?? 0, u.companion === true) };
    this.outcomes.set(u.id, next);
    undo.push(() => (prev === undefined ? this.outcomes.delete(u.id) : this.outcomes.set(u.id, prev)));
    r.outcomes++;
    if (joined) r.outcomesJoined++;
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

  getOutcome(id: string): Promise<OutcomeState | undefined> {
    return this.run(() => {
      const o = this.outcomes.get(id);
      return o === undefined ? undefined : clone(o.state);
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

  getTurn(id: string): Promise<StoredTurn | undefined> {
    return this.run(() => {
      const t = this.turnById.get(id);
      return t === undefined ? undefined : stripTs(t);
    });
  }

  async *turns(q: TurnQuery = {}): AsyncIterable<StoredTurn> {
    this.check();
    const from = boundMs(q.from) ?? -Infinity;
    const to = boundMs(q.to) ?? Infinity;
    const rows = [...this.turnById.values()].filter((t) => t.tsMs >= from && t.tsMs < to);
    let left = q.limit ?? Infinity;
    for (const t of rows) {
      if (left-- <= 0) return;
      yield stripTs(t);
    }
  }

  sessionTurns(session: string): Promise<number> {
    return this.run(() => this.sessions.get(session) ?? 0);
  }

  async *quarantine(q: { source?: string; reason?: string; afterSeq?: number; limit?: number } = {}): AsyncIterable<StoredQuarantine> {
    this.check();
    let left = q.limit ?? Infinity;
    for (const row of this.quarantineRows) {
      if (left <= 0) return;
      if (q.afterSeq !== undefined && row.seq <= q.afterSeq) continue;
      if (q.source !== undefined && row.source !== q.source) continue;
      if (q.reason !== undefined && row.reason !== q.reason) continue;
      left--;
      yield { ...row };
    }
  }

  quarantineCounts(): Promise<Record<string, number>> {
    return this.run(() => {
      const out: Record<string, number> = {};
      for (const r of this.quarantineRows) out[r.reason] = (out[r.reason] ?? 0) + 1;
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
    });
  }

  getCheckpoint(source: string): Promise<Checkpoint | undefined> {
    return this.run(() => {
      const c = this.checkpointMap.get(source);
      return c === undefined ? undefined : { ...c };
    });
  }

  listCheckpoints(): Promise<Checkpoint[]> {
    return this.run(() => [...this.checkpointMap.values()].sort((a, b) => (a.source < b.source ? -1 : 1)).map((c) => ({ ...c })));
  }

  counts(): Promise<StoreCounts> {
    return this.run(() => {
      const byPoint: Record<string, number> = {};
      for (const s of this.decisionList) byPoint[s.event.point] = (byPoint[s.event.point] ?? 0) + 1;
      let pending = 0;
      for (const o of this.outcomes.values()) if (o.pending > 0) pending++;
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

function stripTs(t: StoredTurn & { tsMs: number }): StoredTurn {
  const { tsMs: _ms, ...rest } = t;
  return clone(rest);
}
