/**
 * Confidence intervals for off-policy estimates: the normal (CLT) interval, the empirical-Bernstein
 * bound (finite-sample, for gating), and a streaming Poisson bootstrap whose memory does not grow
 * with the log: contributions are buffered in blocks of 1,024 events and every block is resampled B
 * times while it sits in cache, so a million events × a thousand resamples takes seconds.
 */
import { normalQuantile } from '../stats/normal.js';
import { Rng } from '../rng.js';

/** A closed interval [lo, hi] (a confidence interval of an estimate). */
export type Ci = [number, number];

/** Which interval a `ci` is. */
export const IntervalMethod = {
  NORMAL: 'normal',
  BOOTSTRAP: 'bootstrap',
  BERNSTEIN: 'bernstein',
} as const;
export type IntervalMethod = (typeof IntervalMethod)[keyof typeof IntervalMethod];

/** Two-sided standard-normal critical value for a confidence level (1.96 at 0.95). */
export function zFor(confidence: number): number {
  return normalQuantile(1 - (1 - confidence) / 2);
}

/**
 * Normal (CLT) interval for a mean: `mean ± z·√(variance/n)`, where `variance` is the per-sample
 * variance of the contributions (n − 1 denominator).
 */
export function normalInterval(mean: number, variance: number, n: number, confidence: number): Ci {
  if (!(n > 0)) return [NaN, NaN];
  const h = zFor(confidence) * Math.sqrt(Math.max(0, variance) / n);
  return [mean - h, mean + h];
}

/**
 * Half-width of the empirical-Bernstein bound of Maurer and Pontil (2009, theorem 4) for the mean
 * of n i.i.d. values in an interval of length `range`, at failure probability `delta` per side:
 * √(2·V·ln(2/δ)/n) + 7·range·ln(2/δ) / (3(n − 1)), with V the sample variance (n − 1 denominator).
 */
export function bernsteinHalfWidth(variance: number, n: number, range: number, delta: number): number {
  if (n < 2) return Infinity;
  const l = Math.log(2 / delta);
  return Math.sqrt((2 * Math.max(0, variance) * l) / n) + (7 * Math.max(0, range) * l) / (3 * (n - 1));
}

/**
 * Two-sided empirical-Bernstein interval at `confidence` (δ = (1 − confidence)/2 on each side).
 * Valid for any distribution on an interval of length `range`; wider than the normal interval,
 * by design: gates use it so that a heavy tail cannot make a weak candidate look proven.
 */
export function bernsteinInterval(mean: number, variance: number, n: number, range: number, confidence: number): Ci {
  const h = bernsteinHalfWidth(variance, n, range, (1 - confidence) / 2);
  return [mean - h, mean + h];
}

/** Intersect an interval with [lo, hi] (the reward range: the true value lies in it). */
export function clampInterval(ci: Ci, lo = 0, hi = 1): Ci {
  return [Math.min(hi, Math.max(lo, ci[0])), Math.max(lo, Math.min(hi, ci[1]))];
}

/** The q-quantile of sorted values (linear interpolation between order statistics, type 7). */
export function sortedQuantile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * Math.min(1, Math.max(0, q));
  const i = Math.floor(h);
  const lo = sorted[i]!;
  const hi = sorted[Math.min(n - 1, i + 1)]!;
  return lo + (h - i) * (hi - lo);
}

/** Percentile interval of bootstrap statistics (NaNs, from empty resamples, are dropped). */
export function percentileInterval(stats: ArrayLike<number>, confidence: number): Ci {
  const xs = Float64Array.from(stats).filter((x) => Number.isFinite(x)).sort();
  const a = (1 - confidence) / 2;
  return [sortedQuantile(xs, a), sortedQuantile(xs, 1 - a)];
}

/**
 * Advance an sfc32 state (a, b, c, d in `st`) by `calls` outputs, as the kernels draw them. A small
 * function of its own: inlined in the kernels' large bodies the same loop runs several times slower.
 */
