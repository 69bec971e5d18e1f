/**
 * The seed's five KPIs, defined once (docs/simulator.md) and computed in one pure function so that
 * the simulator, its calibration test, `umbra bootstrap` and `umbra simulate` all agree.
 */
import type { Kpis } from '../events.js';
import { percentile } from '../stats/quantile.js';
import { KpiAccumulator as FactKpis } from '../telemetry/kpis.js';

export { percentile };

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
  /** The one KPI definition (src/core/telemetry/kpis.ts); a request always carries success, cache and latency. */
  private readonly acc = new FactKpis();

  add(r: KpiRow): void {
    this.acc.addSignals(r.success, r.toolCalled ? r.toolOk : undefined, r.cacheHit, r.latencyMs, r.reward);
  }

  /** Number of requests seen. */
  get count(): number {
    return this.acc.count;
  }

  /** The KPIs so far (all null without requests). */
  result(): Kpis {
    return this.acc.result().kpis;
  }
}

/** The KPIs of a set of requests. */
export function computeKpis(rows: Iterable<KpiRow>): Kpis {
  const acc = new KpiAccumulator();
  for (const r of rows) acc.add(r);
  return acc.result();
}
