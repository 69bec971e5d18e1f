/**
 * log Γ and the regularised incomplete gamma function, for the chi-square distribution that the
 * sample-ratio mismatch test needs. Written here (jstat is a dev-only oracle in the tests) so that
 * the pure core has no runtime dependency for a dozen lines of numerics.
 */

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * log Γ(z) for z > 0: Stirling's series (Bernoulli terms up to z⁻¹¹) after shifting z above 10 with
 * the recurrence Γ(z+1) = zΓ(z). Absolute error below 1e-14 over the range the tests check.
 */
export function lnGamma(z: number): number {
  if (!(z > 0)) return Number.NaN;
  let shift = 0;
  let x = z;
  while (x < 10) {
    shift += Math.log(x);
    x += 1;
  }
  const inv = 1 / x;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 * (1 / 1188 - inv2 * (691 / 360360))))));
  return (x - 0.5) * Math.log(x) - x + LOG_SQRT_2PI + series - shift;
}

/** Regularised lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0 and x ≥ 0. */
export function gammaP(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? lowerSeries(a, x) : 1 - upperFraction(a, x);
}

/** Regularised upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate when it is tiny. */
export function gammaQ(a: number, x: number): number {
  if (!(a > 0) || Number.isNaN(x)) return Number.NaN;
  if (x <= 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/** P(a, x) by its power series x^a e^{-x} Σ x^n / Γ(a + n + 1); converges fast for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let n = 1; n < 10_000; n++) {
    term *= x / (a + n);
    sum += term;
    if (term < sum * 1e-16) break;
  }
  return Math.min(1, sum * Math.exp(-x + a * Math.log(x) - lnGamma(a)));
}

/** Q(a, x) by Legendre's continued fraction (modified Lentz); converges fast for x > a + 1. */
function upperFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.max(0, Math.exp(-x + a * Math.log(x) - lnGamma(a)) * h);
}

/** Chi-square CDF with `df` degrees of freedom. */
export function chiSquareCdf(x: number, df: number): number {
  return gammaP(df / 2, x / 2);
}

/** Chi-square survival function P(X > x): the p-value of a chi-square statistic. */
export function chiSquareSf(x: number, df: number): number {
  return gammaQ(df / 2, x / 2);
}
