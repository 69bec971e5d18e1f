/**
 * Summaries of importance weights that fit in a fixed amount of memory whatever the log length:
 * a log-bucketed quantile sketch (max and p99 are what tell an operator whether one event dominates
 * an estimate), a bounded heap of the largest weights, and a tail-index estimate fitted to them.
 * Importance weights are often heavy-tailed; when their variance is infinite the CLT intervals
 * look precise and are wrong, which is what the tail index detects.
 */

/** Relative accuracy of the sketch's quantiles (bucket ratio 1.01, about ±0.5 %). */
const GAMMA = 1.01;
const LN_GAMMA = Math.log(GAMMA);

/**
 * Quantiles of non-negative numbers within about 0.5 % relative error, with memory proportional to
 * the log of their dynamic range (not their count). Minimum and maximum are exact.
 */
export class WeightSketch {
  private readonly buckets = new Map<number, number>();
  private zeros = 0;
  private count = 0;
  private lo = Infinity;
  private hi = -Infinity;

  /** Record one value (negative or non-finite values are ignored: weights are never negative). */
  add(w: number): void {
    if (!(w >= 0) || !Number.isFinite(w)) return;
    this.count++;
    if (w < this.lo) this.lo = w;
    if (w > this.hi) this.hi = w;
    if (w === 0) {
      this.zeros++;
      return;
    }
    const k = Math.ceil(Math.log(w) / LN_GAMMA);
    this.buckets.set(k, (this.buckets.get(k) ?? 0) + 1);
  }

  /** How many values were recorded. */
  get n(): number {
    return this.count;
  }

  /** Exact maximum (NaN when empty). */
  get max(): number {
    return this.count === 0 ? NaN : this.hi;
  }

  /** Exact minimum (NaN when empty). */
  get min(): number {
    return this.count === 0 ? NaN : this.lo;
  }

  /** The q-quantile (0 ≤ q ≤ 1), nearest rank, within the sketch's relative accuracy. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    if (q <= 0) return this.lo;
    if (q >= 1) return this.hi;
    const rank = Math.ceil(q * this.count); // 1-based nearest rank
    if (rank <= this.zeros) return 0;
    let seen = this.zeros;
    const keys = [...this.buckets.keys()].sort((a, b) => a - b);
    for (const k of keys) {
      seen += this.buckets.get(k) ?? 0;
      if (seen >= rank) {
        // Bucket k holds (γ^(k-1), γ^k]; its midpoint in relative terms is 2γ^k/(γ+1).
        const v = (2 * Math.pow(GAMMA, k)) / (GAMMA + 1);
        return Math.min(this.hi, Math.max(this.lo, v));
      }
    }
    return this.hi;
  }
}

/** The `cap` largest values seen, kept in a binary min-heap (O(log cap) per value). */
export class TopValues {
  private readonly heap: Float64Array;
  private size = 0;
  readonly cap: number;

  constructor(cap: number) {
    this.cap = Math.max(1, Math.floor(cap));
    this.heap = new Float64Array(this.cap);
  }

  add(x: number): void {
    if (!Number.isFinite(x)) return;
    const h = this.heap;
    if (this.size < this.cap) {
      let i = this.size++;
      h[i] = x;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (h[p]! <= h[i]!) break;
        const t = h[p]!;
        h[p] = h[i]!;
        h[i] = t;
        i = p;
      }
      return;
    }
    if (x <= h[0]!) return;
    h[0] = x;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < this.size && h[l]! < h[m]!) m = l;
      if (r < this.size && h[r]! < h[m]!) m = r;
      if (m === i) break;
      const t = h[m]!;
      h[m] = h[i]!;
      h[i] = t;
      i = m;
    }
  }

  /** The kept values in ascending order. */
  sorted(): Float64Array {
    return this.heap.slice(0, this.size).sort();
  }
}

/**
 * Shape parameter ξ of a generalised Pareto distribution fitted to exceedances (sorted ascending,
 * all ≥ 0), by the empirical-Bayes profile-likelihood method of Zhang and Stephens (2009), with the
 * weakly informative pull towards 0.5 used for importance weights (Vehtari et al., PSIS).
 * ξ ≥ 0.5 means the weights have infinite variance; ξ > 0.7 means importance sampling is unreliable.
 * Returns NaN when there are fewer than 5 exceedances or they are all equal.
 */
export function gpdShape(exceedances: ArrayLike<number>): number {
  const n = exceedances.length;
  if (n < 5) return NaN;
  const xmax = exceedances[n - 1]!;
  if (!(xmax > 0)) return NaN;
  const quarter = exceedances[Math.max(0, Math.floor(n / 4 + 0.5) - 1)]!;
  if (!(quarter > 0)) return NaN;
  const m = 30 + Math.floor(Math.sqrt(n));
  const theta = new Float64Array(m);
  const prof = new Float64Array(m);
  const meanLog = (t: number): number => {
    let s = 0;
    for (let i = 0; i < n; i++) s += Math.log1p(-t * exceedances[i]!);
    return s / n;
  };
  for (let j = 0; j < m; j++) {
    // Candidate values of θ = −ξ/σ spread over the plausible range (the paper's grid).
    const t = 1 / xmax + (1 - Math.sqrt(m / (j + 0.5))) / (3 * quarter);
    theta[j] = t;
    const k = meanLog(t);
    const l = n * (Math.log(-t / k) - k - 1);
    prof[j] = Number.isFinite(l) ? l : -Infinity;
  }
  let top = -Infinity;
  for (let j = 0; j < m; j++) if (prof[j]! > top) top = prof[j]!;
  if (top === -Infinity) return NaN;
  // Posterior mean of θ with weights ∝ exp(profile log-likelihood), normalised at its maximum.
  let num = 0;
  let den = 0;
  for (let j = 0; j < m; j++) {
    const w = Math.exp(prof[j]! - top);
    num += w * theta[j]!;
    den += w;
  }
  const xi = meanLog(num / den);
  if (!Number.isFinite(xi)) return NaN;
  return (n * xi + 10 * 0.5) / (n + 10);
}

/**
 * Tail index of importance weights from their largest values: the GPD shape fitted to the top
 * M = min(n/5, 3√n) weights over the next one (PSIS's choice of tail size). `top` is ascending.
 */
export function weightTailIndex(top: Float64Array, n: number): number {
  const m = Math.min(Math.floor(0.2 * n), Math.ceil(3 * Math.sqrt(n)), top.length - 1);
  if (m < 5) return NaN;
  const threshold = top[top.length - m - 1]!;
  const ex = new Float64Array(m);
  for (let i = 0; i < m; i++) ex[i] = top[top.length - m + i]! - threshold;
  return gpdShape(ex);
}
