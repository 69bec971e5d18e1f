/**
 * Seeded randomness. Two tools:
 * - `Rng`: a small, fast generator (sfc32) with serialisable state, for simulations and bootstraps.
 * - `drawFor(seed, id)`: the one uniform number a decision with this id uses, so that any decision
 *   can be replayed from the seed and the event id alone.
 */
import { murmur3 } from './hash.js';

const TWO_POW_32 = 4294967296;

/** A uniform number in [0, 1) derived only from `seed` and `id` (53 bits of resolution). */
export function drawFor(seed: number, id: string, stream = 0): number {
  const s = (seed ^ Math.imul(stream + 1, 0x9e3779b1)) >>> 0;
  const hi = murmur3(id, s) >>> 5; // 27 bits
  const lo = murmur3(id, (s ^ 0x85ebca6b) >>> 0) >>> 6; // 26 bits
  return (hi * 67108864 + lo) / 9007199254740992;
}

/** Serialisable generator state. */
export interface RngState {
  a: number;
  b: number;
  c: number;
  d: number;
}

/** sfc32: small fast counting generator; passes PractRand to large sizes; 128-bit state. */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spare: number | undefined;

  /** Seed 0 is a seed like any other. `stream` gives independent generators for one seed. */
  constructor(seed: number, stream = 0) {
    const s = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    this.a = murmur3(`a:${stream}`, s ^ hi);
    this.b = murmur3(`b:${stream}`, s);
    this.c = murmur3(`c:${stream}`, hi);
    this.d = 1;
    for (let i = 0; i < 15; i++) this.nextU32();
  }

  static fromState(st: RngState): Rng {
    const r = new Rng(0);
    r.a = st.a >>> 0;
    r.b = st.b >>> 0;
    r.c = st.c >>> 0;
    r.d = st.d >>> 0;
    return r;
  }

  state(): RngState {
    return { a: this.a, b: this.b, c: this.c, d: this.d };
  }

  /** Uniform unsigned 32-bit integer. */
  nextU32(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1) with 53 bits. */
  next(): number {
    const hi = this.nextU32() >>> 5;
    const lo = this.nextU32() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spare !== undefined) {
      const s = this.spare;
      this.spare = undefined;
      return s;
    }
    for (;;) {
      const u = 2 * this.next() - 1;
      const v = 2 * this.next() - 1;
      const q = u * u + v * v;
      if (q > 0 && q < 1) {
        const f = Math.sqrt((-2 * Math.log(q)) / q);
        this.spare = v * f;
        return u * f;
      }
    }
  }

  /** Gamma(shape, 1) (Marsaglia–Tsang; boosted for shape < 1). */
  gamma(shape: number): number {
    if (shape < 1) {
      const u = this.next();
      return this.gamma(shape + 1) * Math.pow(u === 0 ? Number.MIN_VALUE : u, 1 / shape);
    }
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.next();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Beta(a, b). */
  beta(a: number, b: number): number {
    const x = this.gamma(a);
    const y = this.gamma(b);
    return x / (x + y);
  }

  /** Index drawn from unnormalised non-negative weights. */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) total += weights[i]!;
    return pickIndex(weights, this.next() * total);
  }
}

/** Index i such that the cumulative weight first exceeds `target` (last index as a guard). */
export function pickIndex(weights: ArrayLike<number>, target: number): number {
  let acc = 0;
  for (let i = 0; i < weights.length; i++) {
    acc += weights[i]!;
    if (target < acc) return i;
  }
  for (let i = weights.length - 1; i >= 0; i--) if (weights[i]! > 0) return i;
  return weights.length - 1;
}
