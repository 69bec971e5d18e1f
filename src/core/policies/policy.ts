/**
 * The contract every learned policy keeps: `probs` is the exact distribution `decide` samples from,
 * and `decide` draws with `drawFor(seed, id)` so any decision can be replayed from the seed and the
 * event id. Off-policy evaluation, shadow logging and the canary all rely on this.
 */
import type { PolicySettings } from '../config/policies.js';
import type { Context } from '../events.js';
import type { FeatureMap, SparseRows } from '../features/index.js';
import { murmur3 } from '../hash.js';
import { drawFor, pickIndex } from '../rng.js';

/** Policy kinds (the `algorithm` setting). */
export const PolicyKind = {
  LINUCB: 'linucb',
  LINTS: 'lints',
  BETA_TS: 'beta_ts',
  SPARSE: 'sparse',
  CONSTANT: 'constant',
} as const;
export type PolicyKind = (typeof PolicyKind)[keyof typeof PolicyKind];

/** One decision: the action drawn, its index in the action list, its propensity and the full distribution. */
export interface Decision {
  action: string;
  index: number;
  propensity: number;
  probs: number[];
}

/** One training example: the context before the decision, the action served and its reward in [0, 1]. */
export interface TrainingExample {
  context: Context;
  action: string;
  reward: number;
  /** The logging propensity of the action, when known (importance weighting and `constant` values read it). */
  propensity?: number | undefined;
}

/** Per-action estimates (a reward model for DM / DR and the numbers behind conservative mode). */
export interface Estimates {
  /** Estimated reward per action (the prior mean for actions without data). */
  mean: number[];
  /** Confidence width per action (the model's own scale, see docs/learning.md). */
  width: number[];
  /** Whether the model has data for each action. */
  known: boolean[];
}

/** A learned policy for one decision point. */
export interface Policy {
  readonly kind: PolicyKind;
  readonly point: string;
  readonly settings: PolicySettings;
  readonly featureMap: FeatureMap;
  /** Training examples seen (batch and online). */
  readonly n: number;
  /** Actions with data, in first-seen order. */
  knownActions(): string[];
  /**
   * The exact distribution over `actions` (aligned with it) that `decide` samples from. `baseline`
   * is the production rules' choice (used by conservative mode and when no action is known).
   */
  probs(context: Context, actions: readonly string[], baseline?: string | undefined): number[];
  /** Draw an action with the replayable uniform `drawFor(seed, id, stream(point))`. */
  decide(id: string, context: Context, actions: readonly string[], baseline?: string | undefined): Decision;
  /** The model's per-action estimates for a context. */
  estimates(context: Context, actions: readonly string[]): Estimates;
  /**
   * Learn from one event (online). For `linucb`, `lints`, `beta_ts` and `constant` equal, up to
   * rounding, to batch training on the same events; `sparse` takes one more AdaGrad step.
   */
  update(context: Context, action: string, reward: number): void;
  /** Learn from many events at once (batch); `trainingSeed` seeds whatever is random in training (the sparse learner's pass orders). */
  fit(examples: Iterable<TrainingExample>, trainingSeed?: number): void;
  /**
   * `fit` from the examples' sparse feature rows under this policy's feature map, made once and
   * shared by several trainings on one window. Only policies that train on sparse rows have it.
   */
  fitRows?(rows: SparseRows, examples: readonly TrainingExample[], trainingSeed?: number): void;
  /** Serialisable model parameters (the artifact's `params`). Canonicalises numerical state first. */
  toParams(): unknown;
}

/**
 * What the policies share: their point, settings and feature map, the count of examples learned
 * (`n`), and `decide`, which draws from `probs`.
 */
export abstract class BasePolicy {
  readonly point: string;
  readonly settings: PolicySettings;
  readonly featureMap: FeatureMap;
  /** Training examples learned; each policy counts its own. */
  protected count = 0;

  constructor(point: string, settings: PolicySettings, featureMap: FeatureMap) {
    this.point = point;
    this.settings = settings;
    this.featureMap = featureMap;
  }

  get n(): number {
    return this.count;
  }

  abstract probs(context: Context, actions: readonly string[], baseline?: string | undefined): number[];

  decide(id: string, context: Context, actions: readonly string[], baseline?: string | undefined): Decision {
    return drawDecision(this.settings.seed, this.point, id, actions, this.probs(context, actions, baseline));
  }
}

/** The stream of `drawFor` used by a decision point, so route and tool decisions of one id are independent. */
export function streamOf(point: string): number {
  return murmur3(point, 0x5eed) & 0xffff;
}

/** Draw from `probs` with the replayable uniform of (seed, id, point). */
export function drawDecision(seed: number, point: string, id: string, actions: readonly string[], probs: number[]): Decision {
  if (actions.length === 0) throw new RangeError('a decision needs at least one action');
  const u = drawFor(seed, id, streamOf(point));
  const index = pickIndex(probs, u);
  return { action: actions[index]!, index, propensity: probs[index]!, probs };
}

/** Index of `baseline` in `actions`, or −1. */
export function baselineIndex(actions: readonly string[], baseline: string | undefined): number {
  return baseline === undefined ? -1 : actions.indexOf(baseline);
}

/** Check a reward before learning from it (bad input must not corrupt a model). */
export function checkReward(reward: number): void {
  if (!(reward >= 0 && reward <= 1)) throw new RangeError(`reward must be in [0, 1], got ${reward}`);
}
