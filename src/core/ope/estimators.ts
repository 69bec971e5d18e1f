/**
 * Off-policy estimators in one streaming pass: IPS, clipped IPS, SNIPS, DM, DR and Switch-DR, the
 * logging policy's own value, and the diagnostics that say whether to believe them. Memory does not
 * depend on the log length (moments, a weight sketch, a bounded heap, a blockwise bootstrap).
 *
 * What the seed got wrong and this module refuses to do: a missing propensity is never silently a
 * weight of 1. A log from a deterministic rule router identifies nothing about actions the router
 * never takes, so for a target that puts mass on them the weighted estimators report `null` with a
 * reason, and the report keeps to what the data supports: the agreement slice, worst-case bounds,
 * and DM labelled as model-based.
 */
import {
  IntervalMethod,
  PoissonBootstrap,
  bernsteinHalfWidth,
  bernsteinInterval,
  clampInterval,
  normalInterval,
  percentileInterval,
  zFor,
  type Ci,
} from './intervals.js';
import type { LoggedSample } from './types.js';
import { TopValues, WeightSketch, weightTailIndex } from './weights.js';

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
const WEIGHTED: ReadonlySet<EstimatorName> = new Set(['ips', 'clipped_ips', 'snips', 'dr', 'switch_dr']);

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

/** Running mean, variance (Welford), minimum and maximum. */
class Moments {
  n = 0;
  mean = 0;
  m2 = 0;
  min = Infinity;
  max = -Infinity;

  add(x: number): void {
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    if (x < this.min) this.min = x;
    if (x > this.max) this.max = x;
  }

  get variance(): number {
    return this.n > 1 ? this.m2 / (this.n - 1) : 0;
  }
}

const PROB_TOL = 1e-6;
const ONE_TOL = 1e-12;

/** Bootstrap columns, in push order. */
const Col = { R: 0, WR: 1, W: 2, CWR: 3, DM: 4, DR: 5, SDR: 6 } as const;
const COLS = 7;

/**
 * The streaming evaluator: `add` each logged sample (any order, any count), then `report()`.
 * Invalid samples are counted with a reason, never thrown: a long-running caller cannot be
 * crashed by one bad event.
 */
export class OpeAccumulator {
  readonly options: CompiledOpeOptions;
  private readonly want: ReadonlySet<EstimatorName>;
  private n = 0;
  private readonly invalid: Record<string, number> = {};
  private readonly mR = new Moments();
  private readonly mIps = new Moments();
  private readonly mClip = new Moments();
  private readonly mDm = new Moments();
  private readonly mDr = new Moments();
  private readonly mSdr = new Moments();
  private readonly mLo = new Moments();
  private readonly mHi = new Moments();
  private readonly mSlice = new Moments();
  // SNIPS sums (ratio estimator with delta-method variance).
  private sW = 0;
  private sW2 = 0;
  private sWR = 0;
  private sWR2 = 0;
  private sW_WR = 0;
  private readonly sketch = new WeightSketch();
  private readonly top = new TopValues(2048);
  private sumPiA = 0;
  private agree = 0;
  private baselineN = 0;
  private baselineAgree = 0;
  private defaulted = 0;
  private missing = 0;
  private ones = 0;
  private noPrediction = 0;
  private clipped = 0;
  private switched = 0;
  // The ranges DR's and Switch-DR's contributions could take with any rewards in [0, 1] (Bernstein).
  private drLo = Infinity;
  private drHi = -Infinity;
  private sdrLo = Infinity;
  private sdrHi = -Infinity;
  // Support: exact unsupported mass where known, mean weight where only μ(a_i) < 1 is known.
  private exactN = 0;
  private exactDeficit = 0;
  private partialN = 0;
  private partialW = 0;
  private partialW2 = 0;
  private readonly boot: PoissonBootstrap | undefined;
  private readonly row = new Float64Array(COLS);
  private readonly all = new Float64Array(COLS);
  private readonly cols: number[];

