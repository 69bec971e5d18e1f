/**
 * Disjoint linear policies over the shared feature map: one ridge arm per action (created when the
 * action is first learned). Two scoring rules share the arms:
 * - `linucb`: greedy score = θ_aᵀx + alpha · sqrt(xᵀA_a⁻¹x), wrapped by epsilon-greedy or softmax;
 * - `lints`: linear Thompson sampling with θ_a ~ N(θ̂_a, v² A_a⁻¹). Disjoint arms make the sampled
 *   scores independent normals N(θ̂_aᵀx, v² xᵀA_a⁻¹x), so the probability of each action being the
 *   best is a one-dimensional integral, computed by quadrature (`probMaxNormal`): exact up to
 *   quadrature error and deterministic, so the served distribution is known exactly.
 * Scratch buffers are reused so scoring a context allocates only the returned arrays.
 */
import type { PolicySettings } from '../config/policies.js';
import type { Context } from '../events.js';
import type { FeatureMap } from '../features/index.js';
import { ArmScratch, finalDistribution, greedyFromScores, meanReward } from './explore.js';
import { dot, quadForm } from './linalg.js';
import { BasePolicy, type Estimates, type Policy, PolicyKind, type TrainingExample, baselineIndex, checkReward } from './policy.js';
import { ProbMaxScratch, probMaxNormal } from './probmax.js';
import { RidgeArm, type RidgeArmState } from './ridge.js';

/** Serialised parameters of a linear policy. */
export interface LinearParams {
  d: number;
  lambda: number;
  arms: ({ action: string } & RidgeArmState)[];
}

/** Per-call scratch sized to the largest action list seen, with the ridge arm of each action. */
class Scratch extends ArmScratch {
  arms: (RidgeArm | undefined)[] = [];
}

/** LinUCB or linear Thompson sampling with disjoint ridge arms. */
export class LinearPolicy extends BasePolicy implements Policy {
  readonly kind: typeof PolicyKind.LINUCB | typeof PolicyKind.LINTS;
  private readonly arms = new Map<string, RidgeArm>();
  private readonly x: Float64Array;
  private readonly s = new Scratch();
  private readonly pm = new ProbMaxScratch();

  constructor(point: string, settings: PolicySettings, featureMap: FeatureMap) {
    if (settings.algorithm !== 'linucb' && settings.algorithm !== 'lints') throw new RangeError(`not a linear algorithm: ${settings.algorithm}`);
    super(point, settings, featureMap);
    this.kind = settings.algorithm;
    this.x = featureMap.vector();
  }

  /**
   * Mean reward over everything learned (the prior estimate of actions without data), summed per arm
   * in arm order so that a reloaded policy computes the same number bit for bit.
   */
  get priorMean(): number {
    return meanReward(this.arms.values());
  }

  knownActions(): string[] {
    return [...this.arms.entries()].filter(([, a]) => a.n > 0).map(([k]) => k);
  }

  /** The arm of an action (for tests and diagnostics). */
  arm(action: string): RidgeArm | undefined {
    return this.arms.get(action);
  }

  probs(context: Context, actions: readonly string[], baseline?: string | undefined): number[] {
    this.featureMap.featurize(context, this.x);
    return this.probsForVector(this.x, actions, baseline);
  }

  /** `probs` for an already featurised context. */
  probsForVector(x: Float64Array, actions: readonly string[], baseline?: string | undefined): number[] {
    const k = actions.length;
    this.score(x, actions);
    const s = this.s;
    let have: boolean;
    if (this.kind === PolicyKind.LINTS) {
      const v = this.settings.ts_scale;
      for (let i = 0; i < k; i++) s.score[i] = v * s.width[i]!;
      probMaxNormal(s.mean, s.score, s.known, k, s.g, this.pm);
      have = false;
      for (let i = 0; i < k; i++) if (s.known[i]) have = true;
    } else {
      have = greedyFromScores(this.settings, k, s, s.g);
    }
    const out = new Array<number>(k);
    finalDistribution(this.settings, k, s, s.g, have, baselineIndex(actions, baseline), out);
    return out;
  }

  estimates(context: Context, actions: readonly string[]): Estimates {
    this.featureMap.featurize(context, this.x);
    this.score(this.x, actions);
    return this.s.estimates(actions.length);
  }

  /** Fill the scratch with mean, width, known and the LinUCB score of each action. */
  private score(x: Float64Array, actions: readonly string[]): void {
    const k = actions.length;
    const s = this.s;
    s.ensure(k);
    const d = this.featureMap.dim;
    const alpha = this.settings.alpha;
    let prior = -1;
    let priorMean = 0;
    for (let i = 0; i < k; i++) {
      const arm = this.arms.get(actions[i]!);
      if (arm === undefined || arm.n === 0) {
        // No data: the prior (mean reward so far, ridge prior width); never the greedy choice.
        if (prior < 0) {
          prior = Math.sqrt(dot(x, x, d) / this.settings.lambda);
          priorMean = this.priorMean;
        }
        s.known[i] = 0;
        s.mean[i] = priorMean;
        s.width[i] = prior;
        s.score[i] = -Infinity;
        continue;
      }
      const m = dot(arm.coefficients(), x, d);
      const q = quadForm(arm.Ainv, x, d);
      const w = Math.sqrt(q > 0 ? q : 0);
      s.known[i] = 1;
      s.mean[i] = m;
      s.width[i] = w;
      s.score[i] = m + alpha * w;
    }
  }

  private armFor(action: string): RidgeArm {
    let arm = this.arms.get(action);
    if (arm === undefined) {
      arm = new RidgeArm(this.featureMap.dim, this.settings.lambda);
      this.arms.set(action, arm);
    }
    return arm;
  }

  update(context: Context, action: string, reward: number): void {
    checkReward(reward);
    this.featureMap.featurize(context, this.x);
    this.updateVector(this.x, action, reward);
  }

  /** Online update with an already featurised context. */
  updateVector(x: Float64Array, action: string, reward: number): void {
    checkReward(reward);
    this.armFor(action).update(x, reward, this.settings.refactor_every);
    this.count++;
  }

  fit(examples: Iterable<TrainingExample>): void {
    for (const e of examples) {
      checkReward(e.reward);
      this.featureMap.featurize(e.context, this.x);
      this.accumulateVector(this.x, e.action, e.reward);
    }
    this.finishBatch();
  }

  /** Batch accumulation of one featurised example (read from `off`); call `finishBatch` when done. */
  accumulateVector(x: Float64Array, action: string, reward: number, off = 0): void {
    this.armFor(action).accumulate(x, reward, off);
    this.count++;
  }

  /** Complete a batch (mirror and invert every arm touched). */
  finishBatch(): void {
    for (const arm of this.arms.values()) arm.finishBatch();
  }

  toParams(): LinearParams {
    const arms: LinearParams['arms'] = [];
    for (const [action, arm] of this.arms) arms.push({ action, ...arm.state() });
    return { d: this.featureMap.dim, lambda: this.settings.lambda, arms };
  }

  /** Rebuild from serialised parameters. */
  static fromParams(point: string, settings: PolicySettings, featureMap: FeatureMap, p: LinearParams): LinearPolicy {
    if (p.d !== featureMap.dim) throw new RangeError(`model dimension ${p.d} differs from the feature map's ${featureMap.dim}`);
    const pol = new LinearPolicy(point, settings, featureMap);
    for (const a of p.arms) {
      pol.arms.set(a.action, RidgeArm.fromState(p.d, a));
      pol.count += a.n;
    }
    return pol;
  }
}
