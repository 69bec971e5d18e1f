/**
 * The probability that each of K independent random scores is the largest, computed by numerical
 * integration instead of sampling, so that Thompson-sampling policies have deterministic action
 * probabilities:  P(i is max) = ∫ f_i(t) ∏_{j≠i} F_j(t) dt.
 *
 * The integration range is cut at breakpoints placed at fixed multiples of every score's standard
 * deviation around its mean, and each piece is integrated with Gauss–Legendre, so that a narrow
 * posterior next to a wide one is still resolved. The K results are normalised to sum to one; the
 * residual before normalisation (the quadrature error) is returned for diagnostics.
 */
import { normalCdf, normalPdf } from '../stats/normal.js';
import { betaCdf, betaPdf, logBeta } from '../stats/beta.js';

/** Breakpoints, in standard deviations around each mean. */
const CUTS = [-8, -5, -3.5, -2.5, -1.75, -1, -0.5, 0, 0.5, 1, 1.75, 2.5, 3.5, 5, 8];
/** 5-point Gauss–Legendre nodes and weights on [−1, 1]. */
const GL_X = [-0.906179845938664, -0.5384693101056831, 0, 0.5384693101056831, 0.906179845938664];
const GL_W = [0.2369268850561891, 0.4786286704993665, 0.5688888888888889, 0.4786286704993665, 0.2369268850561891];
/** Smallest standard deviation used (a point mass becomes a very narrow normal). */
const MIN_SD = 1e-9;

/** Reusable scratch space for `probMaxNormal` (grows as needed). */
export class ProbMaxScratch {
  cuts = new Float64Array(64);
  F = new Float64Array(8);
  f = new Float64Array(8);
  prefix = new Float64Array(9);
  suffix = new Float64Array(9);

  ensure(k: number): void {
    const nc = k * CUTS.length;
    if (this.cuts.length < nc) this.cuts = new Float64Array(nc);
    if (this.F.length < k) {
      this.F = new Float64Array(k);
      this.f = new Float64Array(k);
      this.prefix = new Float64Array(k + 1);
      this.suffix = new Float64Array(k + 1);
    }
  }
}

/**
 * Zero `out` and settle the cases without any integral: no active arm (all 0) or exactly one (it
 * gets 1). Returns true when settled.
 */
function settleTrivial(active: ArrayLike<number>, k: number, out: Float64Array | number[]): boolean {
  let n = 0;
  let only = -1;
  for (let i = 0; i < k; i++) {
    out[i] = 0;
    if (active[i]) {
      n++;
      only = i;
    }
  }
  if (n === 1) out[only] = 1;
  return n <= 1;
}

/**
 * P(score i is the largest) for independent normal scores N(mean[i], sd[i]²), i < k, written into
 * `out`. Entries with `active[i] === 0` take no part (probability 0). Returns the quadrature residual
 * |Σ − 1| before normalisation.
 */
export function probMaxNormal(
  mean: ArrayLike<number>,
  sd: ArrayLike<number>,
  active: ArrayLike<number>,
  k: number,
  out: Float64Array | number[],
  scratch: ProbMaxScratch = new ProbMaxScratch(),
): number {
  if (settleTrivial(active, k, out)) return 0;
  scratch.ensure(k);
  const cuts = scratch.cuts;
  let nc = 0;
  for (let i = 0; i < k; i++) {
    if (!active[i]) continue;
    const s = Math.max(sd[i]!, MIN_SD);
    for (const c of CUTS) cuts[nc++] = mean[i]! + c * s;
  }
  const sorted = cuts.subarray(0, nc).sort();
  const { F, f, prefix, suffix } = scratch;
  for (let c = 0; c + 1 < nc; c++) {
    const a = sorted[c]!;
    const b = sorted[c + 1]!;
    if (!(b > a)) continue;
    const half = 0.5 * (b - a);
    const mid = 0.5 * (a + b);
    for (let g = 0; g < GL_X.length; g++) {
      const t = mid + half * GL_X[g]!;
      for (let i = 0; i < k; i++) {
        if (!active[i]) {
          F[i] = 1;
          f[i] = 0;
          continue;
        }
        const s = Math.max(sd[i]!, MIN_SD);
        const z = (t - mean[i]!) / s;
        F[i] = normalCdf(z);
        f[i] = normalPdf(z) / s;
      }
      accumulate(k, F, f, prefix, suffix, half * GL_W[g]!, out);
    }
  }
  return normalise(k, out);
}

