/**
 * The seed's five KPIs, defined once (docs/simulator.md) and computed in one pure function so that
 * the simulator, its calibration test, `umbra bootstrap` and `umbra simulate` all agree.
 */
import type { Kpis } from '../events.js';

/** What one request contributes to the KPIs. */
export interface KpiRow {
  /** The request succeeded (the canonical `success` signal). */
  success: boolean;
  /** End-to-end latency of the request in milliseconds. */
  latencyMs: number;
  /** The answer came from the cache. */
  cacheHit: boolean;
  /** A tool was called for this request (it needed one and the model path ran with tools). */
  toolCalled: boolean;
  /** ... and it was the right tool for the request's intent (its call may still have failed). */
  toolRight: boolean;
  /**
   * ... and the call produced what the request needed: the right tool, and it returned. This is
   * the `tool_ok` signal the simulator emits, and what `toolPrecision` counts.
   */
  toolOk: boolean;
  /** The request's reward under the reward function in use. */
  reward: number;
}

/**
 * Streaming KPI accumulator (latencies are kept to compute the exact p95).
 *
 * - successRate: share of requests with success.
 * - p95LatencyMs: nearest-rank 95th percentile of end-to-end latency (the ⌈0.95·n⌉-th smallest).
 * - cacheHitRate: share of requests answered from the cache.
 * - toolPrecision: among requests that called a tool, the share whose call was ok (`tool_ok`: the
 *   right tool, and it returned), exactly as the store's KPIs count it (null without tool calls).
 * - policyValue: mean reward per request.
 */
export class KpiAccumulator {
  private n = 0;
  private succ = 0;
  private hits = 0;
  private toolN = 0;
  private toolOk = 0;
  private rewardSum = 0;
  private lat: Float64Array = new Float64Array(1024);

  add(r: KpiRow): void {
    if (this.n === this.lat.length) {
      const next = new Float64Array(this.lat.length * 2);
      next.set(this.lat);
      this.lat = next;
    }
    this.lat[this.n] = r.latencyMs;
    this.n++;
    if (r.success) this.succ++;
    if (r.cacheHit) this.hits++;
    if (r.toolCalled) {
      this.toolN++;
      if (r.toolOk) this.toolOk++;
    }
    this.rewardSum += r.reward;
  }

  /** Number of requests seen. */
  get count(): number {
    return this.n;
  }

  /** The KPIs so far (all null without requests). */
  result(): Kpis {
    if (this.n === 0) return { toolPrecision: null, successRate: null, p95LatencyMs: null, cacheHitRate: null, policyValue: null };
    return {
      toolPrecision: this.toolN === 0 ? null : this.toolOk / this.toolN,
      successRate: this.succ / this.n,
      p95LatencyMs: percentile(this.lat.subarray(0, this.n), 0.95),
      cacheHitRate: this.hits / this.n,
      policyValue: this.rewardSum / this.n,
    };
  }
}

/** Nearest-rank percentile: the ⌈q·n⌉-th smallest value (copies; does not reorder the input). */
export function percentile(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const k = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return s[k - 1]!;
}

/** The KPIs of a set of requests. */
export function computeKpis(rows: Iterable<KpiRow>): Kpis {
  const acc = new KpiAccumulator();
  for (const r of rows) acc.add(r);
  return acc.result();
}
