/**
 * Sample-ratio mismatch: are the slices as large as the bucketing says they should be? A canary
 * whose traffic share is off (a client caching decisions, a sticky key missing for one kind of
 * request, a bug in assignment) compares different populations, and none of its other statistics
 * can be trusted. A chi-square goodness-of-fit test on the assignment counts detects it.
 */
import { chiSquareSf } from './gamma.js';

/** Result of a sample-ratio mismatch test. */
export interface SrmResult {
  /** Pearson's chi-square statistic. */
  chi2: number;
  /** Degrees of freedom (cells − 1). */
  df: number;
  /** P(χ²_df ≥ chi2) under the expected shares. */
  pValue: number;
  /** Total count. */
  n: number;
  /** Expected count per cell. */
  expected: number[];
  /** Observed share per cell. */
  observedShares: number[];
}

/**
 * Chi-square goodness of fit of `observed` counts against `expectedShares` (normalised here, so
 * weights like [0.05, 0.05] are fine). Throws a RangeError on mismatched or invalid inputs: the
 * callers (the canary judge) validate their inputs first and turn problems into ERROR outcomes.
 */
export function srmTest(observed: readonly number[], expectedShares: readonly number[]): SrmResult {
  if (observed.length !== expectedShares.length || observed.length < 2) {
    throw new RangeError(`srmTest needs at least two cells and one expected share per cell (got ${observed.length} and ${expectedShares.length})`);
  }
  let total = 0;
  let shareSum = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const s = expectedShares[i]!;
    if (!(o >= 0) || !Number.isFinite(o)) throw new RangeError(`observed count ${i} is not a non-negative number: ${o}`);
    if (!(s > 0) || !Number.isFinite(s)) throw new RangeError(`expected share ${i} is not positive: ${s}`);
    total += o;
    shareSum += s;
  }
  const expected = expectedShares.map((s) => (total * s) / shareSum);
  let chi2 = 0;
  for (let i = 0; i < observed.length; i++) {
    const e = expected[i]!;
    if (e > 0) chi2 += (observed[i]! - e) ** 2 / e;
  }
  const df = observed.length - 1;
  return {
    chi2,
    df,
    pValue: total > 0 ? chiSquareSf(chi2, df) : 1,
    n: total,
    expected,
    observedShares: observed.map((o) => (total > 0 ? o / total : Number.NaN)),
  };
}
