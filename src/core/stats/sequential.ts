/**
 * One-sided sequential tests that stay valid under continuous monitoring. A canary is looked at
 * every minute for days; a fixed-sample test repeated that often rolls back harmless candidates far
 * more often than its alpha says. These tests may be evaluated after every observation and stopped
 * at any look, and the chance that a true null is ever rejected stays at most alpha.
 *
 * Method: the mixture sequential probability ratio test (mSPRT) on the Gaussian approximation of a
 * difference estimate, with a half-normal mixture over the alternative side only. For a null
 * θ ≤ θ0 the likelihood ratio of any θ' ≥ θ0 against θ0 is a supermartingale, and so is the
 * mixture, so Ville's inequality bounds the crossing probability of 1/alpha by alpha for the whole
 * composite null (asymptotically, because the variance is estimated). Inverting the test gives an
 * anytime-valid one-sided confidence bound (a confidence sequence), which is what verdicts print.
 *
 * The mixture scale follows the asymptotic confidence sequences of Waudby-Smith et al.: in units of
 * the per-pair standard deviation, ρ² = (−2 ln α + ln(1 − 2 ln α)) / N makes the bound tightest
 * around N samples per arm (`planN`, by default the canary's minimum samples per slice).
 */
import { logNormalCdf, normalQuantile } from './normal.js';
import type { MomentSums } from './intervals.js';
import { momentVariance } from './intervals.js';

/** A difference estimate between two arms with its (estimated) variance. */
export interface DifferenceEstimate {
  /** Point estimate of the difference, oriented by the caller (e.g. candidate − control). */
  estimate: number;
  /** Variance of that estimate (e.g. s²ₐ/nₐ + s²ᵦ/nᵦ). */
  variance: number;
  /** Effective samples per arm: the harmonic mean 2 / (1/nₐ + 1/nᵦ). */
  n: number;
}

/** Settings of a sequential one-sided test. */
export interface SequentialOptions {
  /** Type-I error over the whole monitoring period. */
  alpha: number;
  /** Samples per arm at which the bound is tightest (tunes the mixture; any value keeps validity). */
  planN: number;
}

/** Result of a one-sided sequential test of H0: θ ≤ θ0 against H1: θ > θ0. */
export interface SequentialResult {
  /** True when H0 is rejected at this look. */
  reject: boolean;
  /** The point estimate of θ. */
  estimate: number;
  /** Anytime-valid lower confidence bound for θ at level 1 − alpha. */
  lowerBound: number;
  /** θ0. */
  nullValue: number;
  /** log of the mixture likelihood ratio at θ0. */
  logLR: number;
  /** log(1/alpha): reject when `logLR` reaches it. */
  threshold: number;
  /** Always-valid p-value at this look, min(1, 1/LR). */
  pValue: number;
  /** Standard error of the estimate. */
  se: number;
}

/** ρ² of the mixture, in squared units of the per-pair standard deviation, tuned for `planN`. */
export function mixtureRho2(alpha: number, planN: number): number {
  const l = -2 * Math.log(alpha);
  return (l + Math.log(1 + l)) / Math.max(1, planN);
}

/** An estimate with an unknown or infinite variance (an empty arm) carries no evidence. */
function informative(d: DifferenceEstimate): boolean {
  return Number.isFinite(d.estimate) && Number.isFinite(d.variance) && d.variance >= 0 && d.n > 0;
}

/** Variance floor: a zero variance (constant data) must not produce NaN or an infinite ratio. */
function safeVariance(d: DifferenceEstimate): number {
  const v = Number.isFinite(d.variance) && d.variance > 0 ? d.variance : 0;
  return Math.max(v, 1e-12 * Math.max(1, d.estimate * d.estimate));
}

/** τ², the mixture variance in the units of θ. */
function mixtureTau2(v: number, d: DifferenceEstimate, opts: SequentialOptions): number {
  return mixtureRho2(opts.alpha, opts.planN) * v * Math.max(1, d.n);
}

/**
 * log Λ(s) of the half-normal mixture for a standardised excess s = θ̂ − θ0, variance v, mixture
 * variance τ²: Λ = 2 √(v/(v+τ²)) · exp(s²τ² / (2v(v+τ²))) · Φ(sτ / √(v(v+τ²))).
 */
function logMixture(s: number, v: number, tau2: number): number {
  const vt = v + tau2;
  return Math.LN2 + 0.5 * Math.log(v / vt) + (s * s * tau2) / (2 * v * vt) + logNormalCdf((s * Math.sqrt(tau2)) / Math.sqrt(v * vt));
}

