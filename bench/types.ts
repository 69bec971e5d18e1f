/**
 * The shape every benchmark returns. `bench/run.ts` runs them all, writes JSON under
 * bench/results/ and a Markdown summary with medians, ratios to in-run baselines and targets.
 */

/** One measured number. `samples` are the repeated measurements; `value` is their median. */
export interface BenchMetric {
  name: string;
  value: number;
  unit: string;
  /** Whether a larger value is better (throughput) or a smaller one (time, latency, memory). */
  better: 'higher' | 'lower';
  samples?: number[];
  /** The goal from the issue, when there is one. */
  target?: number;
}

/** A ratio of a metric to an in-run baseline (e.g. ingestion time / bare parse loop time). */
export interface BenchRatio {
  name: string;
  value: number;
  better: 'higher' | 'lower';
  target?: number;
}

export interface BenchResult {
  /** Short id, e.g. `ingest`. */
  name: string;
  description: string;
  metrics: BenchMetric[];
  ratios?: BenchRatio[];
  notes?: string[];
}

/** A benchmark module exports `run`. `quick` asks for a smaller run (used by tests of the bench itself). */
export type BenchFn = (opts: { quick: boolean }) => Promise<BenchResult>;

/** Median of numbers (average of the middle two for even counts). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
