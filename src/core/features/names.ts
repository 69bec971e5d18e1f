/**
 * Names of hashed features and the quantile bins they use. The dense and the sparse form of the
 * feature map hash the same names, so a category, a bin or an interaction means one thing in both.
 */
import type { ContextValue } from '../events.js';
import { murmur3 } from '../hash.js';

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

/** The bin of v: the number of edges ≤ v. */
export function binOf(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (edges[mid]! <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The category of v's bin: `key#b=<number of edges ≤ v>`. */
export function binName(key: string, edges: Float64Array, v: number): string {
  return `${key}#b=${binOf(edges, v)}`;
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

/** Entries a cache of `NameHashes` holds before it starts over (bounded memory on unbounded values). */
const NAME_CACHE_LIMIT = 65_536;

/**
 * The 32-bit hashes (murmur3 with the map's seed) of feature names, cached by the parts the names
 * are made of: a category by key and value, a numeric, cyclic or bin feature by key, so that a
 * walk over a context builds no name string for what it has seen before. The hash of a name is the
 * same whichever way it is asked for.
 */
export class NameHashes {
  private readonly seed: number;
  private readonly names = new Map<string, number>();
  private readonly categories = new Map<string, Map<string | boolean, number>>();
  private categoryCount = 0;
  private readonly numerics = new Map<string, number>();
  private readonly cyclics = new Map<string, [number, number]>();
  private readonly bins = new Map<string, number[]>();

  constructor(seed: number) {
    this.seed = seed;
  }

  /** The hash of any name. */
  of(name: string): number {
    let h = this.names.get(name);
    if (h === undefined) {
      h = murmur3(name, this.seed);
      if (this.names.size >= NAME_CACHE_LIMIT) this.names.clear();
      this.names.set(name, h);
    }
    return h;
  }

  /** The hash of `categoryName(key, v)`. */
  category(key: string, v: string | boolean): number {
    let byValue = this.categories.get(key);
    if (byValue === undefined) {
      byValue = new Map();
      this.categories.set(key, byValue);
    }
    let h = byValue.get(v);
    if (h === undefined) {
      h = murmur3(categoryName(key, v), this.seed);
      if (this.categoryCount >= NAME_CACHE_LIMIT) {
        for (const m of this.categories.values()) m.clear();
        this.categoryCount = 0;
      }
      byValue.set(v, h);
      this.categoryCount++;
    }
    return h;
  }

  /** The hash of `numericName(key)`. */
  numeric(key: string): number {
    let h = this.numerics.get(key);
    if (h === undefined) {
      h = murmur3(numericName(key), this.seed);
      if (this.numerics.size >= NAME_CACHE_LIMIT) this.numerics.clear();
      this.numerics.set(key, h);
    }
    return h;
  }

  private cyclic(key: string): [number, number] {
    let hs = this.cyclics.get(key);
    if (hs === undefined) {
      const [s, c] = cyclicNames(key);
      hs = [murmur3(s, this.seed), murmur3(c, this.seed)];
      if (this.cyclics.size >= NAME_CACHE_LIMIT) this.cyclics.clear();
      this.cyclics.set(key, hs);
    }
    return hs;
  }

  /** The hash of `cyclicNames(key)[0]`. */
  cyclicSin(key: string): number {
    return this.cyclic(key)[0];
  }

  /** The hash of `cyclicNames(key)[1]`. */
  cyclicCos(key: string): number {
    return this.cyclic(key)[1];
  }

  /** The hash of the name of bin `b` of `key` (`binName`). */
  bin(key: string, b: number): number {
    let list = this.bins.get(key);
    if (list === undefined) {
      list = [];
      if (this.bins.size >= NAME_CACHE_LIMIT) this.bins.clear();
      this.bins.set(key, list);
    }
    let h = list[b];
    if (h === undefined) {
      h = murmur3(`${key}#b=${b}`, this.seed);
      list[b] = h;
    }
    return h;
  }
}