  constructor(options: OpeOptions = {}) {
    this.options = compileOpeOptions(options);
    this.want = new Set(this.options.estimators);
    if (this.options.bootstrap > 0) {
      const cols: number[] = [Col.R];
      const w = this.want;
      if (w.has('ips') || w.has('snips')) cols.push(Col.WR);
      if (w.has('snips')) cols.push(Col.W);
      if (w.has('clipped_ips')) cols.push(Col.CWR);
      if (w.has('dm')) cols.push(Col.DM);
      if (w.has('dr')) cols.push(Col.DR);
      if (w.has('switch_dr')) cols.push(Col.SDR);
      this.cols = cols;
      this.boot = new PoissonBootstrap(cols.length, this.options.bootstrap, this.options.seed);
    } else {
      this.cols = [];
      this.boot = undefined;
    }
  }

  /** Events accepted so far. */
  get count(): number {
    return this.n;
  }

  /** Count an event that could not become a sample (reported under `invalid` with this reason). */
  reject(reason: string): false {
    this.invalid[reason] = (this.invalid[reason] ?? 0) + 1;
    return false;
  }

  /** Add one sample; returns false (and counts the reason) when it is invalid. */
  add(s: LoggedSample): boolean {
    const pi = s.targetProbs;
    const k = pi.length;
    const a = s.action;
    const r = s.reward;
    if (!(k >= 1)) return this.reject('no_actions');
    if (!Number.isInteger(a) || a < 0 || a >= k) return this.reject('action_out_of_range');
    if (!(r >= 0 && r <= 1)) return this.reject('reward_out_of_range');
    let sum = 0;
    let best = -1;
    for (let i = 0; i < k; i++) {
      const p = pi[i]!;
      if (!(p >= 0 && p <= 1 + PROB_TOL)) return this.reject('target_prob_invalid');
      sum += p;
      if (p > best) best = p;
    }
    if (Math.abs(sum - 1) > PROB_TOL) return this.reject('target_probs_not_normalised');
    const lp = s.loggingProbs;
    if (lp !== undefined && lp.length !== k) return this.reject('logging_probs_length');
    const pr = s.predicted;
    if (pr !== undefined && pr.length !== k) return this.reject('predicted_length');
    const mu = s.loggingProb ?? (lp === undefined ? undefined : lp[a]);
    if (mu !== undefined && !(mu > 0 && mu <= 1 + PROB_TOL)) return this.reject('logging_prob_invalid');

    const piA = pi[a]!;
    const missing = mu === undefined;
    // A missing propensity is the documented assumption "deterministic logger": μ(a_i) = 1, counted.
    const w = missing ? piA : piA / mu;
    this.n++;
    if (missing) this.missing++;
    else if (mu >= 1 - ONE_TOL) this.ones++;
    if (s.defaulted === true) this.defaulted++;

    // Support of the target under the logger.
    if (lp !== undefined) {
      let u = 0;
      for (let i = 0; i < k; i++) if (!(lp[i]! > 0)) u += pi[i]!;
      this.exactN++;
      this.exactDeficit += u;
    } else if (missing || mu >= 1 - ONE_TOL) {
      this.exactN++;
      this.exactDeficit += Math.max(0, 1 - piA);
    } else {
      this.partialN++;
      this.partialW += w;
      this.partialW2 += w * w;
    }

    // Agreement with the logger (and with the rules' own choice when logged).
    this.sumPiA += piA;
    const agrees = piA >= best;
    if (agrees) {
      this.agree++;
      this.mSlice.add(r);
    }
    if (s.baseline !== undefined && s.baseline >= 0 && s.baseline < k) {
      this.baselineN++;
      if (pi[s.baseline]! >= best) this.baselineAgree++;
    }

    // Weighted contributions.
    const wr = w * r;
    const cw = w > this.options.clip ? this.options.clip : w;
    if (w > this.options.clip) this.clipped++;
    this.mR.add(r);
    this.mIps.add(wr);
    this.mClip.add(cw * r);
    this.sW += w;
    this.sW2 += w * w;
    this.sWR += wr;
    this.sWR2 += wr * wr;
    this.sW_WR += w * wr;
    this.sketch.add(w);
    this.top.add(w);
    this.mLo.add(piA * r);
    this.mHi.add(piA * r + (1 - piA));

    let dm = 0;
    let dr = 0;
    let sdr = 0;
    if (pr !== undefined) {
      for (let i = 0; i < k; i++) dm += pi[i]! * pr[i]!;
      const qa = pr[a]!;
      dr = dm + w * (r - qa);
      const lo = dm - w * qa;
      const hi = dm + w * (1 - qa);
      if (lo < this.drLo) this.drLo = lo;
      if (hi > this.drHi) this.drHi = hi;
      if (w > this.options.switchTau) {
        this.switched++;
        sdr = dm;
        if (dm < this.sdrLo) this.sdrLo = dm;
        if (dm > this.sdrHi) this.sdrHi = dm;
      } else {
        sdr = dr;
        if (lo < this.sdrLo) this.sdrLo = lo;
        if (hi > this.sdrHi) this.sdrHi = hi;
      }
      this.mDm.add(dm);
      this.mDr.add(dr);
      this.mSdr.add(sdr);
    } else this.noPrediction++;

    if (this.boot !== undefined) {
      const all = this.all;
      all[Col.R] = r;
      all[Col.WR] = wr;
      all[Col.W] = w;
      all[Col.CWR] = cw * r;
      all[Col.DM] = dm;
      all[Col.DR] = dr;
      all[Col.SDR] = sdr;
      const row = this.row;
      const cols = this.cols;
      for (let i = 0; i < cols.length; i++) row[i] = all[cols[i]!]!;
      this.boot.push(row);
    }
    return true;
  }

