/**
 * The five KPIs of the seed (tool precision, success rate, p95 latency, cache hit rate, policy
 * value) from turn facts or episodes, in one streaming pass. Every rate is over the facts that
 * carry the signal, so a log without cache signals reports `cacheHitRate: null`, not 0.
 */
import type { Kpis, OutcomeSignals } from '../events.js';
import type { RewardFunction } from '../reward.js';

/** What a KPI needs of one turn or episode. */
export interface KpiFact {
  outcome: OutcomeSignals;
  /** The reward when already known (episodes); else the reward function is applied to `outcome`. */
  reward?: number;
}

/** The KPIs and the counts behind each of them. */
export interface KpiSummary {
  kpis: Kpis;
  counts: {
    /** Facts seen. */
    facts: number;
    /** Facts with a known `success`. */
    success: number;
    /** Facts with a known `tool_ok` (turns that called a tool). */
    tool: number;
    /** Facts with a latency. */
    latency: number;
    /** Facts with a known cache signal. */
    cache: number;
  };
}

/** Streaming accumulator; `result()` may be called at any time. */
export class KpiAccumulator {
  private readonly reward: RewardFunction;
  private n = 0;
  private nSuccess = 0;
  private okSuccess = 0;
  private nTool = 0;
  private okTool = 0;
  private nCache = 0;
  private hits = 0;
  private rewardSum = 0;
  private lat = new Float64Array(1024);
  private nLat = 0;

  constructor(reward: RewardFunction) {
    this.reward = reward;
  }

  add(f: KpiFact): void {
    const o = f.outcome;
    this.n++;
    if (o.success !== undefined) {
      this.nSuccess++;
      if (o.success) this.okSuccess++;
    }
    if (o.tool_ok !== undefined) {
      this.nTool++;
      if (o.tool_ok) this.okTool++;
    }
    if (o.cache_hit !== undefined) {
      this.nCache++;
      if (o.cache_hit) this.hits++;
    }
    if (o.latency_ms !== undefined) {
      if (this.nLat === this.lat.length) {
        const next = new Float64Array(this.lat.length * 2);
        next.set(this.lat);
        this.lat = next;
      }
      this.lat[this.nLat++] = o.latency_ms;
    }
    this.rewardSum += f.reward ?? this.reward.compute(o);
  }

  result(): KpiSummary {
    return {
      kpis: {
        toolPrecision: this.nTool > 0 ? this.okTool / this.nTool : null,
        successRate: this.nSuccess > 0 ? this.okSuccess / this.nSuccess : null,
        p95LatencyMs: this.nLat > 0 ? percentile(this.lat.subarray(0, this.nLat), 0.95) : null,
        cacheHitRate: this.nCache > 0 ? this.hits / this.nCache : null,
        policyValue: this.n > 0 ? this.rewardSum / this.n : null,
      },
      counts: { facts: this.n, success: this.nSuccess, tool: this.nTool, latency: this.nLat, cache: this.nCache },
    };
  }
}

/** Nearest-rank percentile (the smallest value with at least `q` of the data at or below it). */
export function percentile(xs: Float64Array, q: number): number {
  const s = Float64Array.from(xs).sort();
  const rank = Math.max(1, Math.ceil(q * s.length));
  return s[rank - 1]!;
}

/**
 * The KPIs of a set of turn facts or episodes:
 * - `toolPrecision`: share of facts with `tool_ok` true among those with a known `tool_ok`;
 * - `successRate`: share with `success` true among those with a known `success`;
 * - `p95LatencyMs`: nearest-rank 95th percentile of `latency_ms`;
 * - `cacheHitRate`: hits among facts with a known cache signal;
 * - `policyValue`: mean reward (the fact's reward, else the reward function of its outcome).
 * A KPI without any fact carrying its signal is null.
 */
export function computeKpis(facts: Iterable<KpiFact>, reward: RewardFunction): KpiSummary {
  const acc = new KpiAccumulator(reward);
  for (const f of facts) acc.add(f);
  return acc.result();
}
