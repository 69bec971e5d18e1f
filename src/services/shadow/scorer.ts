/**
 * Shadow scoring: every live decision is offered to each shadow candidate, which says what it
 * would have done; the answers are stored as shadow records, apart from production data. Offering
 * is O(1) and never throws, so the production path (ingestion or the decision service) cannot be
 * delayed by it. Scoring runs in its own policy worker with a per-event time budget, one event at
 * a time, under a CPU share limit; a full queue or an exhausted CPU share sheds work, and every
 * shed, error and timeout is counted.
 */
import type { Context, ShadowRecord } from '../../core/events.js';
import type { ShadowLog } from '../../store/port.js';
import type { PolicyHost } from '../policy-host/host.js';
import { isUmbraError, ErrorCode } from '../../core/errors.js';
import { WriteTracker } from '../../platform/write-tracker.js';

/** Shadow records handed to the store and not yet written beyond which new ones are shed. */
const MAX_UNWRITTEN = 50_000;

/** Events scored per message to the policy worker. */
const BATCH = 64;

/** A live decision offered to the shadow. */
export interface ShadowItem {
  id: string;
  point: string;
  context: Context;
  actions: readonly string[];
  baseline?: string;
  /** The action production actually served (for agreement). */
  served?: string;
  ts: string;
}

/** A candidate scoring in the shadow: its version and the points it has policies for (host slots `${version}:${point}`). */
export interface ShadowCandidate {
  version: string;
  points: ReadonlySet<string>;
}

export interface ShadowScorerOptions {
  store: ShadowLog;
  host: PolicyHost;
  /** Bounded queue length. @default 10000 */
  queueSize?: number;
  /**
   * Per-event time budget of a candidate's own compute, ms (measured in the worker; over budget
   * counts as a timeout and the record is dropped). A call that does not return within
   * max(100, 20 × budget) ms of wall time is abandoned (a hang). @default 5
   */
  timeBudgetMs?: number;
  /** Share of one core scoring may use (measured over 1 s windows). @default 0.5 */
  cpuShare?: number;
  /** Hand shadow records to the store every this many ms (small hand-overs keep each one short). @default 50 */
  flushMs?: number;
}

/** Counters of one candidate. */
export interface CandidateStats {
  scored: number;
  errors: number;
  timeouts: number;
  agree: number;
  compared: number;
  /** Sum of the candidate's decision latency, µs. */
  latencyUsSum: number;
}

/** Counters of the scorer. */
export interface ShadowStats {
  offered: number;
  scored: number;
  /** Shed because the queue was full. */
  dropped: number;
  /** Shed because the CPU share was used up. */
  shed: number;
  errors: number;
  timeouts: number;
  writeErrors: number;
  queueDepth: number;
  byCandidate: Record<string, CandidateStats>;
}

/** The shadow scorer (see the module comment). */
export class ShadowScorer {
  private readonly store: ShadowLog;
  private readonly host: PolicyHost;
  private readonly cap: number;
  private readonly budgetMs: number;
  private readonly hangMs: number;
  private readonly cpuShare: number;
  private readonly ring: (ShadowItem | undefined)[];
  private head = 0;
  private size = 0;
  private candidates: ShadowCandidate[] = [];
  private pending: ShadowRecord[] = [];
  private pumping = false;
  private closed = false;
  private windowStart = performance.now();
  private windowBusyMs = 0;
  private readonly flushTimer: NodeJS.Timeout;
  /** Shadow records handed to the store and not yet written. */
  private readonly writes = new WriteTracker();
  readonly stats: ShadowStats = { offered: 0, scored: 0, dropped: 0, shed: 0, errors: 0, timeouts: 0, writeErrors: 0, queueDepth: 0, byCandidate: {} };

  constructor(opts: ShadowScorerOptions) {
    this.store = opts.store;
    this.host = opts.host;
    this.cap = opts.queueSize ?? 10_000;
    this.budgetMs = opts.timeBudgetMs ?? 5;
    this.hangMs = Math.max(100, 20 * this.budgetMs);
    this.cpuShare = opts.cpuShare ?? 0.5;
    this.ring = new Array<ShadowItem | undefined>(this.cap);
    this.flushTimer = setInterval(() => void this.flush(), opts.flushMs ?? 50);
    this.flushTimer.unref();
  }

  /** The candidates to score with (their policies must already be loaded in the host). */
  setCandidates(cands: readonly ShadowCandidate[]): void {
    this.candidates = [...cands];
    for (const c of cands) this.stats.byCandidate[c.version] ??= { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 };
  }

  /** Candidates currently scoring. */
  get active(): readonly ShadowCandidate[] {
    return this.candidates;
  }

