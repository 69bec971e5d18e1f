/**
 * What an off-policy evaluation reports: the estimators' names, the options, each estimate with its
 * intervals, the diagnostics, what the log identifies, and the fix for a logger without exploration.
 */
import { IntervalMethod, type Ci } from './intervals.js';

/** The estimators. */
export const Estimator = {
  IPS: 'ips',
  CLIPPED_IPS: 'clipped_ips',
  SNIPS: 'snips',
  DM: 'dm',
  DR: 'dr',
  SWITCH_DR: 'switch_dr',
} as const;
export type EstimatorName = (typeof Estimator)[keyof typeof Estimator];

/** Every estimator, in report order. */
export const ALL_ESTIMATORS: readonly EstimatorName[] = ['ips', 'clipped_ips', 'snips', 'dm', 'dr', 'switch_dr'];

/** Estimators that need reward-model predictions (`LoggedSample.predicted`). */
export const MODEL_ESTIMATORS: readonly EstimatorName[] = ['dm', 'dr', 'switch_dr'];

/** Estimators that reweight logged rewards, hence need support from the logger. */
export const WEIGHTED: ReadonlySet<EstimatorName> = new Set(['ips', 'clipped_ips', 'snips', 'dr', 'switch_dr']);

/** Diagnostic flags. */
export const OpeFlag = {
  /** Every event was logged with propensity 1 or none: a rule router that never explores. */
  DETERMINISTIC_LOGGER: 'deterministic_logger',
  /** The weighted estimators are not identified by this log for this target. */
  UNIDENTIFIED: 'unidentified',
  /** Some events had no propensity; they were taken as deterministic (propensity 1) and counted. */
  PROPENSITY_MISSING: 'propensity_missing',
  /** The target puts mass on actions the logger gave zero or unknown probability. */
  SUPPORT_DEFICIT: 'support_deficit',
  /** Effective sample size below the configured minimum. */
  LOW_ESS: 'low_ess',
  /** Importance weights too heavy-tailed for the normal interval to be trusted. */
  HEAVY_TAIL: 'heavy_tail',
  /** Some rewards are the configured default (no outcome arrived). */
  DEFAULTED_REWARDS: 'defaulted_rewards',
  /** Some events were rejected as invalid (reported with reasons). */
  INVALID_EVENTS: 'invalid_events',
} as const;
export type OpeFlag = (typeof OpeFlag)[keyof typeof OpeFlag];

/** Options of an evaluation. */
export interface OpeOptions {
  /** Estimators to compute. @default ALL_ESTIMATORS */
  estimators?: readonly EstimatorName[];
  /** Weight cap M of clipped IPS (weights above it count as M). @default 100 */
  clip?: number;
  /** Switch-DR threshold τ: an event whose weight exceeds τ contributes only the model's value. @default 20 */
  switchTau?: number;
  /** Two-sided confidence level of every interval. @default 0.95 */
  confidence?: number;
  /** Bootstrap resamples (Poisson bootstrap); 0 turns the bootstrap off. @default 0 */
  bootstrap?: number;
  /** Seed of the bootstrap. @default 0 */
  seed?: number;
  /** An effective sample size below this raises `low_ess`. @default 100 */
  minEss?: number;
  /** A weight tail index (GPD shape) above this raises `heavy_tail`. @default 0.7 */
  maxTailIndex?: number;
  /** A support deficit above this raises `support_deficit`. @default 0.01 */
  supportWarn?: number;
  /** Which interval `ci` holds. @default "bootstrap" when bootstrap > 0, else "normal" */
  interval?: IntervalMethod;
}

/** Options with every default applied. */
export type CompiledOpeOptions = Required<OpeOptions>;

