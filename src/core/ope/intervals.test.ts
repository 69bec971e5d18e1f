import { describe, expect, it } from 'vitest';
import {
  PoissonBootstrap,
  joinResampleSums,
  poissonBootstrapSums,
  bernsteinHalfWidth,
  bernsteinInterval,
  clampInterval,
  normalInterval,
  percentileInterval,
  sortedQuantile,
  zFor,
} from './intervals.js';
import { Rng } from '../rng.js';

describe('normal interval', () => {
  it('is mean ± z √(var/n) with z = 1.959964 at 95 %', () => {
    expect(zFor(0.95)).toBeCloseTo(1.959964, 6);
    expect(zFor(0.9)).toBeCloseTo(1.644854, 6);
    // mean 0.5, variance 0.25, n = 100: half-width 1.959964 · 0.05 = 0.0979982
    const [lo, hi] = normalInterval(0.5, 0.25, 100, 0.95);
    expect(lo).toBeCloseTo(0.4020018, 6);
    expect(hi).toBeCloseTo(0.5979982, 6);
  });
  it('is empty for n = 0', () => expect(normalInterval(0.5, 1, 0, 0.95).every(Number.isNaN)).toBe(true));
});

describe('empirical Bernstein bound (Maurer and Pontil, theorem 4)', () => {
  it('half-width √(2V ln(2/δ)/n) + 7 b ln(2/δ) / (3(n − 1))', () => {
    // V = 0.25, n = 100, b = 1, δ = 0.025: ln 80 = 4.3820266; √(2·0.25·4.3820266/100) = 0.1480207;
    // 7·4.3820266/297 = 0.1032801; total 0.2513008
    expect(bernsteinHalfWidth(0.25, 100, 1, 0.025)).toBeCloseTo(0.2513008, 6);
    const [lo, hi] = bernsteinInterval(0.5, 0.25, 100, 1, 0.95);
    expect(lo).toBeCloseTo(0.5 - 0.2513008, 6);
    expect(hi).toBeCloseTo(0.5 + 0.2513008, 6);
  });
  it('scales its second term with the range and is wider than the normal interval', () => {
    const h1 = bernsteinHalfWidth(0.25, 1000, 1, 0.025);
    const h10 = bernsteinHalfWidth(0.25, 1000, 10, 0.025);
    expect(h10 - h1).toBeCloseTo((9 * 7 * Math.log(80)) / (3 * 999), 10);
    expect(h1).toBeGreaterThan(1.96 * Math.sqrt(0.25 / 1000));
  });
  it('is infinite below two samples', () => expect(bernsteinHalfWidth(0, 1, 1, 0.05)).toBe(Infinity));
});

describe('percentiles', () => {
  it('type-7 quantiles', () => {
    const xs = [1, 2, 3, 4, 5];
    expect(sortedQuantile(xs, 0)).toBe(1);
    expect(sortedQuantile(xs, 0.5)).toBe(3);
    expect(sortedQuantile(xs, 0.1)).toBeCloseTo(1.4, 12);
    expect(sortedQuantile(xs, 1)).toBe(5);
  });
  it('percentile interval drops NaN resamples', () => {
    const stats = [NaN, ...Array.from({ length: 101 }, (_, i) => i / 100)];
    const [lo, hi] = percentileInterval(stats, 0.9);
    expect(lo).toBeCloseTo(0.05, 12);
    expect(hi).toBeCloseTo(0.95, 12);
  });
  it('clamps to the reward range', () => expect(clampInterval([-0.2, 1.3])).toEqual([0, 1]));
});

