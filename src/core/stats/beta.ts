/**
 * Special functions the Beta Thompson-sampling policy needs to turn posteriors into exact action
 * probabilities: the Beta density and distribution function (regularised incomplete beta). The
 * normal distribution and log Γ are the core's (src/core/stats). jstat is the test oracle.
 */
import { lnGamma } from './gamma.js';

/** log B(a, b). */
export function logBeta(a: number, b: number): number {
  return lnGamma(a) + lnGamma(b) - lnGamma(a + b);
}

/** Beta(a, b) density at x. */
export function betaPdf(x: number, a: number, b: number, lbeta = logBeta(a, b)): number {
  if (x <= 0 || x >= 1) {
    if (x === 0 && a < 1) return Infinity;
    if (x === 1 && b < 1) return Infinity;
    if (x === 0 && a === 1) return Math.exp(-lbeta);
    if (x === 1 && b === 1) return Math.exp(-lbeta);
    return 0;
  }
  return Math.exp((a - 1) * Math.log(x) + (b - 1) * Math.log1p(-x) - lbeta);
}

/** Regularised incomplete beta I_x(a, b) = Beta(a, b) distribution function at x. */
export function betaCdf(x: number, a: number, b: number, lbeta = logBeta(a, b)): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(a * Math.log(x) + b * Math.log1p(-x) - lbeta);
  // The continued fraction converges fast for x < (a + 1) / (a + b + 2); use the symmetry otherwise.
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const TINY = 1e-300;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}
