/**
 * The five KPIs of the seed (tool precision, success rate, p95 latency, cache hit rate, policy
 * value) from turn facts or episodes, in one streaming pass. Every rate is over the facts that
 * carry the signal, so a log without cache signals reports `cacheHitRate: null`, not 0.
 */
import type { Kpis, OutcomeSignals } from '../events.js';
import type { RewardFunction } from '../reward.js';
import { SampleBuffer, percentile } from '../stats/quantile.js';

export { percentile };

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
  private readonly reward: RewardFunction | undefined;
  private n = 0;
  private nSuccess = 0;
  private okSuccess = 0;
  private nTool = 0;
  private okTool = 0;
  private nCache = 0;
  private hits = 0;
  private rewardSum = 0;
  private readonly lat = new SampleBuffer();

  /** `reward` computes the reward of facts that do not carry one (omit it when all do). */
  constructor(reward?: RewardFunction) {
    this.reward = reward;
  }

  add(f: KpiFact): void {
    const o = f.outcome;
    let reward = f.reward;
    if (reward === undefined) {
      if (this.reward === undefined) throw new RangeError('a KPI fact without a reward needs the accumulator to have a reward function');
      reward = this.reward.compute(o);
    }
    this.addSignals(o.success, o.tool_ok, o.cache_hit, o.latency_ms, reward);
  }

  /** One fact as its signals (undefined: the fact does not carry it), without building an object. */
  addSignals(success: boolean | undefined, toolOk: boolean | undefined, cacheHit: boolean | undefined, latencyMs: number | undefined, reward: number): void {
    this.n++;
    if (success !== undefined) {
      this.nSuccess++;
      if (success) this.okSuccess++;
    }
    if (toolOk !== undefined) {
      this.nTool++;
      if (toolOk) this.okTool++;
    }
    if (cacheHit !== undefined) {
      this.nCache++;
      if (cacheHit) this.hits++;
    }
    if (latencyMs !== undefined) this.lat.push(latencyMs);
    this.rewardSum += reward;
  }

  /** Facts seen. */
  get count(): number {
    return this.n;
  }

  result(): KpiSummary {
    return {
      kpis: {
        toolPrecision: this.nTool > 0 ? this.okTool / this.nTool : null,
        successRate: this.nSuccess > 0 ? this.okSuccess / this.nSuccess : null,
        p95LatencyMs: this.lat.count > 0 ? this.lat.percentile(0.95) : null,
        cacheHitRate: this.nCache > 0 ? this.hits / this.nCache : null,
        policyValue: this.n > 0 ? this.rewardSum / this.n : null,
      },
      counts: { facts: this.n, success: this.nSuccess, tool: this.nTool, latency: this.lat.count, cache: this.nCache },
    };
  }
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
