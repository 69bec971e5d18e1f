/**
 * Names of hashed features and the quantile bins they use. The dense and the sparse form of the
 * feature map hash the same names, so a category, a bin or an interaction means one thing in both.
 */
import type { ContextValue } from '../events.js';

/** Quantile edges splitting `values` into at most `bins` bins (duplicates removed). */
export function quantileEdges(values: number[], bins: number): number[] {
  const sorted = Float64Array.from(values).sort();
  const edges: number[] = [];
  for (let j = 1; j < bins; j++) {
    const e = sorted[Math.min(sorted.length - 1, Math.floor((j * sorted.length) / bins))]!;
    if (edges.length === 0 || e > edges[edges.length - 1]!) edges.push(e);
  }
  return edges;
}

/** The category of v's bin: `key#b=<number of edges ≤ v>`. */
export function binName(key: string, edges: Float64Array, v: number): string {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return `${key}#b=${lo}`;
}

/** `key=value` of a category or boolean. */
export function categoryName(key: string, v: Exclude<ContextValue, null>): string {
  return `${key}=${typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v)}`;
}

/** The hashed name of a numeric key without a dedicated slot. */
export function numericName(key: string): string {
  return `#${key}`;
}

/** The hashed names of a cyclic key's sine and cosine (sparse form; the dense form gives them slots). */
export function cyclicNames(key: string): [string, string] {
  return [`${key}@sin`, `${key}@cos`];
}

/** Name of the bias feature in the sparse form (no context key can produce it: categories hold `=`). */
export const BIAS_NAME = '^bias';

/**
 * Feed the base-36 token ids of a `<key>_tokens` or `<key>_grams` value (space-separated) to `each`
 * as 32-bit hashes mixed with `seed`, without allocating.
 */
export function eachToken(tokens: string, seed: number, mix: (h: number) => number, each: (h: number) => void): void {
  let acc = 0;
  let any = false;
  for (let i = 0; i <= tokens.length; i++) {
    const c = i < tokens.length ? tokens.charCodeAt(i) : 32;
    if (c === 32) {
      if (any) each(mix((acc ^ seed) >>> 0));
      acc = 0;
      any = false;
      continue;
    }
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 122 ? c - 87 : -1;
    if (d < 0) continue;
    acc = acc * 36 + d;
    any = true;
  }
}
