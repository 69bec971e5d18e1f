import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Rng, drawFor, pickIndex } from './rng.js';

/** The mean and the mean square of n draws. */
function moments(n: number, draw: () => number): { mean: number; square: number } {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = draw();
    s += x;
    s2 += x * x;
  }
  return { mean: s / n, square: s2 / n };
}

describe('Rng', () => {
  it('is deterministic per seed, seed 0 included, and seeds differ', () => {
    const a = new Rng(0);
    const b = new Rng(0);
    const c = new Rng(1);
    const xs = Array.from({ length: 5 }, () => a.next());
    expect(Array.from({ length: 5 }, () => b.next())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.next())).not.toEqual(xs);
  });
  it('round-trips its state', () => {
    const a = new Rng(42);
    a.next();
    const st = a.state();
    const b = Rng.fromState(st);
    expect(b.next()).toBe(a.next());
  });
  it('gives uniform numbers in [0,1) with the right mean and variance', () => {
    const r = new Rng(7);
    const { mean, square } = moments(200_000, () => {
      const x = r.next();
      expect(x >= 0 && x < 1).toBe(true);
      return x;
    });
    expect(mean).toBeCloseTo(0.5, 2);
    expect(square - mean ** 2).toBeCloseTo(1 / 12, 2);
  });
  it('draws Beta with the right mean', () => {
    const r = new Rng(3);
    let s = 0;
    const n = 50_000;
    for (let i = 0; i < n; i++) s += r.beta(2, 5);
    expect(s / n).toBeCloseTo(2 / 7, 2);
  });
  it('normal draws have mean 0 and variance 1', () => {
    const r = new Rng(11);
    const { mean, square } = moments(100_000, () => r.normal());
    expect(mean).toBeCloseTo(0, 1);
    expect(square).toBeCloseTo(1, 1);
  });
});

describe('drawFor', () => {
  it('depends only on seed, id and stream', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 31 }), fc.string({ minLength: 1 }), (seed, id) => {
        const u = drawFor(seed, id);
        expect(u).toBe(drawFor(seed, id));
        expect(u >= 0 && u < 1).toBe(true);
      }),
    );
    expect(drawFor(1, 'x')).not.toBe(drawFor(2, 'x'));
    expect(drawFor(1, 'x', 0)).not.toBe(drawFor(1, 'x', 1));
  });
  it('is uniform over many ids', () => {
    const bins = new Array<number>(10).fill(0);
    for (let i = 0; i < 100_000; i++) bins[Math.floor(drawFor(5, `id-${i}`) * 10)]!++;
    for (const b of bins) expect(Math.abs(b - 10_000)).toBeLessThan(500);
  });
});

describe('pickIndex', () => {
  it('picks by cumulative weight and never a zero-weight tail', () => {
    expect(pickIndex([0.2, 0.3, 0.5], 0.1)).toBe(0);
    expect(pickIndex([0.2, 0.3, 0.5], 0.25)).toBe(1);
    expect(pickIndex([0.2, 0.3, 0.5], 0.99)).toBe(2);
    expect(pickIndex([0.5, 0.5, 0], 1.0)).toBe(1);
  });
});