  /** Add many samples. */
  addAll(samples: Iterable<LoggedSample>): this {
    for (const s of samples) this.add(s);
    return this;
  }

  /** The report for everything added so far (the accumulator stays usable). */
  report(): OpeReport {
    const o = this.options;
    const n = this.n;
    const conf = o.confidence;
    const flags: OpeFlag[] = [];
    const warnings: string[] = [];

    // Bootstrap statistics per column.
    const bootCi = new Map<number, Ci>();
    let snipsBoot: Ci | undefined;
    if (this.boot !== undefined && n > 0) {
      const sums = this.boot.sums();
      const K = this.cols.length;
      const B = o.bootstrap;
      const stat = new Float64Array(B);
      for (let j = 0; j < K; j++) {
        for (let b = 0; b < B; b++) {
          const cnt = sums[b * (K + 1) + K]!;
          stat[b] = cnt > 0 ? sums[b * (K + 1) + j]! / cnt : NaN;
        }
        bootCi.set(this.cols[j]!, percentileInterval(stat, conf));
      }
      const iWr = this.cols.indexOf(Col.WR);
      const iW = this.cols.indexOf(Col.W);
      if (iWr >= 0 && iW >= 0) {
        for (let b = 0; b < B; b++) {
          const den = sums[b * (K + 1) + iW]!;
          stat[b] = den > 0 ? sums[b * (K + 1) + iWr]! / den : NaN;
        }
        snipsBoot = percentileInterval(stat, conf);
      }
    }

    // Diagnostics.
    const ess = this.sW2 > 0 ? (this.sW * this.sW) / this.sW2 : 0;
    const tail = weightTailIndex(this.top.sorted(), n);
    const maxW = n > 0 ? this.sketch.max : 0;
    const partialDeficit = this.partialN > 0 ? this.partialN * Math.max(0, 1 - this.partialW / this.partialN) : 0;
    const supportDeficit = n > 0 ? (this.exactDeficit + partialDeficit) / n : 0;
    const supportMethod = this.partialN === 0 ? 'exact' : this.exactN === 0 ? 'estimated' : 'mixed';
    const deterministic = n > 0 && this.missing + this.ones === n;
    const unsupportedMass = n > 0 ? this.exactDeficit / n : 0;
    const unidentified = deterministic && unsupportedMass > 1e-9;
    const ipsHalf = n > 1 ? zFor(conf) * Math.sqrt(this.mIps.variance / n) : Infinity;
    const maxInfluence = n > 0 ? maxW / n : 0;
    const heavy =
      n > 0 && !deterministic && ((Number.isFinite(tail) && tail > o.maxTailIndex) || (maxW > 1 && maxInfluence > ipsHalf));

    if (deterministic) flags.push(OpeFlag.DETERMINISTIC_LOGGER);
    if (unidentified) flags.push(OpeFlag.UNIDENTIFIED);
    if (this.missing > 0) flags.push(OpeFlag.PROPENSITY_MISSING);
    // An estimated deficit is noisy (it is 1 − mean weight): flag it only when it is clearly there.
    let partialSe = 0;
    if (this.partialN > 1) {
      const m = this.partialW / this.partialN;
      const v = Math.max(0, this.partialW2 / this.partialN - m * m) * (this.partialN / (this.partialN - 1));
      partialSe = (zFor(conf) * Math.sqrt(v / this.partialN) * this.partialN) / n;
    }
    if (supportDeficit - partialSe > o.supportWarn) flags.push(OpeFlag.SUPPORT_DEFICIT);
    if (!deterministic && ess < o.minEss) flags.push(OpeFlag.LOW_ESS);
    if (heavy) flags.push(OpeFlag.HEAVY_TAIL);
    if (this.defaulted > 0) flags.push(OpeFlag.DEFAULTED_REWARDS);
    const invalidTotal = Object.values(this.invalid).reduce((x, y) => x + y, 0);
    if (invalidTotal > 0) flags.push(OpeFlag.INVALID_EVENTS);

    const diagnostics: OpeDiagnostics = {
      n,
      ess,
      essRatio: n > 0 ? ess / n : 0,
      meanWeight: n > 0 ? this.sW / n : 0,
      maxWeight: maxW,
      minWeight: n > 0 ? this.sketch.min : 0,
      weightQuantiles: {
        p50: n > 0 ? this.sketch.quantile(0.5) : 0,
        p90: n > 0 ? this.sketch.quantile(0.9) : 0,
        p99: n > 0 ? this.sketch.quantile(0.99) : 0,
        p999: n > 0 ? this.sketch.quantile(0.999) : 0,
      },
      tailIndex: Number.isFinite(tail) ? tail : null,
      maxInfluence,
      supportDeficit,
      supportDeficitMethod: supportMethod,
      agreementRate: n > 0 ? this.agree / n : 0,
      expectedAgreement: n > 0 ? this.sumPiA / n : 0,
      baselineAgreement: this.baselineN > 0 ? this.baselineAgree / this.baselineN : null,
      defaultedRewards: this.defaulted,
      missingPropensities: this.missing,
      clippedEvents: this.clipped,
      switchedEvents: this.switched,
      flags,
    };

    // Bernstein needs the range the contributions could take (rewards anywhere in [0, 1]), not the
    // observed one: a log whose rewards happen to be all 0 would otherwise get a zero-width bound.
    const meanEstimate = (method: EstimatorName | 'logging', m: Moments, col: number, range: Ci, label?: 'model-based'): OpeEstimate => {
      const intervals: Partial<Record<IntervalMethod, Ci>> = {
        normal: clampInterval(normalInterval(m.mean, m.variance, m.n, conf)),
        bernstein: clampInterval(bernsteinInterval(m.mean, m.variance, m.n, range[1] - range[0], conf)),
      };
      const b = bootCi.get(col);
      if (b !== undefined) intervals.bootstrap = clampInterval(b);
      const v = m.variance / m.n;
      const e: OpeEstimate = {
        method,
        value: m.mean,
        ci: intervals[o.interval] ?? intervals.normal ?? null,
        interval: intervals[o.interval] !== undefined ? o.interval : IntervalMethod.NORMAL,
        intervals,
        n: m.n,
        stderr: Math.sqrt(v),
        variance: v,
        sampleVariance: m.variance,
        range,
      };
      if (label !== undefined) e.label = label;
      return e;
    };
    const nullEstimate = (method: EstimatorName | 'logging', reason: string, label?: 'model-based'): OpeEstimate => {
      const e: OpeEstimate = { method, value: null, ci: null, interval: o.interval, intervals: {}, n, stderr: null, variance: null, sampleVariance: null, range: null, reason };
      if (label !== undefined) e.label = label;
      return e;
    };

    const estimates: Partial<Record<EstimatorName, OpeEstimate>> = {};
    const logging = n > 0 ? meanEstimate('logging', this.mR, Col.R, [0, 1]) : nullEstimate('logging', 'no events');
    const unidReason =
      `unidentified: the log comes from a deterministic logger (${this.missing > 0 ? 'propensities missing' : 'every propensity is 1'}) ` +
      `and the target puts ${(unsupportedMass * 100).toFixed(1)} % of its mass on actions the logger never took; ` +
      'no reweighting of this log can say what those actions would have earned';
    for (const name of o.estimators) {
      if (n === 0) {
        estimates[name] = nullEstimate(name, 'no events', MODEL_ESTIMATORS.includes(name) ? 'model-based' : undefined);
        continue;
      }
      if (unidentified && WEIGHTED.has(name)) {
        estimates[name] = nullEstimate(name, unidReason);
        continue;
      }
      if (MODEL_ESTIMATORS.includes(name) && this.noPrediction > 0) {
        estimates[name] = nullEstimate(name, `no reward-model predictions for ${this.noPrediction} of ${n} events`, name === 'dm' ? 'model-based' : undefined);
        continue;
      }
      switch (name) {
        case 'ips':
          estimates.ips = meanEstimate('ips', this.mIps, Col.WR, [0, maxW]);
          break;
        case 'clipped_ips': {
          const e = meanEstimate('clipped_ips', this.mClip, Col.CWR, [0, Math.min(maxW, o.clip)]);
          if (this.clipped > 0) e.reason = `${this.clipped} events had weights above ${o.clip} and were clipped: biased downwards by design`;
          estimates.clipped_ips = e;
          break;
        }
        case 'snips':
          estimates.snips = this.snips(snipsBoot);
          break;
        case 'dm': {
          const e = meanEstimate('dm', this.mDm, Col.DM, [0, 1], 'model-based');
          e.reason = 'model-based: rests on the reward model, not on logged rewards; its bias is not covered by the interval';
          estimates.dm = e;
          break;
        }
        case 'dr':
          estimates.dr = meanEstimate('dr', this.mDr, Col.DR, [this.drLo, this.drHi]);
          break;
        case 'switch_dr': {
          const e = meanEstimate('switch_dr', this.mSdr, Col.SDR, [this.sdrLo, this.sdrHi]);
          if (this.switched > 0) e.reason = `${this.switched} events with weight above ${o.switchTau} used the reward model only`;
          estimates.switch_dr = e;
          break;
        }
      }
    }

    // What the log supports when it does not identify the weighted estimators.
    const slice = this.mSlice;
    const identification: OpeIdentification = {
      status: unidentified ? 'unidentified' : 'identified',
      deterministicLogger: deterministic,
      agreementSlice: {
        n: slice.n,
        share: n > 0 ? slice.n / n : 0,
        value: slice.n > 0 ? slice.mean : null,
        ci: slice.n > 0 ? clampInterval(normalInterval(slice.mean, slice.variance, slice.n, conf)) : null,
      },
      bounds: null,
    };
    if (deterministic) {
      const lo = this.mLo;
      const hi = this.mHi;
      const z = normalInterval(lo.mean, lo.variance, lo.n, conf)[0];
      const zh = normalInterval(hi.mean, hi.variance, hi.n, conf)[1];
      identification.bounds = {
        lo: lo.mean,
        hi: hi.mean,
        ci: clampInterval([z, zh]),
        note: 'worst-case bounds: logged rewards where the target takes the logged action, anything in [0, 1] elsewhere',
      };
    }
    if (unidentified) {
      identification.reason = unidReason;
      identification.fix = EXPLORATION_FIX;
      warnings.push(`IPS, SNIPS and DR are not reported: ${unidReason}.`);
      warnings.push(
        `Supported claims only: on the agreement slice (${slice.n} of ${n} events) the logged mean reward is ` +
          `${slice.n > 0 ? slice.mean.toFixed(4) : 'n/a'}; the target's value lies in [${identification.bounds?.lo.toFixed(4)}, ` +
          `${identification.bounds?.hi.toFixed(4)}] whatever the unseen rewards are; DM is model-based and extrapolates to actions never observed.`,
      );
      warnings.push(`Fix: ${EXPLORATION_FIX}`);
    } else if (deterministic) {
      warnings.push('The logger is deterministic; the target takes the logged action everywhere, so its value is the logged mean reward.');
    }
    if (this.missing > 0 && !deterministic) {
      warnings.push(`${this.missing} of ${n} events had no propensity and were taken as deterministic (propensity 1); their off-action mass counts as unsupported.`);
    }
    if (flags.includes(OpeFlag.SUPPORT_DEFICIT)) {
      warnings.push(
        `Support deficit ${(supportDeficit * 100).toFixed(1)} % (${supportMethod}): that share of the target's mass has no logged support; weighted estimates miss it.`,
      );
    }
    if (heavy) {
      warnings.push(
        `Heavy-tailed weights: max weight ${maxW.toFixed(1)} (one event can move IPS by ${maxInfluence.toPrecision(3)}, ` +
          `more than the normal interval's half-width ${Number.isFinite(ipsHalf) ? ipsHalf.toPrecision(3) : 'n/a'})` +
          `${Number.isFinite(tail) ? `, tail index ${tail.toFixed(2)}` : ''}, ESS ${ess.toFixed(0)} of ${n}. ` +
          'The normal and bootstrap intervals are not trustworthy here; use the Bernstein interval or more data.',
      );
    }
    if (flags.includes(OpeFlag.LOW_ESS)) warnings.push(`Effective sample size ${ess.toFixed(1)} is below ${o.minEss}.`);
    if (this.defaulted > 0) warnings.push(`${this.defaulted} rewards were defaulted (no outcome arrived).`);
    if (invalidTotal > 0) warnings.push(`${invalidTotal} events were rejected: ${Object.entries(this.invalid).map(([k, v]) => `${k} ${v}`).join(', ')}.`);

    return {
      n,
      invalid: { ...this.invalid },
      confidence: conf,
      estimates,
      logging,
      diagnostics,
      identification,
      warnings,
      settings: { clip: o.clip, switchTau: o.switchTau, bootstrap: o.bootstrap, seed: o.seed, interval: o.interval },
    };
  }