/** Apply the defaults of `OpeOptions`. */
export function compileOpeOptions(o: OpeOptions = {}): CompiledOpeOptions {
  const bootstrap = Math.max(0, Math.floor(o.bootstrap ?? 0));
  const out: CompiledOpeOptions = {
    estimators: o.estimators ?? ALL_ESTIMATORS,
    clip: o.clip ?? 100,
    switchTau: o.switchTau ?? 20,
    confidence: o.confidence ?? 0.95,
    bootstrap,
    seed: o.seed ?? 0,
    minEss: o.minEss ?? 100,
    maxTailIndex: o.maxTailIndex ?? 0.7,
    supportWarn: o.supportWarn ?? 0.01,
    interval: o.interval ?? (bootstrap > 0 ? IntervalMethod.BOOTSTRAP : IntervalMethod.NORMAL),
  };
  if (!(out.clip > 0)) throw new RangeError(`clip must be positive, got ${out.clip}`);
  if (!(out.switchTau > 0)) throw new RangeError(`switchTau must be positive, got ${out.switchTau}`);
  if (!(out.confidence > 0 && out.confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${out.confidence}`);
  if (out.interval === IntervalMethod.BOOTSTRAP && bootstrap === 0) out.interval = IntervalMethod.NORMAL;
  return out;
}

/** One estimate with its uncertainty. */
export interface OpeEstimate {
  /** Estimator (or `logging` for the logging policy's on-policy value). */
  method: EstimatorName | 'logging';
  /** The estimate; `null` when the log does not identify it (see `reason`). */
  value: number | null;
  /** The interval named by `interval`, intersected with the reward range [0, 1]. */
  ci: Ci | null;
  interval: IntervalMethod;
  /** Every interval computed (normal always, Bernstein for mean-type estimators, bootstrap when asked). */
  intervals: Partial<Record<IntervalMethod, Ci>>;
  /** Events behind the estimate. */
  n: number;
  /** Standard error of the estimate (delta method for SNIPS). */
  stderr: number | null;
  /** Variance of the estimator (stderr²): what `max_variance` is compared with. */
  variance: number | null;
  /** Variance of the per-event contributions (n − 1 denominator). */
  sampleVariance: number | null;
  /**
   * The range per-event contributions could take with any rewards in [0, 1], given the logged
   * weights (IPS: [0, max weight]); the Bernstein bound uses it.
   */
  range: Ci | null;
  /** `model-based` when the number rests on a reward model rather than on logged rewards. */
  label?: 'model-based';
  /** Why the value is null, or a caveat. */
  reason?: string;
}

/** Diagnostics reported beside every evaluation. */
export interface OpeDiagnostics {
  n: number;
  /** Effective sample size (Σw)² / Σw². */
  ess: number;
  /** ESS / n. */
  essRatio: number;
  meanWeight: number;
  maxWeight: number;
  minWeight: number;
  /** Quantiles of the importance weights (sketch, ±0.5 %). */
  weightQuantiles: { p50: number; p90: number; p99: number; p999: number };
  /** GPD shape ξ of the largest weights (≥ 0.5: infinite variance; > 0.7: unreliable); null when too few. */
  tailIndex: number | null;
  /** How far one event can move IPS: maxWeight / n (reward range 1). */
  maxInfluence: number;
  /**
   * Share of the target's probability mass on actions the logger gave zero or unknown probability.
   * Exact where the logger's distribution (or a propensity of 1) is known; where only the logged
   * action's propensity is known it is estimated as 1 − mean weight (clipped at 0).
   */
  supportDeficit: number;
  supportDeficitMethod: 'exact' | 'estimated' | 'mixed';
  /** Share of events where the target's most likely action is the logged one. */
  agreementRate: number;
  /** Mean target probability of the logged action, Σ π(a_i) / n. */
  expectedAgreement: number;
  /** Share of events (with a baseline) where the target's most likely action is the baseline; null without baselines. */
  baselineAgreement: number | null;
  defaultedRewards: number;
  /** Events without a propensity (taken as deterministic). */
  missingPropensities: number;
  /** Events whose weight exceeded the clip (clipped IPS) and the switch threshold (Switch-DR). */
  clippedEvents: number;
  switchedEvents: number;
  flags: OpeFlag[];
}

/** What the log can and cannot say about the target. */
export interface OpeIdentification {
  status: 'identified' | 'unidentified';
  deterministicLogger: boolean;
  /** Why the weighted estimators are unidentified. */
  reason?: string;
  /** Events where the target's most likely action is the logged action: the logged rewards there. */
  agreementSlice: { n: number; share: number; value: number | null; ci: Ci | null };
  /**
   * Worst-case bounds of the target's value using only rewards in [0, 1]: the logged rewards where
   * the target agrees, anything for the rest. Reported for deterministic loggers (else null).
   */
  bounds: { lo: number; hi: number; ci: Ci; note: string } | null;
  /** How to make the estimate identified. */
  fix?: string;
}

/** The result of an evaluation. */
export interface OpeReport {
  /** Valid events evaluated. */
  n: number;
  /** Events rejected, by reason. */
  invalid: Record<string, number>;
  confidence: number;
  estimates: Partial<Record<EstimatorName, OpeEstimate>>;
  /** The logging policy's on-policy value (mean logged reward). */
  logging: OpeEstimate;
  diagnostics: OpeDiagnostics;
  identification: OpeIdentification;
  /** Sentences for people: what to distrust and why. */
  warnings: string[];
  settings: { clip: number; switchTau: number; bootstrap: number; seed: number; interval: IntervalMethod };
}

/** The fix for a logger without exploration, in words (reports and docs use it). */
export const EXPLORATION_FIX =
  'Serve with an exploration floor and log propensities: e.g. keep the rule’s choice with probability 0.98 and ' +
  'spread 2 % uniformly over the safe alternatives (0.01 each of two), writing `propensity` (and `probs`) on every ' +
  'decision event. Every action then has support, IPS/SNIPS/DR become identified, and their weights are bounded ' +
  'by 1/0.01 = 100.';
