/**
 * What the streaming evaluator accumulates: moments of every estimator's per-event contributions,
 * the SNIPS sums, the weight sketch and largest weights, agreement and support counts. Plain fields,
 * so that the accumulator (estimators.ts) adds to them and the summary (summary.ts) reads them.
 */
import { TopValues, WeightSketch } from './weights.js';

/** Running mean, variance (Welford), minimum and maximum. */
export class Moments {
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

/** Bootstrap columns, in push order. */
export const Col = { R: 0, WR: 1, W: 2, CWR: 3, DM: 4, DR: 5, SDR: 6 } as const;
export const COLS = 7;

/** The accumulated sums of one evaluation (see the module comment). */
export class Sums {
  n = 0;
  readonly invalid: Record<string, number> = {};
  readonly mR = new Moments();
  readonly mIps = new Moments();
  readonly mClip = new Moments();
  readonly mDm = new Moments();
  readonly mDr = new Moments();
  readonly mSdr = new Moments();
  readonly mLo = new Moments();
  readonly mHi = new Moments();
  readonly mSlice = new Moments();
  // SNIPS sums (ratio estimator with delta-method variance).
  sW = 0;
  sW2 = 0;
  sWR = 0;
  sWR2 = 0;
  sW_WR = 0;
  readonly sketch = new WeightSketch();
  readonly top = new TopValues(2048);
  sumPiA = 0;
  agree = 0;
  baselineN = 0;
  baselineAgree = 0;
  defaulted = 0;
  missing = 0;
  ones = 0;
  noPrediction = 0;
  clipped = 0;
  switched = 0;
  // The ranges DR's and Switch-DR's contributions could take with any rewards in [0, 1] (Bernstein).
  drLo = Infinity;
  drHi = -Infinity;
  sdrLo = Infinity;
  sdrHi = -Infinity;
  // Support: exact unsupported mass where known, mean weight where only μ(a_i) < 1 is known.
  exactN = 0;
  exactDeficit = 0;
  partialN = 0;
  partialW = 0;
  partialW2 = 0;
}