describe('Poisson bootstrap', () => {
  const fill = (b: PoissonBootstrap, n: number): void => {
    for (let i = 0; i < n; i++) b.push([i % 2, 1, (i % 5) / 4]);
  };

  it('draws Poisson(1) counts: resample sizes have mean n and variance n', () => {
    const n = 5000;
    const B = 400;
    const b = new PoissonBootstrap(3, B, 11);
    fill(b, n);
    const s = b.sums();
    let m = 0;
    let m2 = 0;
    for (let r = 0; r < B; r++) {
      const c = s[r * 4 + 3]!;
      m += c;
      m2 += c * c;
      // column 1 is all ones, so its weighted sum is the count itself
      expect(s[r * 4 + 1]).toBe(c);
    }
    m /= B;
    const v = m2 / B - m * m;
    // the mean of 400 resample sizes has sd √(5000/400) ≈ 3.5; the variance estimate is within ~15 %
    expect(Math.abs(m - n)).toBeLessThan(15);
    expect(v / n).toBeGreaterThan(0.8);
    expect(v / n).toBeLessThan(1.2);
  });

  it('is reproducible with a seed, different with another, and the same for push and push4', () => {
    const a = new PoissonBootstrap(3, 50, 1);
    const b = new PoissonBootstrap(3, 50, 1);
    const c = new PoissonBootstrap(3, 50, 2);
    fill(a, 3001);
    for (let i = 0; i < 3001; i++) b.push4(i % 2, 1, (i % 5) / 4);
    fill(c, 3001);
    expect([...a.sums()]).toEqual([...b.sums()]);
    expect([...a.sums()]).not.toEqual([...c.sums()]);
  });

  it('gives every column group the same counts (more than four columns)', () => {
    const b = new PoissonBootstrap(6, 20, 3);
    for (let i = 0; i < 2500; i++) b.push([1, 2, 3, 4, 1, i]);
    const s = b.sums();
    for (let r = 0; r < 20; r++) {
      const o = r * 7;
      expect(s[o + 4]).toBe(s[o + 6]); // column 4 (all ones, second group) sums to the count
      expect(s[o + 1]).toBe(2 * s[o + 6]!);
      expect(s[o]).toBe(s[o + 6]);
    }
  });

  it('sums each column of a wide bootstrap exactly as a one-column bootstrap of that column would', () => {
    for (const K of [5, 7, 8, 9, 13]) {
      const wide = new PoissonBootstrap(K, 37, 17);
      const single = Array.from({ length: K }, () => new PoissonBootstrap(1, 37, 17));
      const row = new Float64Array(K);
      for (let i = 0; i < 2300; i++) {
        for (let k = 0; k < K; k++) row[k] = Math.sin(i * (k + 1)) * (k + 0.5);
        wide.push(row);
        single.forEach((b, k) => b.push([row[k]!]));
      }
      const w = wide.sums();
      for (let k = 0; k < K; k++) {
        const one = single[k]!.sums();
        for (let r = 0; r < 37; r++) {
          expect(w[r * (K + 1) + k], `K ${K}, column ${k}, resample ${r}`).toBe(one[r * 2]);
          expect(w[r * (K + 1) + K]).toBe(one[r * 2 + 1]);
        }
      }
    }
  });

  it('split by resamples between two instances, gives the single pass bit for bit', () => {
    for (const K of [1, 3, 4, 7, 9]) {
      const n = 5 * 1024 + 333;
      const rng = new Rng(K);
      const cols = Array.from({ length: K }, () => Float64Array.from({ length: n }, () => rng.next() * 3 - 1));
      const whole = poissonBootstrapSums(cols, 37, 5);
      for (const split of [0, 1, 18, 36, 37]) {
        const low = poissonBootstrapSums(cols, 37, 5, { from: 0, to: split });
        const high = poissonBootstrapSums(cols, 37, 5, { from: split, to: 37 });
        expect(low.subarray(split * (K + 1)).every((x) => x === 0)).toBe(true);
        expect(joinResampleSums(low, high, split, K)).toEqual(whole);
      }
    }
  });

  it('its percentile interval of a mean matches the normal one for a large sample', () => {
    const n = 20000;
    const B = 500;
    const b = new PoissonBootstrap(1, B, 5);
    let sum = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) {
      const x = ((i * 2654435761) >>> 0) / 4294967296; // deterministic uniform-looking values
      sum += x;
      sq += x * x;
      b.push([x]);
    }
    const mean = sum / n;
    const variance = (sq - n * mean * mean) / (n - 1);
    const s = b.sums();
    const stats = Array.from({ length: B }, (_, r) => s[r * 2]! / s[r * 2 + 1]!);
    const [bl, bh] = percentileInterval(stats, 0.95);
    const [nl, nh] = normalInterval(mean, variance, n, 0.95);
    expect(Math.abs(bl - nl) / (nh - nl)).toBeLessThan(0.12);
    expect(Math.abs(bh - nh) / (nh - nl)).toBeLessThan(0.12);
  });
});
