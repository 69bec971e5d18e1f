/**
 * The decision table: a lean in-memory adapter of the event writer, event reader and ingest ledger
 * roles, for commands that read a log file once (`umbra ope`, `umbra pipeline`). It keeps the
 * store's rules exactly (port.ts: first-wins filling of duplicates, later-wins outcome merging in
 * either arrival order, session depths, atomic and held batches) but stores decisions in columns:
 * typed arrays for times, actions, propensities, probabilities and rewards, interned strings for
 * points, action lists and policies, and the context object itself. With `owned`, the events handed
 * in are taken over as they are (the reader made them and drops them), so nothing is copied; the
 * contract suite runs it with copies, like every adapter.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { DecisionEvent, OutcomeSignals } from '../../core/events.js';
import { fillDecision, resolveDecision, type OutcomeState } from '../../core/telemetry/merge.js';
import { SESSION_DEPTH_KEY, type OutcomeUpdate, type TurnFact } from '../../core/telemetry/types.js';
import type { RewardFunction } from '../../core/reward.js';
import { toEvent, toTurn } from '../codec.js';
import { InMemoryLedger } from '../in-memory-ledger.js';
import {
  boundMs,
  type DecisionQuery,
  type Episode,
  type EpisodeQuery,
  type EventReader,
  type EventWriter,
  type IngestLedger,
  type RecordInsert,
  type StoreCounts,
  type StoredDecision,
  type WriteBatch,
  type WriteResult,
} from '../port.js';
import { DecisionRows } from './decision-rows.js';

/** Options of a decision table. */
export interface DecisionTableOptions {
  /**
   * Take the events, contexts and outcomes handed to `writeBatch` as they are, and hand out the
   * stored ones on reads, without copies. Only for a caller that owns what it writes and does not
   * change what it reads (the log readers). @default false
   */
  owned?: boolean;
}

/** State saved when a batch is held, to drop it (and every held batch after it) on a failure. */
interface Savepoint {
  rows: number;
  probs: number;
  quarantine: number;
  undo: (() => void)[];
}

/** Rewards resolved for the table's decisions (see `DecisionTable.resolve`); aligned by position. */
export interface ResolvedRows {
  /** Table rows kept, in insertion order (pending decisions are left out). */
  rows: Int32Array;
  reward: Float64Array;
  /** 1 when the reward is the configured default (no outcome arrived in time). */
  defaulted: Uint8Array;
  /** The merged outcome's success: 1, 0, or -1 when unknown. */
  success: Int8Array;
}

const SIGNAL_KEYS = ['success', 'tool_ok', 'latency_ms', 'cost_usd', 'cache_hit', 'guard_flag', 'feedback'] as const;

function hasSignal(o: OutcomeSignals): boolean {
  for (const k of SIGNAL_KEYS) if (o[k] !== undefined) return true;
  return false;
}

/** The signals of an outcome state that are set (later updates win over the decision's own). */
function definedSignals(o: OutcomeSignals): OutcomeSignals {
  const out: Record<string, unknown> = {};
  for (const k of SIGNAL_KEYS) if (o[k] !== undefined) out[k] = o[k];
  return out as OutcomeSignals;
}

/** A context value the store accepts: a string, a finite number, a boolean or null. */
function isContextValue(v: unknown): boolean {
  return v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));
}

/** The columnar decision table (see the module comment). */
export class DecisionTable extends InMemoryLedger implements EventWriter, EventReader, IngestLedger {
  readonly kind = 'table';
  private readonly owned: boolean;

  /** The decisions, one row each in insertion order: the columns readers work on. */
  readonly rows: DecisionRows;

  // Everything else (turns, sessions, outcomes, quarantine, checkpoints) as the memory adapter keeps it.
  private savepoint: Savepoint | undefined;

  constructor(options: DecisionTableOptions = {}) {
    super('decision table', 'the decision table is closed');
    this.owned = options.owned === true;
    this.rows = new DecisionRows(this.owned);
  }

  protected hasDecision(id: string): boolean {
    return this.rows.rowOf(id) >= 0;
  }

  protected copyTurn<T extends TurnFact>(t: T): T {
    return { ...t, outcome: { ...t.outcome } };
  }

  protected copyUpdate(u: OutcomeUpdate): OutcomeUpdate {
    return this.owned ? u : { ...u, ...(u.outcome === undefined ? {} : { outcome: { ...u.outcome } }) };
  }