function advance(st: Int32Array, calls: number): void {
  let a = st[0]!;
  let b = st[1]!;
  let c = st[2]!;
  let d = st[3]!;
  for (let k = 0; k < calls; k++) {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
  }
  st[0] = a;
  st[1] = b;
  st[2] = c;
  st[3] = d;
}

/** Poisson(1) variates indexed by 16 random bits: entry u is the smallest k with CDF(k) > (u + ½)/65536. */
const POISSON_TABLE: Uint8Array = (() => {
  const t = new Uint8Array(65536);
  let k = 0;
  let p = Math.exp(-1);
  let cdf = p;
  for (let u = 0; u < 65536; u++) {
    const q = (u + 0.5) / 65536;
    while (cdf < q) {
      k++;
      p /= k;
      cdf += p;
    }
    t[u] = k;
  }
  return t;
})();

const BLOCK = 1024;

/**
 * Streaming Poisson bootstrap over K columns of per-event contributions. Every event gets, in each
 * of the B resamples, a Poisson(1) count (the large-n limit of the multinomial bootstrap), the same
 * count for all K columns, so that ratios (SNIPS: numerator and denominator) are resampled together.
 * `sums()` returns, per resample r, the weighted column sums at `r·(K+1) + k` and the total count at
 * `r·(K+1) + K`; a mean-type statistic is sum_k / count. Memory is O(B·K + 1024·K).
 *
 * The random stream is sfc32 seeded through `Rng`, so a seed reproduces every resample.
 */
export class PoissonBootstrap {
  readonly columns: number;
  readonly resamples: number;
  private readonly buf: Float64Array[];
  private readonly zero = new Float64Array(BLOCK);
  private fill = 0;
  private readonly acc: Float64Array;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** The resamples this instance sums, `[from, to)`; the others' draws are skipped, not used. */
  private readonly from: number;
  private readonly to: number;

  /**
   * `range` restricts the sums to resamples `[from, to)` (the others stay 0): two instances with
   * complementary ranges, on two threads, give together exactly the sums of one without a range.
   */
  constructor(columns: number, resamples: number, seed: number, range?: { from: number; to: number }) {
    if (!(columns >= 1) || !(resamples >= 1)) throw new RangeError('PoissonBootstrap needs at least one column and one resample');
    this.from = Math.max(0, range?.from ?? 0);
    this.to = Math.min(resamples, range?.to ?? resamples);
    this.columns = columns;
    this.resamples = resamples;
    this.buf = Array.from({ length: columns }, () => new Float64Array(BLOCK));
    this.acc = new Float64Array(resamples * (columns + 1));
    const st = new Rng(seed, 0x0b5).state();
    this.a = st.a | 0;
    this.b = st.b | 0;
    this.c = st.c | 0;
    this.d = st.d | 0;
  }

  /** Add one event's contributions (length ≥ columns; extra entries are ignored). */
  push(values: ArrayLike<number>): void {
    const i = this.fill;
    for (let k = 0; k < this.columns; k++) this.buf[k]![i] = values[k]!;
    if (++this.fill === BLOCK) this.flush();
  }

  /** Add one event whose contributions are given one by one (avoids an array per event). */
  push4(v0: number, v1 = 0, v2 = 0, v3 = 0): void {
    const i = this.fill;
    const b = this.buf;
    b[0]![i] = v0;
    if (this.columns > 1) b[1]![i] = v1;
    if (this.columns > 2) b[2]![i] = v2;
    if (this.columns > 3) b[3]![i] = v3;
    if (++this.fill === BLOCK) this.flush();
  }

  /** The random stream's state (a, b, c, d) after `calls` more draws. */
  private skipDraws(a: number, b: number, c: number, d: number, calls: number): [number, number, number, number] {
    const st = Int32Array.of(a, b, c, d);
    advance(st, calls);
    return [st[0]!, st[1]!, st[2]!, st[3]!];
  }

