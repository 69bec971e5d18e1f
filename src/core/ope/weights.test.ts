import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { TopValues, WeightSketch, gpdShape, weightTailIndex } from './weights.js';

describe('WeightSketch', () => {
  it('answers quantiles within its relative accuracy, with exact extremes', () => {
    const s = new WeightSketch();
    for (let i = 1; i <= 1000; i++) s.add(i / 10);
    s.add(0);
    expect(s.n).toBe(1001);
    expect(s.max).toBe(100);
    expect(s.min).toBe(0);
    expect(s.quantile(0)).toBe(0);
    expect(Math.abs(s.quantile(0.5) / 50 - 1)).toBeLessThan(0.006);
    expect(Math.abs(s.quantile(0.99) / 99 - 1)).toBeLessThan(0.006);
    expect(s.quantile(1)).toBe(100);
  });
  it('ignores negative and non-finite values', () => {
    const s = new WeightSketch();
    s.add(-1);
    s.add(Number.NaN);
    s.add(Infinity);
    expect(s.n).toBe(0);
    expect(s.quantile(0.5)).toBeNaN();
  });
});

describe('TopValues', () => {
  it('keeps the largest values', () => {
    const t = new TopValues(3);
    for (const x of [5, 1, 9, 3, 7, 2]) t.add(x);
    expect([...t.sorted()]).toEqual([5, 7, 9]);
  });
});

describe('tail index (GPD shape)', () => {
  // Exceedances of a generalised Pareto with shape ξ, scale 1: ((1 − U)^(−ξ) − 1) / ξ.
  const gpd = (xi: number, n: number, seed: number): Float64Array => {
    const rng = new Rng(seed);
    return Float64Array.from({ length: n }, () => (Math.pow(1 - rng.next(), -xi) - 1) / xi).sort();
  };

  for (const [xi, seed] of [[0.3, 1], [0.8, 2]] as const) {
    it(`recovers ξ = ${xi} from 1,000 exceedances (seed ${seed})`, () => {
      expect(Math.abs(gpdShape(gpd(xi, 1000, seed)) - xi)).toBeLessThan(0.12);
    });
  }

  it('is negative for bounded weights and NaN for too few', () => {
    const rng = new Rng(3);
    const top = new TopValues(500);
    for (let i = 0; i < 5000; i++) top.add(rng.next() * 10); // uniform: ξ = −1
    expect(weightTailIndex(top.sorted(), 5000)).toBeLessThan(0);
    expect(gpdShape([1, 2, 3])).toBeNaN();
  });

  it('flags Pareto weights with infinite variance', () => {
    const rng = new Rng(4);
    const top = new TopValues(2048);
    for (let i = 0; i < 20000; i++) top.add(Math.pow(1 - rng.next(), -1 / 1.25)); // α = 1.25, ξ = 0.8
    expect(weightTailIndex(top.sorted(), 20000)).toBeGreaterThan(0.6);
  });
});