  /** SNIPS Σwr / Σw with the delta-method variance and a union-bound Bernstein interval. */
  private snips(boot: Ci | undefined): OpeEstimate {
    const o = this.options;
    const n = this.n;
    const conf = o.confidence;
    if (!(this.sW > 0)) {
      return {
        method: 'snips',
        value: null,
        ci: null,
        interval: o.interval,
        intervals: {},
        n,
        stderr: null,
        variance: null,
        sampleVariance: null,
        range: null,
        reason: 'the target puts no probability on any logged action',
      };
    }
    const v = this.sWR / this.sW;
    const wbar = this.sW / n;
    // Σ (w r − V w)² / (n − 1), divided by w̄²: the variance of the linearised contributions.
    const ss = Math.max(0, this.sWR2 - 2 * v * this.sW_WR + v * v * this.sW2);
    const sampleVariance = n > 1 ? ss / (n - 1) / (wbar * wbar) : 0;
    const variance = sampleVariance / n;
    const intervals: Partial<Record<IntervalMethod, Ci>> = {
      normal: clampInterval(normalInterval(v, sampleVariance, n, conf)),
    };
    // Bernstein for a ratio: bound numerator and denominator means, each at δ/4 per side.
    const delta = (1 - conf) / 4;
    const wRange = this.sketch.max - this.sketch.min;
    const wVar = n > 1 ? Math.max(0, this.sW2 - (this.sW * this.sW) / n) / (n - 1) : 0;
    const hNum = bernsteinHalfWidth(this.mIps.variance, n, this.sketch.max, delta);
    const hDen = bernsteinHalfWidth(wVar, n, wRange, delta);
    const numMean = this.sWR / n;
    const denLo = wbar - hDen;
    const lo = Math.max(0, numMean - hNum) / (wbar + hDen);
    const hi = denLo > 0 ? (numMean + hNum) / denLo : 1;
    intervals.bernstein = clampInterval([lo, hi]);
    if (boot !== undefined) intervals.bootstrap = clampInterval(boot);
    return {
      method: 'snips',
      value: v,
      ci: intervals[o.interval] ?? intervals.normal ?? null,
      interval: intervals[o.interval] !== undefined ? o.interval : IntervalMethod.NORMAL,
      intervals,
      n,
      stderr: Math.sqrt(variance),
      variance,
      sampleVariance,
      range: [0, this.sketch.max],
    };
  }
}

/** Evaluate a target policy on logged samples in one pass (see `OpeAccumulator`). */
export function evaluateOffPolicy(samples: Iterable<LoggedSample>, options: OpeOptions = {}): OpeReport {
  return new OpeAccumulator(options).addAll(samples).report();
}