  /** Per-resample sums (see the class comment). Flushes the pending block; more pushes may follow. */
  sums(): Float64Array {
    if (this.fill > 0) this.flush();
    return this.acc;
  }

  private flush(): void {
    const m = this.fill;
    this.fill = 0;
    const K = this.columns;
    const B = this.resamples;
    const stride = K + 1;
    const acc = this.acc;
    const tbl = POISSON_TABLE;
    const a0 = this.a;
    const b0 = this.b;
    const c0 = this.c;
    const d0 = this.d;
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    // Columns go eight (or, for few columns, four) at a time; each group replays the same random
    // stream, hence the same counts. Every column's sum is formed the same way in both kernels.
    for (let g = 0; g < K; g += K - g > 4 ? 8 : 4) {
      if (K - g > 4) {
        const st = this.flush8(g, m, a0, b0, c0, d0);
        a = st[0]!;
        b = st[1]!;
        c = st[2]!;
        d = st[3]!;
        continue;
      }
      a = a0;
      b = b0;
      c = c0;
      d = d0;
      const A = this.buf[g]!;
      const Bc = g + 1 < K ? this.buf[g + 1]! : this.zero;
      const C = g + 2 < K ? this.buf[g + 2]! : this.zero;
      const D = g + 3 < K ? this.buf[g + 3]! : this.zero;
      const first = g === 0;
      for (let r = 0; r < B; r++) {
        if (r < this.from || r >= this.to) {
          // Another instance sums this resample: draw its counts' random numbers, use none.
          [a, b, c, d] = this.skipDraws(a, b, c, d, (m + 1) >> 1);
          continue;
        }
        let s0 = 0;
        let s1 = 0;
        let s2 = 0;
        let s3 = 0;
        let cnt = 0;
        let i = 0;
        for (; i + 1 < m; i += 2) {
          const t = (((a + b) | 0) + d) | 0;
          d = (d + 1) | 0;
          a = b ^ (b >>> 9);
          b = (c + (c << 3)) | 0;
          c = (c << 21) | (c >>> 11);
          c = (c + t) | 0;
          const x = tbl[t & 0xffff]!;
          const y = tbl[t >>> 16]!;
          cnt += x + y;
          s1 += x * A[i]! + y * A[i + 1]!;
          s2 += x * Bc[i]! + y * Bc[i + 1]!;
          s3 += x * C[i]! + y * C[i + 1]!;
          s0 += x * D[i]! + y * D[i + 1]!;
        }
        if (i < m) {
          const t = (((a + b) | 0) + d) | 0;
          d = (d + 1) | 0;
          a = b ^ (b >>> 9);
          b = (c + (c << 3)) | 0;
          c = (c << 21) | (c >>> 11);
          c = (c + t) | 0;
          const x = tbl[t & 0xffff]!;
          cnt += x;
          s1 += x * A[i]!;
          s2 += x * Bc[i]!;
          s3 += x * C[i]!;
          s0 += x * D[i]!;
        }
        const o = r * stride;
        acc[o + g] = acc[o + g]! + s1;
        if (g + 1 < K) acc[o + g + 1] = acc[o + g + 1]! + s2;
        if (g + 2 < K) acc[o + g + 2] = acc[o + g + 2]! + s3;
        if (g + 3 < K) acc[o + g + 3] = acc[o + g + 3]! + s0;
        if (first) acc[o + K] = acc[o + K]! + cnt;
      }
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Columns g … g+7 of a block in one pass over the random stream; returns the stream state after it. */
  private flush8(g: number, m: number, a0: number, b0: number, c0: number, d0: number): [number, number, number, number] {
    const K = this.columns;
    const B = this.resamples;
    const stride = K + 1;
    const acc = this.acc;
    const tbl = POISSON_TABLE;
    const col = (k: number): Float64Array => (g + k < K ? this.buf[g + k]! : this.zero);
    const C0 = col(0);
    const C1 = col(1);
    const C2 = col(2);
    const C3 = col(3);
    const C4 = col(4);
    const C5 = col(5);
    const C6 = col(6);
    const C7 = col(7);
    const first = g === 0;
    let a = a0;
    let b = b0;
    let c = c0;
    let d = d0;
    for (let r = 0; r < B; r++) {
      if (r < this.from || r >= this.to) {
        [a, b, c, d] = this.skipDraws(a, b, c, d, (m + 1) >> 1);
        continue;
      }
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let s4 = 0;
      let s5 = 0;
      let s6 = 0;
      let s7 = 0;
      let cnt = 0;
      let i = 0;
      for (; i + 1 < m; i += 2) {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        const x = tbl[t & 0xffff]!;
        const y = tbl[t >>> 16]!;
        cnt += x + y;
        s0 += x * C0[i]! + y * C0[i + 1]!;
        s1 += x * C1[i]! + y * C1[i + 1]!;
        s2 += x * C2[i]! + y * C2[i + 1]!;
        s3 += x * C3[i]! + y * C3[i + 1]!;
        s4 += x * C4[i]! + y * C4[i + 1]!;
        s5 += x * C5[i]! + y * C5[i + 1]!;
        s6 += x * C6[i]! + y * C6[i + 1]!;
        s7 += x * C7[i]! + y * C7[i + 1]!;
      }
      if (i < m) {
        const t = (((a + b) | 0) + d) | 0;
        d = (d + 1) | 0;
        a = b ^ (b >>> 9);
        b = (c + (c << 3)) | 0;
        c = (c << 21) | (c >>> 11);
        c = (c + t) | 0;
        const x = tbl[t & 0xffff]!;
        cnt += x;
        s0 += x * C0[i]!;
        s1 += x * C1[i]!;
        s2 += x * C2[i]!;
        s3 += x * C3[i]!;
        s4 += x * C4[i]!;
        s5 += x * C5[i]!;
        s6 += x * C6[i]!;
        s7 += x * C7[i]!;
      }
      const o = r * stride + g;
      const w = K - g;
      acc[o] = acc[o]! + s0;
      acc[o + 1] = acc[o + 1]! + s1;
      acc[o + 2] = acc[o + 2]! + s2;
      acc[o + 3] = acc[o + 3]! + s3;
      acc[o + 4] = acc[o + 4]! + s4;
      if (w > 5) acc[o + 5] = acc[o + 5]! + s5;
      if (w > 6) acc[o + 6] = acc[o + 6]! + s6;
      if (w > 7) acc[o + 7] = acc[o + 7]! + s7;
      if (first) acc[r * stride + K] = acc[r * stride + K]! + cnt;
    }
    return [a, b, c, d];
  }
}

/**
 * The sums of a `PoissonBootstrap` fed the given columns (one array per column, all of one length)
 * event by event: the same counts and the same sums. With `range`, only those resamples are summed
 * (`joinResampleSums` puts two complementary ranges together, bit for bit).
 */
export function poissonBootstrapSums(columns: readonly Float64Array[], resamples: number, seed: number, range?: { from: number; to: number }): Float64Array {
  const K = columns.length;
  const n = columns[0]?.length ?? 0;
  const b = new PoissonBootstrap(K, resamples, seed, range);
  const row = new Float64Array(K);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < K; k++) row[k] = columns[k]![i]!;
    b.push(row);
  }
  return b.sums();
}

/** The sums of resamples `[0, split)` from `low` and `[split, resamples)` from `high` (layout of `PoissonBootstrap.sums`). */
export function joinResampleSums(low: Float64Array, high: Float64Array, split: number, columns: number): Float64Array {
  const out = Float64Array.from(low);
  out.set(high.subarray(split * (columns + 1)), split * (columns + 1));
  return out;
}