/** The excess s* > 0 with Λ(s*) = 1/alpha (Λ increases with s), found by bisection. */
function criticalExcess(v: number, tau2: number, alpha: number): number {
  const target = -Math.log(alpha);
  let lo = 0;
  let hi = Math.sqrt(((2 * v * (v + tau2)) / tau2) * (target + 0.5 * Math.log((v + tau2) / v)));
  // `hi` is a proven upper bracket (Φ ≥ 1/2 there); make sure of it numerically anyway.
  while (logMixture(hi, v, tau2) < target) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-13 * hi; i++) {
    const mid = 0.5 * (lo + hi);
    if (logMixture(mid, v, tau2) >= target) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * One-sided sequential test of H0: θ ≤ `nullValue` against θ > `nullValue`, where θ is the quantity
 * `d` estimates. Valid at every look; evaluate as often as you like and stop at the first rejection.
 */
export function sequentialTest(d: DifferenceEstimate, nullValue: number, opts: SequentialOptions): SequentialResult {
  const threshold = -Math.log(opts.alpha);
  if (!informative(d)) {
    return { reject: false, estimate: d.estimate, lowerBound: -Infinity, nullValue, logLR: -Infinity, threshold, pValue: 1, se: Infinity };
  }
  const v = safeVariance(d);
  const tau2 = mixtureTau2(v, d, opts);
  const logLR = logMixture(d.estimate - nullValue, v, tau2);
  const lowerBound = d.estimate - criticalExcess(v, tau2, opts.alpha);
  return {
    reject: logLR >= threshold,
    estimate: d.estimate,
    lowerBound,
    nullValue,
    logLR,
    threshold,
    pValue: Math.min(1, Math.exp(-logLR)),
    se: Math.sqrt(v),
  };
}

/** Anytime-valid lower confidence bound for θ at level 1 − alpha. */
export function sequentialLowerBound(d: DifferenceEstimate, opts: SequentialOptions): number {
  if (!informative(d)) return -Infinity;
  const v = safeVariance(d);
  return d.estimate - criticalExcess(v, mixtureTau2(v, d, opts), opts.alpha);
}

/** Anytime-valid upper confidence bound for θ at level 1 − alpha. */
export function sequentialUpperBound(d: DifferenceEstimate, opts: SequentialOptions): number {
  return -sequentialLowerBound({ ...d, estimate: -d.estimate }, opts);
}

/** Fixed-sample one-sided lower bound θ̂ − z₁₋ₐ·se (valid for one look only). */
export function fixedLowerBound(d: DifferenceEstimate, alpha: number): number {
  if (!informative(d)) return -Infinity;
  return d.estimate - normalQuantile(1 - alpha) * Math.sqrt(Math.max(0, d.variance));
}

/** Result of a harm test: does the candidate do harm beyond the effect-size floor? */
export interface HarmTestResult extends SequentialResult {
  /** The effect-size floor: harm up to this size is tolerated and never triggers. */
  floor: number;
}

/**
 * Harm test with an effect-size floor: `harm` is oriented so that positive means the candidate is
 * worse. Rejects (harm proven) only when the anytime-valid lower bound of the harm exceeds `floor`,
 * so differences smaller than the floor never trigger however much data accumulates.
 */
export function harmTest(harm: DifferenceEstimate, floor: number, opts: SequentialOptions): HarmTestResult {
  return { ...sequentialTest(harm, floor, opts), floor };
}

/** Result of a non-inferiority test of candidate − control against −margin. */
export interface NonInferiorityResult {
  /** True when the lower bound of candidate − control is above −margin. */
  pass: boolean;
  estimate: number;
  /** Lower confidence bound of candidate − control (anytime-valid when sequential). */
  lowerBound: number;
  /** −margin. */
  threshold: number;
  se: number;
  /** Whether the bound is the anytime-valid one. */
  sequential: boolean;
}

/**
 * Non-inferiority: pass when the lower confidence bound of candidate − control exceeds −margin.
 * Sequential (default) when checked repeatedly, as a canary is; `sequential: false` gives the
 * fixed-sample bound for a single look.
 */
export function nonInferiorityTest(
  diff: DifferenceEstimate,
  margin: number,
  opts: SequentialOptions & { sequential?: boolean },
): NonInferiorityResult {
  const sequential = opts.sequential ?? true;
  const lowerBound = sequential ? sequentialLowerBound(diff, opts) : fixedLowerBound(diff, opts.alpha);
  return {
    pass: lowerBound > -margin,
    estimate: diff.estimate,
    lowerBound,
    threshold: -margin,
    se: Math.sqrt(Math.max(0, diff.variance)),
    sequential,
  };
}

/** Harmonic mean of two counts (the effective samples per arm of a two-sample comparison). */
export function effectiveN(na: number, nb: number): number {
  return na > 0 && nb > 0 ? 2 / (1 / na + 1 / nb) : 0;
}

/**
 * Difference of two proportions a − b. The variance uses (x+1)/(n+2) per arm so that 0 % or 100 %
 * observed rates (common early in a canary) do not give a zero variance and a spurious certainty.
 */
export function proportionDifference(xa: number, na: number, xb: number, nb: number): DifferenceEstimate {
  const pa = na > 0 ? xa / na : 0;
  const pb = nb > 0 ? xb / nb : 0;
  const sa = (xa + 1) / (na + 2);
  const sb = (xb + 1) / (nb + 2);
  const variance = (na > 0 ? (sa * (1 - sa)) / na : Infinity) + (nb > 0 ? (sb * (1 - sb)) / nb : Infinity);
  return { estimate: pa - pb, variance, n: effectiveN(na, nb) };
}

/** Difference of two means a − b from running sums (Welch variance). */
export function meanDifference(a: MomentSums, b: MomentSums): DifferenceEstimate {
  const ma = a.n > 0 ? a.sum / a.n : 0;
  const mb = b.n > 0 ? b.sum / b.n : 0;
  const variance = (a.n > 0 ? momentVariance(a) / a.n : Infinity) + (b.n > 0 ? momentVariance(b) / b.n : Infinity);
  return { estimate: ma - mb, variance, n: effectiveN(a.n, b.n) };
}

/** The same difference with the sign flipped (b − a), e.g. to orient a metric as harm. */
export function negate(d: DifferenceEstimate): DifferenceEstimate {
  return { ...d, estimate: -d.estimate };
}
