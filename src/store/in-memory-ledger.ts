/**
 * What the two in-memory adapters (memory.ts, table/decision-table.ts) keep alike beside their
 * decisions: turns with their session depths, merged outcomes with the updates still waiting for
 * their decision, quarantined lines and checkpoints. The port's rules for writing them (each change
 * with its undo step, for held batches) and the reads of them live here once; each adapter says how
 * it copies what it takes in and hands out, and how it finds a decision.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import { fillTurn, mergeOutcome, nextPending, type OutcomeState } from '../core/telemetry/merge.js';
import type { OutcomeUpdate, StoredTurn, TurnFact } from '../core/telemetry/types.js';
import { boundMs, type Checkpoint, type StoredQuarantine, type TurnQuery, type WriteResult } from './port.js';

/** A merged outcome and how many updates wait for their decision (negative: companions only). */
export interface OutcomeSlot {
  state: OutcomeState;
  pending: number;
}

/** Undo steps of a batch, run in reverse on a failure. */
export type Undo = (() => void)[];

/** Turns, sessions, outcomes, quarantine and checkpoints of an in-memory adapter (see the module comment). */
export abstract class InMemoryLedger {
  protected closed = false;
  protected readonly outcomes = new Map<string, OutcomeSlot>();
  protected readonly turnById = new Map<string, StoredTurn & { tsMs: number }>();
  protected readonly sessions = new Map<string, number>();
  protected readonly quarantineRows: StoredQuarantine[] = [];
  protected readonly checkpointMap = new Map<string, Checkpoint>();
  /** The adapter's name in error messages ("memory store", "decision table"). */
  private readonly failureName: string;
  private readonly closedMessage: string;

  protected constructor(failureName: string, closedMessage: string) {
    this.failureName = failureName;
    this.closedMessage = closedMessage;
  }

  /** Whether a decision with this id is stored. */
  protected abstract hasDecision(id: string): boolean;

  /** The adapter's copy of a turn it takes in or hands out. */
  protected abstract copyTurn<T extends TurnFact>(t: T): T;

  /** The adapter's copy of an outcome update it keeps. */
  protected abstract copyUpdate(u: OutcomeUpdate): OutcomeUpdate;

  protected check(): void {
    if (this.closed) throw new UmbraError(ErrorCode.STORE, this.closedMessage);
  }

  protected run<T>(fn: () => T): Promise<T> {
    try {
      this.check();
      return Promise.resolve(fn());
    } catch (e) {
      return Promise.reject(e instanceof UmbraError ? e : new UmbraError(ErrorCode.STORE, `${this.failureName} failed: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e }));
    }
  }

  // --- writing -----------------------------------------------------------------------------------

  /** Insert or fill a turn; its session depth (null without session). */
  protected applyTurn(t: TurnFact, r: WriteResult, undo: Undo): number | null {
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
      this.turnById.set(t.id, { ...this.copyTurn(t), sessionDepth: depth, tsMs: Date.parse(t.ts) });
      undo.push(() => this.turnById.delete(t.id));
      r.turnsInserted++;
      return depth;
    }
    r.turnDuplicates++;
    const filled = fillTurn(existing, t);
    if (filled !== undefined) {
      this.turnById.set(t.id, { ...this.copyTurn(filled), sessionDepth: existing.sessionDepth, tsMs: existing.tsMs });
      undo.push(() => this.turnById.set(t.id, existing));
    }
    return existing.sessionDepth;
  }

  /** A decision was inserted: the outcome updates that waited for it join it. */
  protected joinWaiting(id: string, r: WriteResult, undo: Undo): void {
    const o = this.outcomes.get(id);
    if (o !== undefined && o.pending !== 0) {
      const pending = o.pending;
      r.outcomesJoined += Math.abs(pending);
      o.pending = 0;
      undo.push(() => (o.pending = pending));
    }
  }

  /** Merge an outcome update (it waits when its decision is not stored yet). */
  protected applyOutcome(u: OutcomeUpdate, r: WriteResult, undo: Undo): void {
    const prev = this.outcomes.get(u.id);
    const joined = this.hasDecision(u.id);
    const next: OutcomeSlot = { state: mergeOutcome(prev?.state, this.copyUpdate(u)), pending: joined ? 0 : nextPending(prev?.pending ?? 0, u.companion === true) };
    this.outcomes.set(u.id, next);
    undo.push(() => (prev === undefined ? this.outcomes.delete(u.id) : this.outcomes.set(u.id, prev)));
    r.outcomes++;
    if (joined) r.outcomesJoined++;
  }

  /** Set checkpoints (each replaces its source's). */
  protected applyCheckpoints(checkpoints: readonly Checkpoint[], undo: Undo): void {
    for (const c of checkpoints) {
      const prev = this.checkpointMap.get(c.source);
      this.checkpointMap.set(c.source, { ...c });
      undo.push(() => (prev === undefined ? this.checkpointMap.delete(c.source) : this.checkpointMap.set(c.source, prev)));
    }
  }

  /** Outcome updates waiting for their decision (companions alone do not count). */
  protected pendingOutcomes(): number {
    let pending = 0;
    for (const o of this.outcomes.values()) if (o.pending > 0) pending++;
    return pending;
  }

  // --- reading -----------------------------------------------------------------------------------

  getOutcome(id: string): Promise<OutcomeState | undefined> {
    return this.run(() => {
      const o = this.outcomes.get(id);
      return o === undefined ? undefined : structuredClone(o.state);
    });
  }

  getTurn(id: string): Promise<StoredTurn | undefined> {
    return this.run(() => {
      const t = this.turnById.get(id);
      return t === undefined ? undefined : this.publicTurn(t);
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
      yield this.publicTurn(t);
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

  /** A stored turn as handed out: without its parsed time, copied. */
  private publicTurn(t: StoredTurn & { tsMs: number }): StoredTurn {
    const { tsMs: _ms, ...rest } = t;
    return this.copyTurn(rest);
  }
}
