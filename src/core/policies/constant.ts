/**
 * The constant policy (`algorithm: "constant"`): one action for every context. With
 * `constant_choice: "best"` it serves the action of best estimated value, each action's value being
 * its self-normalised importance-weighted mean reward on the training window (Σ r/p ÷ Σ 1/p over
 * the events that served it; the plain mean where propensities are unknown), which is the value of
 * "always this action" even when the logger chose actions by context. With `"baseline"` it serves
 * the production rules' choice of each request (the `baseline` argument) and falls back to the best
 * action when a request has none. It is the yardstick model selection must beat, and the safe
 * choice when nothing beats it. Same exploration wrapper, so its distribution is exact.
 */
import type { PolicySettings } from '../config/policies.js';
import type { Context } from '../events.js';
import type { FeatureMap } from '../features/index.js';
import { finalDistribution, greedyFromScores } from './explore.js';
import { BasePolicy, type Estimates, type Policy, PolicyKind, type TrainingExample, baselineIndex, checkReward } from './policy.js';

/** Serialised parameters: per action the weighted sums behind its value. */
export interface ConstantParams {
  choice: 'best' | 'baseline';
  arms: { action: string; n: number; weightedReward: number; weight: number }[];
}

interface Arm {
  n: number;
  weightedReward: number;
  weight: number;
}

/** One action for every context: the best by estimated value, or the rules' own choice. */
export class ConstantPolicy extends BasePolicy implements Policy {
  readonly kind = PolicyKind.CONSTANT;
  private readonly arms = new Map<string, Arm>();

  constructor(point: string, settings: PolicySettings, featureMap: FeatureMap) {
    if (settings.algorithm !== 'constant') throw new RangeError(`not the constant algorithm: ${settings.algorithm}`);
    super(point, settings, featureMap);
  }

  knownActions(): string[] {
    return [...this.arms.entries()].filter(([, a]) => a.n > 0).map(([k]) => k);
  }

  /** The estimated value of an action (undefined without data). */
  value(action: string): number | undefined {
    const a = this.arms.get(action);
    return a === undefined || a.weight <= 0 ? undefined : a.weightedReward / a.weight;
  }

  private numbers(actions: readonly string[]): { known: number[]; mean: number[]; width: number[]; score: number[] } {
    const known: number[] = [];
    const mean: number[] = [];
    const width: number[] = [];
    for (const action of actions) {
      const a = this.arms.get(action);
      const v = this.value(action);
      known.push(v === undefined ? 0 : 1);
      mean.push(v ?? 0);
      // The binomial standard error of the mean on the action's own events.
      width.push(v === undefined || a === undefined ? 1 : Math.sqrt(Math.max(v * (1 - v), 0) / a.n));
    }
    return { known, mean, width, score: mean };
  }

  probs(_context: Context, actions: readonly string[], baseline?: string | undefined): number[] {
    const k = actions.length;
    const nums = this.numbers(actions);
    const g = new Array<number>(k).fill(0);
    const b = baselineIndex(actions, baseline);
    let have: boolean;
    if (this.settings.constant_choice === 'baseline' && b >= 0) {
      g[b] = 1;
      have = true;
    } else {
      have = greedyFromScores(this.settings, k, nums, g);
    }
    const out = new Array<number>(k);
    finalDistribution(this.settings, k, nums, g, have, b, out);
    return out;
  }

  estimates(_context: Context, actions: readonly string[]): Estimates {
    const nums = this.numbers(actions);
    return { mean: nums.mean, width: nums.width, known: nums.known.map((v) => v === 1) };
  }

  update(_context: Context, action: string, reward: number, propensity?: number): void {
    checkReward(reward);
    let a = this.arms.get(action);
    if (a === undefined) {
      a = { n: 0, weightedReward: 0, weight: 0 };
      this.arms.set(action, a);
    }
    const w = propensity !== undefined && propensity > 0 ? 1 / propensity : 1;
    a.n++;
    a.weightedReward += w * reward;
    a.weight += w;
    this.count++;
  }

  fit(examples: Iterable<TrainingExample>): void {
    for (const e of examples) this.update(e.context, e.action, e.reward, e.propensity);
  }

  toParams(): ConstantParams {
    return { choice: this.settings.constant_choice, arms: [...this.arms.entries()].map(([action, a]) => ({ action, ...a })) };
  }

  static fromParams(point: string, settings: PolicySettings, featureMap: FeatureMap, p: ConstantParams): ConstantPolicy {
    const pol = new ConstantPolicy(point, settings, featureMap);
    for (const a of p.arms) {
      pol.arms.set(a.action, { n: a.n, weightedReward: a.weightedReward, weight: a.weight });
      pol.count += a.n;
    }
    return pol;
  }
}