  /** Decisions stored. */
  get size(): number {
    return this.rows.size;
  }

  /**
   * Every decision's reward resolved as `episodes` resolves it (explicit reward, else the reward
   * function of the merged outcome, else the default after the wait, else pending and left out),
   * in columns: the rows kept (insertion order), their rewards, whether each was defaulted, and
   * the merged outcome's success (1, 0, or -1 when unknown).
   */
  resolve(nowMs: number, reward: RewardFunction): ResolvedRows {
    const n = this.size;
    const rows = new Int32Array(n);
    const rewards = new Float64Array(n);
    const defaulted = new Uint8Array(n);
    const success = new Int8Array(n);
    let m = 0;
    for (let row = 0; row < n; row++) {
      const state = this.outcomes.size > 0 ? this.outcomes.get(this.rows.idAt(row))?.state : undefined;
      const own = this.rows.outcomeAt(row);
      let merged = own;
      if (state !== undefined) merged = { ...own, ...definedSignals(state.outcome) };
      let r = state?.reward ?? NaN;
      if (Number.isNaN(r)) r = this.rows.rewardAt(row);
      let isDefault = false;
      if (Number.isNaN(r)) {
        if (merged !== undefined && hasSignal(merged)) r = reward.compute(merged);
        else if ((nowMs - this.rows.tsMsAt(row)) / 1000 >= reward.defaultAfterS) {
          r = reward.defaultReward;
          isDefault = true;
        } else continue;
      }
      rows[m] = row;
      rewards[m] = r;
      defaulted[m] = isDefault ? 1 : 0;
      success[m] = merged?.success === undefined ? -1 : merged.success ? 1 : 0;
      m++;
    }
    return { rows: rows.subarray(0, m), reward: rewards.subarray(0, m), defaulted: defaulted.subarray(0, m), success: success.subarray(0, m) };
  }

  /** The merged outcome state of a decision id (outcome updates), if any. */
  outcomeStateOf(id: string): OutcomeState | undefined {
    return this.outcomes.get(id)?.state;
  }

  // --- writing -----------------------------------------------------------------------------------

  writeBatch(batch: WriteBatch): Promise<WriteResult> {
    return this.run(() => {
      const events = this.validate(batch);
      this.savepoint ??= { rows: this.size, probs: this.rows.probsUsed, quarantine: this.quarantineRows.length, undo: [] };
      const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
      const undo = this.savepoint.undo;
      const records = batch.records ?? [];
      for (let i = 0; i < records.length; i++) this.applyRecord(records[i]!, events[i]!, r, undo);
      for (const u of batch.outcomes ?? []) this.applyOutcome(u, r, undo);
      const at = new Date().toISOString();
      for (const q of batch.quarantine ?? []) {
        this.quarantineRows.push({ ...q, seq: this.quarantineRows.length + 1, at });
        r.quarantined++;
      }
      this.applyCheckpoints(batch.checkpoints ?? [], undo);
      if (batch.hold !== true) this.savepoint = undefined;
      return r;
    }).catch((e: unknown) => {
      this.rollback();
      throw e;
    });
  }

  discardHeld(): Promise<void> {
    return this.run(() => this.rollback());
  }

  /**
   * Every decision of a batch as an event, checked before anything of it is applied (a failing
   * batch leaves no trace). An owning caller hands in events its mapping already validated.
   */
  private validate(batch: WriteBatch): DecisionEvent[][] {
    const records = batch.records ?? [];
    const out: DecisionEvent[][] = new Array<DecisionEvent[]>(records.length);
    for (let i = 0; i < records.length; i++) {
      const ds = records[i]!.decisions;
      const events = new Array<DecisionEvent>(ds.length);
      for (let j = 0; j < ds.length; j++) {
        const e = toEvent(ds[j]!);
        if (!this.owned) {
          for (const k in e.context) {
            if (!isContextValue(e.context[k])) throw new UmbraError(ErrorCode.STORE, `decision ${e.id}: context value ${k} is not a string, a finite number, a boolean or null`);
          }
          if (!e.actions.includes(e.action)) throw new UmbraError(ErrorCode.STORE, `decision ${e.id}: action ${e.action} is not one of its actions`);
        }
        events[j] = e;
      }
      out[i] = events;
    }
    return out;
  }

