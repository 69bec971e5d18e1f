/**
 * Small interval and moment helpers for displaying rates and means. Rates are shown with Wilson
 * score intervals because the naive normal interval collapses to a point at 0 % and 100 % and is
 * badly off for the small counts a young canary has.
 */
import { normalQuantile } from './normal.js';

/** A two-sided interval around an estimate. */
export interface Interval {
  /** The point estimate. */
  estimate: number;
  lo: number;
  hi: number;
  /** Number of observations behind it. */
  n: number;
  /** Two-sided confidence level, e.g. 0.95. */
  confidence: number;
}

const zCache = new Map<number, number>();

/** Two-sided z for a confidence level (memoised: verdicts ask for the same few levels every minute). */
export function twoSidedZ(confidence: number): number {
  let z = zCache.get(confidence);
  if (z === undefined) {
    z = normalQuantile(1 - (1 - confidence) / 2);
    if (zCache.size < 64) zCache.set(confidence, z);
  }
  return z;
}

/**
 * Wilson score interval for a binomial proportion `successes / n`.
 * With n = 0 the interval is the whole of [0, 1] and the estimate is NaN (nothing is known).
 * @param confidence two-sided level. @default 0.95
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): Interval {
  if (!(n > 0)) return { estimate: Number.NaN, lo: 0, hi: 1, n: 0, confidence };
  const p = Math.min(1, Math.max(0, successes / n));
  const z = twoSidedZ(confidence);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { estimate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half), n, confidence };
}

/** Running sums from which a mean and a variance follow; what a slice aggregate stores per metric. */
export interface MomentSums {
  /** Number of observations. */
  n: number;
  /** Σ x. */
  sum: number;
  /** Σ x². */
  sumSq: number;
}

/** Empty sums. */
export function emptyMoments(): MomentSums {
  return { n: 0, sum: 0, sumSq: 0 };
}

/** Add one observation (returns new sums; the argument is not changed). */
export function addMoment(m: MomentSums, x: number): MomentSums {
  return { n: m.n + 1, sum: m.sum + x, sumSq: m.sumSq + x * x };
}

/** Mean of the sums (NaN when empty). */
export function momentMean(m: MomentSums): number {
  return m.n > 0 ? m.sum / m.n : Number.NaN;
}

/**
 * Unbiased sample variance from the sums (0 with fewer than two observations). Clamped at zero:
 * Σx² − (Σx)²/n can come out slightly negative in floating point for near-constant data.
 */
export function momentVariance(m: MomentSums): number {
  if (m.n < 2) return 0;
  return Math.max(0, (m.sumSq - (m.sum * m.sum) / m.n) / (m.n - 1));
}

/** Normal (CLT) interval for a mean, for display beside the sequential bounds. */
export function meanInterval(m: MomentSums, confidence = 0.95): Interval {
  if (m.n <= 0) return { estimate: Number.NaN, lo: Number.NaN, hi: Number.NaN, n: 0, confidence };
  const mean = m.sum / m.n;
  const z = twoSidedZ(confidence);
  const half = z * Math.sqrt(momentVariance(m) / m.n);
  return { estimate: mean, lo: mean - half, hi: mean + half, n: m.n, confidence };
}
