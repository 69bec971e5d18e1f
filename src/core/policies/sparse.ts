/**
 * The sparse learner as a policy (`algorithm: "sparse"`): per-action reward regression on the
 * sparse features (sparse-model.ts), greedy on the estimates (or a softmax of them), wrapped by the
 * one exploration formula of explore.ts, so its distribution is exact and replayable like every
 * other policy's. Actions without training data get the prior (the mean reward so far) and only the
 * exploration share.
 */
import type { PolicySettings } from '../config/policies.js';
import type { Context } from '../events.js';
import type { FeatureMap, SparseRows, SparseVector } from '../features/index.js';
import { ArmScratch, finalDistribution, greedyFromScores, meanReward } from './explore.js';
import { BasePolicy, type Estimates, type Policy, PolicyKind, type TrainingExample, baselineIndex, checkReward } from './policy.js';
import { type SparseArm, type SparseExamples, SparseModel, type SparseTable, decodeTable, encodeTable } from './sparse-model.js';

/** Serialised parameters of a sparse policy. */
export interface SparseParams {
  bits: number;
  shared: boolean;
  arms: { action: string; n: number; sumReward: number; residual: number }[];
  table: SparseTable;
}

/** Largest importance weight after normalisation to mean 1 (documented in docs/learning.md). */
export const MAX_IMPORTANCE_WEIGHT = 20;

/** Importance weights 1/p normalised to mean 1 and capped (unknown propensities weigh like the mean). */
export function importanceWeights(propensities: readonly (number | undefined)[]): Float64Array {
  const w = new Float64Array(propensities.length);
  let sum = 0;
  let known = 0;
  propensities.forEach((p, i) => {
    if (p !== undefined && p > 0) {
      w[i] = 1 / p;
      sum += w[i]!;
      known++;
    }
  });
  const mean = known > 0 ? sum / known : 1;
  for (let i = 0; i < w.length; i++) w[i] = Math.min(MAX_IMPORTANCE_WEIGHT, (w[i] === 0 ? mean : w[i]!) / mean);
  return w;
}

/** Reward regression on sparse features, one weight vector per action in one hashed table. */
export class SparsePolicy extends BasePolicy implements Policy {
  readonly kind = PolicyKind.SPARSE;
  private readonly model: SparseModel;
  private readonly s = new ArmScratch();

  constructor(point: string, settings: PolicySettings, featureMap: FeatureMap) {
    if (settings.algorithm !== 'sparse') throw new RangeError(`not the sparse algorithm: ${settings.algorithm}`);
    super(point, settings, featureMap);
    this.model = new SparseModel(featureMap.bits, settings.shared);
  }

  /** Mean reward over everything learned (the estimate of actions without data), summed in arm order. */
  get priorMean(): number {
    return meanReward(this.model.arms);
  }

  knownActions(): string[] {
    return this.model.arms.filter((a) => a.n > 0).map((a) => a.action);
  }

  probs(context: Context, actions: readonly string[], baseline?: string | undefined): number[] {
    const x = this.featureMap.featurizeSparse(context);
    const k = actions.length;
    this.score(x, actions);
    const s = this.s;
    const have = greedyFromScores(this.settings, k, s, s.g);
    const out = new Array<number>(k);
    finalDistribution(this.settings, k, s, s.g, have, baselineIndex(actions, baseline), out);
    return out;
  }

  estimates(context: Context, actions: readonly string[]): Estimates {
    this.score(this.featureMap.featurizeSparse(context), actions, true);
    return this.s.estimates(actions.length);
  }

