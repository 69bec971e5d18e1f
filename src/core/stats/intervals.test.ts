import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { addMoment, emptyMoments, meanInterval, momentMean, momentVariance, wilsonInterval } from './intervals.js';
import { srmTest } from './srm.js';

/** Successes in n Bernoulli(p) draws. */
function binomial(rng: Rng, n: number, p: number): number {
  let x = 0;
  for (let i = 0; i < n; i++) if (rng.next() < p) x++;
  return x;
}

/** How many of `runs` trials come out true. */
function countTrue(runs: number, trial: () => boolean): number {
  let count = 0;
  for (let r = 0; r < runs; r++) if (trial()) count++;
  return count;
}

describe('Wilson interval', () => {
  it('matches textbook values and stays inside [0, 1]', () => {
    const a = wilsonInterval(5, 10);
    expect(a.lo).toBeCloseTo(0.236593, 5);
    expect(a.hi).toBeCloseTo(0.763407, 5);
    const zero = wilsonInterval(0, 10);
    expect(zero.lo).toBe(0);
    expect(zero.hi).toBeCloseTo(0.277533, 5);
    const all = wilsonInterval(10, 10);
    expect(all.hi).toBe(1);
    expect(all.lo).toBeCloseTo(0.722467, 5);
    const none = wilsonInterval(0, 0);
    expect([none.lo, none.hi, none.n]).toEqual([0, 1, 0]);
  });
  it('covers the true rate about 95 % of the time (seeded)', () => {
    const rng = new Rng(5);
    const runs = 2000;
    const covered = countTrue(runs, () => {
      const w = wilsonInterval(binomial(rng, 40, 0.1), 40);
      return w.lo <= 0.1 && 0.1 <= w.hi;
    });
    expect(covered / runs).toBeGreaterThan(0.92);
    expect(covered / runs).toBeLessThan(0.99);
  });
});

describe('moment sums', () => {
  it('give the sample mean and unbiased variance', () => {
    const xs = [1, 2, 3, 4, 10];
    const m = xs.reduce(addMoment, emptyMoments());
    expect(momentMean(m)).toBe(4);
    expect(momentVariance(m)).toBeCloseTo(12.5, 12);
    const ci = meanInterval(m, 0.95);
    expect(ci.hi - ci.lo).toBeCloseTo(2 * 1.959964 * Math.sqrt(12.5 / 5), 5);
    expect(momentVariance({ n: 3, sum: 3e8, sumSq: 3e16 })).toBe(0);
    expect(momentVariance(emptyMoments())).toBe(0);
  });
});

describe('sample-ratio mismatch test', () => {
  it('gives the chi-square p-value for a known table', () => {
    // 1,100 vs 1,000 expected 1:1 → χ² = 2 · 50²/1050 = 4.7619, p = 0.02909.
    const r = srmTest([1100, 1000], [0.05, 0.05]);
    expect(r.chi2).toBeCloseTo(4.761905, 5);
    expect(r.df).toBe(1);
    expect(r.pValue).toBeCloseTo(0.029096, 5);
    const three = srmTest([500, 520, 8980], [0.05, 0.05, 0.9]);
    expect(three.df).toBe(2);
    expect(three.pValue).toBeGreaterThan(0.1);
  });
  it('is uniform under the null (about 1 in 1,000 below 0.001) and flags a 10 % imbalance', () => {
    const rng = new Rng(17);
    const n = 2000;
    const below = countTrue(3000, () => {
      const a = binomial(rng, n, 0.5);
      return srmTest([a, n - a], [1, 1]).pValue < 0.001;
    });
    expect(below).toBeLessThanOrEqual(10);
    expect(srmTest([5500, 5000], [1, 1]).pValue).toBeLessThan(0.001);
  });
  it('refuses malformed input with a RangeError', () => {
    expect(() => srmTest([1], [1])).toThrow(RangeError);
    expect(() => srmTest([1, -1], [1, 1])).toThrow(RangeError);
    expect(() => srmTest([1, 1], [1, 0])).toThrow(RangeError);
    expect(srmTest([0, 0], [1, 1]).pValue).toBe(1);
  });
});
