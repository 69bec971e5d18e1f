import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { assignSlice, bucketOf, bucketsFor, checkWeight, sliceOfBucket, Slice, BUCKETS } from './bucketing.js';
import { isUmbraError } from '../errors.js';
import { chiSquareSf } from '../stats/gamma.js';

const KEYS = Array.from({ length: 20_000 }, (_, i) => `user-${i}`);

function shares(salt: string, weight: number, keys: readonly string[] = KEYS): { canary: number; control: number } {
  let canary = 0;
  let control = 0;
  for (const k of keys) {
    const s = assignSlice(k, { salt, canaryWeight: weight });
    if (s === Slice.CANARY) canary++;
    else if (s === Slice.CONTROL) control++;
  }
  return { canary: canary / keys.length, control: control / keys.length };
}

describe('sticky bucketing', () => {
  it('puts 5 % ± 0.5 points of 20,000 keys in the canary and as many in control, for any salt (seeded property)', () => {
    const seen: number[] = [];
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 24 }), (salt) => {
        const s = shares(salt, 0.05);
        seen.push(s.canary, s.control);
        expect(Math.abs(s.canary - 0.05), `salt ${JSON.stringify(salt)} canary ${s.canary}`).toBeLessThanOrEqual(0.005);
        expect(Math.abs(s.control - 0.05), `salt ${JSON.stringify(salt)} control ${s.control}`).toBeLessThanOrEqual(0.005);
      }),
      { seed: 20240607, numRuns: 15 },
    );
    console.log(`[measured] bucketing, 15 salts × 20,000 keys at 5 %: canary/control shares from ${(100 * Math.min(...seen)).toFixed(2)} % to ${(100 * Math.max(...seen)).toFixed(2)} %`);
  });

  it('also holds for random (not sequential) keys', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.uuid(), { minLength: 20_000, maxLength: 20_000 }), (keys) => {
        const s = shares('cand-42', 0.05, keys);
        return Math.abs(s.canary - 0.05) <= 0.005 && Math.abs(s.control - 0.05) <= 0.005;
      }),
      { seed: 99, numRuns: 2 },
    );
  });

  it('spreads keys uniformly over the 10,000 buckets (chi-square over 100 groups)', () => {
    const counts = new Array<number>(100).fill(0);
    for (let i = 0; i < 100_000; i++) counts[Math.floor(bucketOf('salt', `k${i}`) / 100)]!++;
    const chi2 = counts.reduce((a, c) => a + (c - 1000) ** 2 / 1000, 0);
    expect(chiSquareSf(chi2, 99)).toBeGreaterThan(0.001);
  });

  it('is sticky: the same key and salt always give the same slice, and the hash is pinned', () => {
    // Pinned values: a change of hash would silently reshuffle every running canary.
    expect(bucketOf('cand-1', 'user-1')).toBe(bucketOf('cand-1', 'user-1'));
    expect([bucketOf('cand-1', 'user-1'), bucketOf('linucb@3f2a9c', 'sess-42'), bucketOf('', '')]).toEqual([9, 8812, 7430]);
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), (salt, key) => assignSlice(key, { salt, canaryWeight: 0.05 }) === assignSlice(key, { salt, canaryWeight: 0.05 })),
      { seed: 5, numRuns: 200 },
    );
  });

  it('is monotonic: a key in the canary (or control) at weight w stays there at any larger weight', () => {
    fc.assert(
      fc.property(fc.string(), fc.string({ minLength: 1 }), fc.double({ min: 0.001, max: 0.5, noNaN: true }), fc.double({ min: 0, max: 0.5, noNaN: true }), (salt, key, w1, extra) => {
        const w2 = Math.min(0.5, w1 + extra);
        const a = assignSlice(key, { salt, canaryWeight: w1 });
        const b = assignSlice(key, { salt, canaryWeight: w2 });
        return a === Slice.PRODUCTION || a === b;
      }),
      { seed: 6, numRuns: 500 },
    );
  });

  it('keeps canary and control disjoint and equal in size for every weight up to 50 %', () => {
    for (const w of [0, 0.0001, 0.01, 0.05, 0.07, 0.25, 0.5]) {
      let canary = 0;
      let control = 0;
      for (let b = 0; b < BUCKETS; b++) {
        const s = sliceOfBucket(b, w);
        if (s === Slice.CANARY) canary++;
        if (s === Slice.CONTROL) control++;
      }
      expect(canary, `w=${w}`).toBe(bucketsFor(w));
      expect(control, `w=${w}`).toBe(bucketsFor(w));
    }
    expect(bucketsFor(0.07)).toBe(700);
  });

  it('serves the champion without a sticky key, at weight 0, and refuses weights outside [0, 0.5]', () => {
    expect(assignSlice(undefined, { salt: 'c', canaryWeight: 0.5 })).toBe(Slice.PRODUCTION);
    expect(assignSlice(null, { salt: 'c', canaryWeight: 0.5 })).toBe(Slice.PRODUCTION);
    expect(assignSlice('', { salt: 'c', canaryWeight: 0.5 })).toBe(Slice.PRODUCTION);
    expect(KEYS.slice(0, 500).every((k) => assignSlice(k, { salt: 'c', canaryWeight: 0 }) === Slice.PRODUCTION)).toBe(true);
    for (const bad of [-0.1, 0.51, Number.NaN, 5]) {
      try {
        checkWeight(bad);
        expect.unreachable();
      } catch (e) {
        expect(isUmbraError(e, 'E_USAGE')).toBe(true);
      }
    }
  });

  it('gives each candidate its own slice (salts decorrelate)', () => {
    let both = 0;
    for (const k of KEYS) {
      if (assignSlice(k, { salt: 'cand-a', canaryWeight: 0.05 }) === Slice.CANARY && assignSlice(k, { salt: 'cand-b', canaryWeight: 0.05 }) === Slice.CANARY) both++;
    }
    // Independent 5 % slices overlap on about 0.25 % of keys (50 of 20,000), not 5 %.
    expect(both).toBeLessThan(100);
  });
});