  /** Offer a live decision. Never throws, never waits; false when it was shed. */
  offer(item: ShadowItem): boolean {
    this.stats.offered++;
    if (this.closed || this.candidates.length === 0) return false;
    if (!this.candidates.some((c) => c.points.has(item.point))) return false;
    if (this.size >= this.cap) {
      this.stats.dropped++;
      return false;
    }
    this.ring[(this.head + this.size) % this.cap] = item;
    this.size++;
    this.stats.queueDepth = this.size;
    if (!this.pumping) {
      this.pumping = true;
      setImmediate(() => void this.pump());
    }
    return true;
  }

  private take(): ShadowItem | undefined {
    if (this.size === 0) return undefined;
    const it = this.ring[this.head];
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.cap;
    this.size--;
    this.stats.queueDepth = this.size;
    return it;
  }

  /** True when the CPU share of the current 1 s window is used up. */
  private overBudget(): boolean {
    const now = performance.now();
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowBusyMs = 0;
    }
    return this.windowBusyMs >= this.cpuShare * 1000;
  }

  private async pump(): Promise<void> {
    try {
      while (this.size > 0 && !this.closed) {
        // Take a batch; items beyond the CPU share of this window are shed.
        const batch: ShadowItem[] = [];
        while (batch.length < BATCH && this.size > 0) {
          const item = this.take()!;
          if (this.overBudget()) this.stats.shed++;
          else batch.push(item);
        }
        if (batch.length === 0) continue;
        for (const c of this.candidates) {
          const byPoint = new Map<string, ShadowItem[]>();
          for (const it of batch) {
            if (!c.points.has(it.point)) continue;
            const list = byPoint.get(it.point) ?? [];
            list.push(it);
            byPoint.set(it.point, list);
          }
          for (const [point, items] of byPoint) await this.score(c, point, items);
        }
        if (this.pending.length >= 500) void this.flush();
      }
    } finally {
      this.pumping = false;
    }
  }

  /** Score one candidate's batch for one point; account every item. */
  private async score(c: ShadowCandidate, point: string, items: ShadowItem[]): Promise<void> {
    const cs = this.stats.byCandidate[c.version]!;
    const t0 = performance.now();
    try {
      // The budget applies to the candidate's own compute per event, measured inside the worker;
      // the wall-clock deadline only guards against a hang (a loaded machine delays round trips).
      const results = await this.host.decideBatch(
        `${c.version}:${point}`,
        items.map((item) => ({ id: item.id, context: item.context, actions: item.actions, ...(item.baseline === undefined ? {} : { baseline: item.baseline }) })),
        this.hangMs + items.length * this.budgetMs * 2,
      );
      let busyUs = 0;
      results.forEach((r, i) => {
        const item = items[i]!;
        if (!r.ok) {
          this.stats.errors++;
          cs.errors++;
          return;
        }
        const d = r.decision;
        busyUs += d.latencyUs;
        if (d.latencyUs / 1000 > this.budgetMs) {
          this.stats.timeouts++;
          cs.timeouts++;
          return;
        }
        this.stats.scored++;
        cs.scored++;
        cs.latencyUsSum += d.latencyUs;
        if (item.served !== undefined) {
          cs.compared++;
          if (d.action === item.served) cs.agree++;
        }
        this.pending.push({ v: 1, id: item.id, candidate: c.version, action: d.action, probs: d.probs, ts: item.ts, latency_us: d.latencyUs });
      });
      this.windowBusyMs += busyUs / 1000;
    } catch (e) {
      // The whole batch failed (a hang past the guard, a dead worker, no policy).
      const timeout = isUmbraError(e, ErrorCode.TIMEOUT);
      if (timeout) {
        this.stats.timeouts += items.length;
        cs.timeouts += items.length;
      } else {
        this.stats.errors += items.length;
        cs.errors += items.length;
      }
      this.windowBusyMs += performance.now() - t0;
    }
  }

  /**
   * Hand pending shadow records to the store without waiting for earlier hand-overs (a store
   * error is counted, the records dropped). Resolves when everything handed over so far is written.
   */
  flush(): Promise<void> {
    if (this.pending.length === 0) return this.writes.written;
    const batch = this.pending;
    this.pending = [];
    const n = batch.length;
    if (this.writes.unwritten >= MAX_UNWRITTEN) {
      // The store is not keeping up (or stuck): shed rather than grow without bound.
      this.stats.writeErrors += n;
      return this.writes.written;
    }
    return this.writes.track(n, this.append(batch), (ok) => {
      if (!ok) this.stats.writeErrors += n;
    });
  }

  /** Start appending (in a scope of its own: no closure that outlives it sees the records). */
  private append(batch: ShadowRecord[]): Promise<unknown> {
    return WriteTracker.attempt(() => this.store.appendShadow(batch));
  }

  /** Wait until the queue is empty and everything is written. */
  async drain(timeoutMs = 30_000): Promise<void> {
    const until = Date.now() + timeoutMs;
    while ((this.size > 0 || this.pumping) && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    await this.flush();
  }

  /** Stop scoring; writes what was scored. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.flushTimer);
    await this.flush();
  }
}
