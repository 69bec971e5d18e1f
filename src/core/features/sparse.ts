/**
 * The sparse form of the feature map: the same named features as the dense form, hashed into
 * 2^bits indices instead of folded into d slots, with free text as a bag of its tokens and grams
 * (sublinear counts 1 + ln c, the bag normalised to unit length). A context gives a few dozen to a
 * few hundred nonzeros, in index order, duplicates summed.
 */
import { fmix32, murmur3 } from '../hash.js';
import { eachToken } from './names.js';
import { enlarged } from '../typed-arrays.js';

/** A sparse vector: `n` nonzeros, ascending indices in `idx[0..n)`, values in `val[0..n)`. Reused as scratch. */
export class SparseVector {
  n = 0;
  idx: Int32Array;
  val: Float64Array;

  constructor(capacity = 256) {
    this.idx = new Int32Array(capacity);
    this.val = new Float64Array(capacity);
  }

  /** Make room for `cap` entries (contents are not kept). */
  ensure(cap: number): void {
    if (this.idx.length >= cap) return;
    let c = this.idx.length;
    while (c < cap) c *= 2;
    this.idx = new Int32Array(c);
    this.val = new Float64Array(c);
  }

  /** The nonzeros as plain arrays (tests, diagnostics). */
  entries(): [number, number][] {
    const out: [number, number][] = [];
    for (let t = 0; t < this.n; t++) out.push([this.idx[t]!, this.val[t]!]);
    return out;
  }
}

/** Largest number of entries one context may emit before merging (more are ignored, see `add`). */
const MAX_ENTRIES = 1 << 20;
const POS = 1 << 20;
/** 1 + ln c for the counts a text's bag can hold without a call to Math.log. */
const SUBLINEAR = Float64Array.from({ length: 256 }, (_, c) => (c === 0 ? 0 : 1 + Math.log(c)));
const sublinear = (c: number): number => (c < 256 ? SUBLINEAR[c]! : 1 + Math.log(c));

/** Collects the entries of one context (`begin`, then `hashed` / `text` / `add`, then `finish`). */
export class SparseCollector {
  readonly bits: number;
  readonly mask: number;
  private readonly seed: number;
  private readonly tokenSeed: number;
  private idx = new Int32Array(256);
  private val = new Float64Array(256);
  private keys = new Float64Array(256);
  private count = 0;
  private bag = new Int32Array(256);
  private bagCount = 0;
  private readonly pushBag = (h: number): void => {
    if (this.bagCount === this.bag.length) this.bag = enlarged(this.bag, this.bag.length * 2);
    this.bag[this.bagCount++] = h & this.mask;
  };

  constructor(bits: number, seed: number, tokenSeed: number) {
    this.bits = bits;
    this.mask = bits >= 31 ? 0x7fffffff : (1 << bits) - 1;
    this.seed = seed;
    this.tokenSeed = tokenSeed;
  }

  begin(): void {
    this.count = 0;
  }

  /** One entry at a hashed index. */
  add(index: number, v: number): void {
    if (v === 0 || this.count >= MAX_ENTRIES) return;
    if (this.count === this.idx.length) {
      const n = this.idx.length * 2;
      this.idx = enlarged(this.idx, n);
      this.val = enlarged(this.val, n);
      this.keys = new Float64Array(n);
    }
    this.idx[this.count] = index;
    this.val[this.count] = v;
    this.count++;
  }

  /** The index of a named feature (the bias; others come hashed through `hashed`). */
  indexOf(name: string): number {
    return murmur3(name, this.seed) & this.mask;
  }

  /** One entry at the index of a feature name's 32-bit hash. */
  hashed(h: number, v: number): void {
    this.add(h & this.mask, v);
  }

  /**
   * One text's bag: its tokens and grams, each distinct index weighted 1 + ln(count), the bag
   * scaled to unit Euclidean length.
   */
  text(tokens: string | undefined, grams: string | undefined): void {
    this.bagCount = 0;
    if (tokens !== undefined) eachToken(tokens, this.tokenSeed, fmix32, this.pushBag);
    if (grams !== undefined) eachToken(grams, this.tokenSeed, fmix32, this.pushBag);
    const m = this.bagCount;
    if (m === 0) return;
    const bag = this.bag.subarray(0, m).sort();
    let norm2 = 0;
    for (let s = 0; s < m; ) {
      let e = s + 1;
      while (e < m && bag[e] === bag[s]) e++;
      const w = sublinear(e - s);
      norm2 += w * w;
      s = e;
    }
    const inv = 1 / Math.sqrt(norm2);
    for (let s = 0; s < m; ) {
      let e = s + 1;
      while (e < m && bag[e] === bag[s]) e++;
      this.add(bag[s]!, sublinear(e - s) * inv);
      s = e;
    }
  }

  /** Sort the entries by index (then by arrival), sum duplicates, drop zeros, into `out`. */
  finish(out: SparseVector): SparseVector {
    const c = this.count;
    const keys = this.keys.subarray(0, c);
    for (let t = 0; t < c; t++) keys[t] = this.idx[t]! * POS + t;
    keys.sort();
    out.ensure(c);
    let n = 0;
    let last = -1;
    for (let t = 0; t < c; t++) {
      const k = keys[t]!;
      const i = Math.floor(k / POS);
      const v = this.val[k - i * POS]!;
      if (i === last) out.val[n - 1] = out.val[n - 1]! + v;
      else {
        out.idx[n] = i;
        out.val[n] = v;
        n++;
        last = i;
      }
    }
    let w = 0;
    for (let t = 0; t < n; t++) {
      if (out.val[t] === 0) continue;
      out.idx[w] = out.idx[t]!;
      out.val[w] = out.val[t]!;
      w++;
    }
    out.n = w;
    return out;
  }
}