  /** Drop everything since the first held batch (or the failed batch). */
  private rollback(): void {
    const sp = this.savepoint;
    this.savepoint = undefined;
    if (sp === undefined) return;
    for (let i = sp.undo.length - 1; i >= 0; i--) sp.undo[i]!();
    this.rows.truncate(sp.rows, sp.probs);
    this.quarantineRows.length = sp.quarantine;
  }

  private applyRecord(rec: RecordInsert, events: DecisionEvent[], r: WriteResult, undo: (() => void)[]): void {
    const t = rec.turn;
    const own = t === undefined ? undefined : events.find((d) => d.id === t.id);
    const depth = t === undefined ? null : this.applyTurn(toTurn(t, own), r, undo);
    for (const e of events) {
      const withDepth = depth !== null && e.context[SESSION_DEPTH_KEY] !== depth ? { ...e, context: { ...e.context, [SESSION_DEPTH_KEY]: depth } } : e;
      this.applyDecision(withDepth, r, undo);
    }
  }

  private applyDecision(e: DecisionEvent, r: WriteResult, undo: (() => void)[]): void {
    const row = this.rows.rowOf(e.id);
    if (row < 0) {
      this.rows.append(e);
      r.inserted++;
      this.joinWaiting(e.id, r, undo);
      return;
    }
    r.duplicates++;
    const before = this.rows.eventAt(row);
    const filled = fillDecision(before, e);
    if (filled !== undefined) {
      const snapshot = { ...before, context: before.context };
      this.rows.overwrite(row, filled);
      undo.push(() => this.rows.overwrite(row, snapshot));
      r.filled++;
    }
  }

  // --- reading -----------------------------------------------------------------------------------

  getDecision(id: string): Promise<StoredDecision | undefined> {
    return this.run(() => {
      const row = this.rows.rowOf(id);
      return row < 0 ? undefined : { seq: row + 1, event: this.rows.eventAt(row) };
    });
  }

  private matches(row: number, q: Omit<DecisionQuery, 'limit'>): boolean {
    if (q.afterSeq !== undefined && row + 1 <= q.afterSeq) return false;
    if (q.point !== undefined && this.rows.pointAt(row) !== q.point) return false;
    const from = boundMs(q.from);
    const t = this.rows.tsMsAt(row);
    if (from !== undefined && t < from) return false;
    const to = boundMs(q.to);
    if (to !== undefined && t >= to) return false;
    return true;
  }

  async *decisions(q: DecisionQuery = {}): AsyncIterable<StoredDecision> {
    this.check();
    let left = q.limit ?? Infinity;
    for (let row = Math.max(0, q.afterSeq ?? 0); row < this.size && left > 0; row++) {
      if (!this.matches(row, q)) continue;
      left--;
      yield { seq: row + 1, event: this.rows.eventAt(row) };
    }
  }

  countDecisions(q: Omit<DecisionQuery, 'limit'> = {}): Promise<number> {
    return this.run(() => {
      let n = 0;
      for (let row = Math.max(0, q.afterSeq ?? 0); row < this.size; row++) if (this.matches(row, q)) n++;
      return n;
    });
  }

  async *episodes(q: EpisodeQuery): AsyncIterable<Episode> {
    this.check();
    const nowMs = typeof q.now === 'number' ? q.now : q.now.getTime();
    let left = q.limit ?? Infinity;
    for (let row = Math.max(0, q.afterSeq ?? 0); row < this.size && left > 0; row++) {
      if (!this.matches(row, q)) continue;
      const e = this.rows.eventAt(row);
      const res = resolveDecision(e, this.outcomes.get(e.id)?.state, q.reward, nowMs);
      if (res === undefined) continue;
      left--;
      yield { seq: row + 1, event: res.event, reward: res.reward, defaulted: res.defaulted, source: res.source };
    }
  }

  counts(): Promise<StoreCounts> {
    return this.run(() => {
      const byPoint: Record<string, number> = {};
      for (let row = 0; row < this.size; row++) {
        const p = this.rows.pointAt(row);
        byPoint[p] = (byPoint[p] ?? 0) + 1;
      }
      const pending = this.pendingOutcomes();
      return { decisions: this.size, byPoint, turns: this.turnById.size, outcomes: this.outcomes.size, outcomesPending: pending, quarantined: this.quarantineRows.length, sessions: this.sessions.size, shadow: 0, audit: 0 };
    });
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
