import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Rng } from '../rng.js';
import { QuantileSketch, QuantileSketchStateSchema, exactQuantile } from './quantile.js';

describe('quantile sketch', () => {
  it('returns every quantile within its relative accuracy of the exact one (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 400 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.constantFrom(0.005, 0.01, 0.05),
        (values, q, accuracy) => {
          const s = new QuantileSketch(accuracy);
          for (const v of values) s.add(v);
          const exact = exactQuantile(values, q);
          const got = s.quantile(q);
          if (exact <= 1e-9) return got <= 1e-9;
          return Math.abs(got - exact) <= (accuracy + 1e-12) * exact;
        },
      ),
      { seed: 3, numRuns: 400 },
    );
  });

  it('tracks p95 of a long log-normal latency stream and round-trips through JSON', () => {
    const rng = new Rng(42);
    const s = new QuantileSketch(0.01);
    const values: number[] = [];
    for (let i = 0; i < 50_000; i++) {
      const v = Math.exp(6 + 0.8 * rng.normal());
      values.push(v);
      s.add(v);
    }
    const exact = exactQuantile(values, 0.95);
    expect(Math.abs(s.quantile(0.95) - exact) / exact).toBeLessThanOrEqual(0.01);
    const state = JSON.parse(JSON.stringify(s.toJSON())) as unknown;
    const back = QuantileSketch.fromJSON(QuantileSketchStateSchema.parse(state));
    expect(back.quantile(0.95)).toBe(s.quantile(0.95));
    expect(back.count).toBe(50_000);
    expect(Object.keys(s.toJSON().bins).length).toBeLessThan(400);
  });

  it('merges exactly: two halves give the sketch of the whole', () => {
    const rng = new Rng(8);
    const a = new QuantileSketch();
    const b = new QuantileSketch();
    const all = new QuantileSketch();
    for (let i = 0; i < 5000; i++) {
      const v = rng.next() * 1000;
      (i % 2 ? a : b).add(v);
      all.add(v);
    }
    a.merge(b);
    const { sum: mergedSum, ...merged } = a.toJSON();
    const { sum: wholeSum, ...whole } = all.toJSON();
    expect(merged).toEqual(whole);
    expect(mergedSum).toBeCloseTo(wholeSum, 6);
    expect(() => a.merge(new QuantileSketch(0.02))).toThrow(RangeError);
  });

  it('handles empty sketches, zeros, negatives and non-finite input', () => {
    const s = new QuantileSketch();
    expect(Number.isNaN(s.quantile(0.5))).toBe(true);
    expect(s.toJSON().min).toBeNull();
    expect(s.add(Number.NaN)).toBe(false);
    expect(s.add(Infinity)).toBe(false);
    s.add(-5);
    s.add(0);
    s.add(10);
    expect(s.count).toBe(3);
    expect(s.quantile(0)).toBe(0);
    expect(s.quantile(0.5)).toBe(0);
    expect(s.quantile(1)).toBe(10);
    expect(() => new QuantileSketch(0)).toThrow(RangeError);
  });
});
