/**
 * Quantiles of a stream (p95 latency) in bounded memory with a proven error: a log-bucket sketch in
 * the manner of DDSketch. A value x > 0 goes to bucket ⌈log_γ x⌉ with γ = (1+a)/(1−a); every value
 * in a bucket is within relative error a of the bucket's representative, so any quantile is
 * returned within relative error a of the exact one. Sketches with the same accuracy merge exactly
 * (canary slices from several replicas add up), and the state is plain JSON.
 */
import { z } from 'zod';
import { enlarged } from '../typed-arrays.js';

/** Values at or below this count as zero (a latency of a nanosecond or less is "instant"). */
const ZERO_LIMIT = 1e-9;

/** Serialisable state of a quantile sketch. */
export const QuantileSketchStateSchema = z.object({
  /** Relative accuracy a in (0, 1). */
  accuracy: z.number().gt(0).lt(1),
  /** Number of values added. */
  count: z.number().int().min(0),
  /** Values at or below 1e-9 (and negative values, clamped). */
  zeros: z.number().int().min(0),
  /** Smallest and largest value added, null when empty. */
  min: z.number().nullable(),
  max: z.number().nullable(),
  /** Sum of the values added (for the mean). */
  sum: z.number(),
  /** Bucket index → count. */
  bins: z.record(z.string(), z.number().int().min(0)),
});
export type QuantileSketchState = z.infer<typeof QuantileSketchStateSchema>;

/** A mergeable quantile sketch with relative accuracy `accuracy`. */
export class QuantileSketch {
  readonly accuracy: number;
  private readonly logGamma: number;
  private readonly gamma: number;
  private readonly bins = new Map<number, number>();
  private sortedKeys: number[] | null = null;
  private n = 0;
  private zeros = 0;
  private lo = Infinity;
  private hi = -Infinity;
  private total = 0;

  /** @param accuracy relative accuracy of every quantile. @default 0.01 */
  constructor(accuracy = 0.01) {
    if (!(accuracy > 0 && accuracy < 1)) throw new RangeError(`sketch accuracy must be in (0, 1), got ${accuracy}`);
    this.accuracy = accuracy;
    this.gamma = (1 + accuracy) / (1 - accuracy);
    this.logGamma = Math.log(this.gamma);
  }

  /** Rebuild a sketch from its JSON state (validate untrusted input with the schema first). */
  static fromJSON(state: QuantileSketchState): QuantileSketch {
    const s = new QuantileSketch(state.accuracy);
    for (const [k, c] of Object.entries(state.bins)) if (c > 0) s.bins.set(Number(k), c);
    s.n = state.count;
    s.zeros = state.zeros;
    s.lo = state.min ?? Infinity;
    s.hi = state.max ?? -Infinity;
    s.total = state.sum;
    return s;
  }

  /** Plain JSON state. */
  toJSON(): QuantileSketchState {
    const bins: Record<string, number> = {};
    for (const k of this.keys()) bins[String(k)] = this.bins.get(k)!;
    return {
      accuracy: this.accuracy,
      count: this.n,
      zeros: this.zeros,
      min: this.n > 0 ? this.lo : null,
      max: this.n > 0 ? this.hi : null,
      sum: this.total,
      bins,
    };
  }

  /** Number of values added. */
  get count(): number {
    return this.n;
  }

  /** Mean of the values added (NaN when empty). */
  get mean(): number {
    return this.n > 0 ? this.total / this.n : Number.NaN;
  }

  /** Add a value `weight` times. Non-finite values are ignored (returns false); negatives count as 0. */
  add(x: number, weight = 1): boolean {
    if (!Number.isFinite(x) || !(weight > 0) || !Number.isInteger(weight)) return false;
    const v = Math.max(0, x);
    if (v <= ZERO_LIMIT) this.zeros += weight;
    else {
      const k = Math.ceil(Math.log(v) / this.logGamma);
      const c = this.bins.get(k);
      if (c === undefined) this.sortedKeys = null;
      this.bins.set(k, (c ?? 0) + weight);
    }
    this.n += weight;
    this.total += v * weight;
    if (v < this.lo) this.lo = v;
    if (v > this.hi) this.hi = v;
    return true;
  }

  /** Add every value of another sketch with the same accuracy. */
  merge(other: QuantileSketch): this {
    if (other.accuracy !== this.accuracy) throw new RangeError(`cannot merge sketches of accuracy ${this.accuracy} and ${other.accuracy}`);
    for (const [k, c] of other.bins) {
      const mine = this.bins.get(k);
      if (mine === undefined) this.sortedKeys = null;
      this.bins.set(k, (mine ?? 0) + c);
    }
    this.n += other.n;
    this.zeros += other.zeros;
    this.total += other.total;
    this.lo = Math.min(this.lo, other.lo);
    this.hi = Math.max(this.hi, other.hi);
    return this;
  }

  /**
   * The q-quantile (q in [0, 1]): within relative error `accuracy` of the value of rank
   * ⌊q·(count−1)⌋ in the sorted stream (see `exactQuantile`). NaN when empty.
   */
  quantile(q: number): number {
    if (this.n === 0 || Number.isNaN(q)) return Number.NaN;
    const rank = Math.floor(Math.min(1, Math.max(0, q)) * (this.n - 1));
    if (rank < this.zeros) return 0;
    let seen = this.zeros;
    for (const k of this.keys()) {
      seen += this.bins.get(k)!;
      if (seen > rank) {
        const rep = (2 * Math.pow(this.gamma, k)) / (this.gamma + 1);
        return Math.min(this.hi, Math.max(this.lo, rep));
      }
    }
    return this.hi;
  }

  private keys(): number[] {
    if (this.sortedKeys === null) this.sortedKeys = [...this.bins.keys()].sort((a, b) => a - b);
    return this.sortedKeys;
  }
}

/** The exact q-quantile of `values` with the sketch's rank convention: sorted[⌊q·(n−1)⌋]. */
export function exactQuantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(Math.min(1, Math.max(0, q)) * (sorted.length - 1))]!;
}

/** Nearest-rank percentile: the ⌈q·n⌉-th smallest value, NaN when empty (copies; does not reorder the input). */
export function percentile(xs: ArrayLike<number>, q: number): number {
  const n = xs.length;
  if (n === 0) return NaN;
  const s = Float64Array.from(xs).sort();
  const k = Math.min(n, Math.max(1, Math.ceil(q * n)));
  return s[k - 1]!;
}

/** Every value of a stream, kept in a growing Float64Array, for exact percentiles (KPI latencies). */
export class SampleBuffer {
  private buf = new Float64Array(1024);
  private n = 0;

  push(x: number): void {
    if (this.n === this.buf.length) this.buf = enlarged(this.buf, this.buf.length * 2);
    this.buf[this.n++] = x;
  }

  /** Values kept. */
  get count(): number {
    return this.n;
  }

  /** The nearest-rank percentile of the values (NaN when empty). */
  percentile(q: number): number {
    return percentile(this.buf.subarray(0, this.n), q);
  }
}