  /**
   * Fill the scratch with mean, known and the greedy score (the mean) of each action, and the width
   * when `withWidth` (conservative mode and `estimates` read it; a plain decision does not).
   */
  private score(x: SparseVector, actions: readonly string[], withWidth = this.settings.conservative.enabled): void {
    const k = actions.length;
    const s = this.s;
    s.ensure(k);
    const lambda = this.settings.lambda;
    let priorWidth = -1;
    let priorMean = 0;
    for (let i = 0; i < k; i++) {
      const arm = this.model.arm(actions[i]!);
      if (arm === undefined || arm.n === 0) {
        if (priorWidth < 0) {
          let q = 0;
          for (let t = 0; t < x.n; t++) q += x.val[t]! * x.val[t]!;
          priorWidth = Math.sqrt(q / lambda);
          priorMean = this.priorMean;
        }
        s.known[i] = 0;
        s.mean[i] = priorMean;
        s.width[i] = priorWidth;
        s.score[i] = -Infinity;
        continue;
      }
      const m = this.model.predict(x.idx, x.val, 0, x.n, arm.salt);
      s.known[i] = 1;
      s.mean[i] = m;
      s.width[i] = withWidth ? this.model.width(x.idx, x.val, 0, x.n, arm, lambda) : 0;
      s.score[i] = m;
    }
  }

  update(context: Context, action: string, reward: number): void {
    checkReward(reward);
    const x = this.featureMap.featurizeSparse(context);
    const arm = this.model.armFor(action);
    this.model.step(x.idx, x.val, 0, x.n, arm.salt, reward, 1, this.settings.learning_rate, this.settings.l2);
    arm.n++;
    arm.sumReward += reward;
    this.count++;
  }

  fit(examples: Iterable<TrainingExample>, trainingSeed = 0): void {
    const list = [...examples];
    this.fitRows(
      this.featureMap.featurizeSparseRows(
        list.map((e) => e.context),
        list.length,
      ),
      list,
      trainingSeed,
    );
  }

  /** `fit` with the examples' sparse feature rows already at hand (row k is `list[k]`'s context under this feature map). */
  fitRows(rows: SparseRows, list: readonly TrainingExample[], trainingSeed = 0): void {
    if (rows.n !== list.length) throw new RangeError(`${rows.n} feature rows for ${list.length} examples`);
    for (const e of list) checkReward(e.reward);
    const arms: SparseArm[] = [];
    const index = new Map<string, number>();
    const arm = new Int32Array(list.length);
    list.forEach((e, k) => {
      let a = index.get(e.action);
      if (a === undefined) {
        a = arms.length;
        index.set(e.action, a);
        arms.push(this.model.armFor(e.action));
      }
      arm[k] = a;
    });
    const weight = this.settings.weighting === 'ips' ? importanceWeights(list.map((e) => e.propensity)) : new Float64Array(list.length).fill(1);
    const ex: SparseExamples = { n: list.length, ptr: rows.ptr, idx: rows.idx, val: rows.val, arm, reward: Float64Array.from(list, (e) => e.reward), weight };
    this.model.train(ex, arms, { learningRate: this.settings.learning_rate, l2: this.settings.l2, passes: this.settings.passes, maxUpdates: this.settings.max_updates, seed: trainingSeed });
    this.count += list.length;
  }

  toParams(): SparseParams {
    return {
      bits: this.model.bits,
      shared: this.model.shared,
      arms: this.model.arms.map((a) => ({ action: a.action, n: a.n, sumReward: a.sumReward, residual: a.residual })),
      table: encodeTable(this.model),
    };
  }

  /** Rebuild from serialised parameters (bit-identical weights, so identical probabilities). */
  static fromParams(point: string, settings: PolicySettings, featureMap: FeatureMap, p: SparseParams): SparsePolicy {
    if (p.bits !== featureMap.bits) throw new RangeError(`model table of 2^${p.bits} differs from the feature map's 2^${featureMap.bits}`);
    if (p.shared !== settings.shared) throw new RangeError(`model shared=${p.shared} differs from settings.shared=${settings.shared}`);
    const pol = new SparsePolicy(point, settings, featureMap);
    for (const a of p.arms) {
      pol.model.restoreArm(a);
      pol.count += a.n;
    }
    decodeTable(pol.model, p.table);
    return pol;
  }
}