/**
 * P(draw i is the largest) for independent Beta(alpha[i], beta[i]) draws, i < k, into `out`
 * (entries with `active[i] === 0` get 0). Returns the quadrature residual before normalisation.
 */
export function probMaxBeta(alpha: ArrayLike<number>, beta: ArrayLike<number>, active: ArrayLike<number>, k: number, out: Float64Array | number[]): number {
  if (settleTrivial(active, k, out)) return 0;
  const lb: number[] = [];
  const cuts: number[] = [0, 1];
  for (let i = 0; i < k; i++) {
    const a = alpha[i]!;
    const b = beta[i]!;
    lb.push(logBeta(a, b));
    if (!active[i]) continue;
    const m = a / (a + b);
    const s = Math.sqrt((a * b) / ((a + b) * (a + b) * (a + b + 1)));
    for (const c of CUTS) {
      const t = m + c * s;
      if (t > 0 && t < 1) cuts.push(t);
    }
  }
  cuts.sort((x, y) => x - y);
  const F = new Float64Array(k);
  const f = new Float64Array(k);
  const prefix = new Float64Array(k + 1);
  const suffix = new Float64Array(k + 1);
  // Each piece is split in four so the densities' shoulders are resolved even when the cuts are far apart.
  for (let c = 0; c + 1 < cuts.length; c++) {
    const a0 = cuts[c]!;
    const b0 = cuts[c + 1]!;
    if (!(b0 > a0)) continue;
    for (let q = 0; q < 4; q++) {
      const a = a0 + ((b0 - a0) * q) / 4;
      const b = a0 + ((b0 - a0) * (q + 1)) / 4;
      const half = 0.5 * (b - a);
      const mid = 0.5 * (a + b);
      for (let g = 0; g < GL_X.length; g++) {
        const t = mid + half * GL_X[g]!;
        for (let i = 0; i < k; i++) {
          if (!active[i]) {
            F[i] = 1;
            f[i] = 0;
            continue;
          }
          F[i] = betaCdf(t, alpha[i]!, beta[i]!, lb[i]);
          f[i] = betaPdf(t, alpha[i]!, beta[i]!, lb[i]);
        }
        accumulate(k, F, f, prefix, suffix, half * GL_W[g]!, out);
      }
    }
  }
  return normalise(k, out);
}

/** out[i] += w · f[i] · ∏_{j≠i} F[j], using prefix and suffix products (no division by a zero F). */
function accumulate(k: number, F: Float64Array, f: Float64Array, prefix: Float64Array, suffix: Float64Array, w: number, out: Float64Array | number[]): void {
  prefix[0] = 1;
  for (let i = 0; i < k; i++) prefix[i + 1] = prefix[i]! * F[i]!;
  suffix[k] = 1;
  for (let i = k - 1; i >= 0; i--) suffix[i] = suffix[i + 1]! * F[i]!;
  for (let i = 0; i < k; i++) {
    const fi = f[i]!;
    if (fi === 0) continue;
    out[i] = out[i]! + w * fi * prefix[i]! * suffix[i + 1]!;
  }
}

function normalise(k: number, out: Float64Array | number[]): number {
  let s = 0;
  for (let i = 0; i < k; i++) s += out[i]!;
  if (!(s > 0)) return 1;
  for (let i = 0; i < k; i++) out[i] = out[i]! / s;
  return Math.abs(s - 1);
}
