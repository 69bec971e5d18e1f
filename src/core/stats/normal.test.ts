import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { logNormalCdf, normalCdf, normalPdf, normalQuantile, normalSf } from './normal.js';
import { chiSquareCdf, chiSquareSf, gammaP, gammaQ, lnGamma } from './gamma.js';

interface JStatOracle {
  normal: { cdf(x: number, mean: number, sd: number): number; inv(p: number, mean: number, sd: number): number };
  chisquare: { cdf(x: number, df: number): number };
  gammaln(x: number): number;
  lowRegGamma(a: number, x: number): number;
}
const { jStat } = createRequire(import.meta.url)('jstat') as { jStat: JStatOracle };

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

describe('normal distribution', () => {
  // Reference values from mpmath (30 digits), rounded to doubles.
  const tail: [number, number][] = [
    [-1, 0.15865525393145705],
    [-3, 0.0013498980316300946],
    [-5, 2.866515718791939e-07],
    [-8, 6.220960574271784e-16],
    [-10, 7.619853024160525e-24],
    [-20, 2.7536241186062337e-89],
    [-37, 5.725571222524577e-300],
  ];
  it('CDF keeps full relative precision deep in the lower tail', () => {
    for (const [x, want] of tail) {
      expect(rel(normalCdf(x), want), `x=${x}`).toBeLessThan(1e-13);
      expect(rel(normalSf(-x), want), `x=${x}`).toBeLessThan(1e-13);
      expect(rel(logNormalCdf(x), Math.log(want)), `x=${x}`).toBeLessThan(1e-13);
    }
    // Far beyond double range the log stays finite: log φ(x) − log|x| − 1/x² + 5/(2x⁴) asymptotically.
    expect(logNormalCdf(-100)).toBeCloseTo(-5000 - Math.log(100) - 0.5 * Math.log(2 * Math.PI) - 1e-4 + 2.5e-8, 9);
  });
  it('matches jstat across the central range and is symmetric', () => {
    for (let x = -6; x <= 6; x += 0.137) {
      expect(Math.abs(normalCdf(x) - jStat.normal.cdf(x, 0, 1)), `x=${x}`).toBeLessThan(1e-13);
      expect(Math.abs(normalCdf(x) + normalCdf(-x) - 1)).toBeLessThan(1e-15);
    }
    expect(normalCdf(0)).toBe(0.5);
    expect(normalCdf(Infinity)).toBe(1);
    expect(normalCdf(-Infinity)).toBe(0);
    expect(normalPdf(0)).toBeCloseTo(1 / Math.sqrt(2 * Math.PI), 15);
  });
  it('quantile inverts the CDF (mpmath references and a property)', () => {
    const refs: [number, number][] = [
      [1e-10, -6.361340902404057],
      [0.001, -3.0902323061678136],
      [0.025, -1.9599639845400543],
      [0.3, -0.5244005127080408],
    ];
    for (const [p, want] of refs) {
      expect(rel(normalQuantile(p), want), `p=${p}`).toBeLessThan(1e-13);
      // 1 − p itself is rounded to the spacing of doubles near 1, so only the symmetry is checked.
      expect(normalQuantile(1 - p) + normalQuantile(1 - (1 - p))).toBeCloseTo(0, 12);
    }
    expect(normalQuantile(0.5)).toBe(0);
    expect(normalQuantile(0)).toBe(-Infinity);
    expect(normalQuantile(1)).toBe(Infinity);
    expect(normalQuantile(1e-300)).toBeCloseTo(-37.047096, 5);
    fc.assert(
      fc.property(fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (p) => {
        const x = normalQuantile(p);
        return Math.abs(normalCdf(x) - p) <= 1e-14 + 1e-12 * Math.min(p, 1 - p);
      }),
      { seed: 7, numRuns: 500 },
    );
    for (const p of [0.01, 0.05, 0.2, 0.6, 0.9, 0.999]) expect(Math.abs(normalQuantile(p) - jStat.normal.inv(p, 0, 1))).toBeLessThan(1e-8);
  });
});

describe('gamma and chi-square', () => {
  it('lnGamma matches mpmath and jstat', () => {
    expect(rel(lnGamma(0.5), 0.5723649429247001)).toBeLessThan(1e-14);
    expect(rel(lnGamma(1e-3), 6.907178885383853)).toBeLessThan(1e-14);
    expect(rel(lnGamma(123.4), 469.3360974421906)).toBeLessThan(1e-14);
    expect(Math.abs(lnGamma(1))).toBeLessThan(1e-14);
    expect(Math.abs(lnGamma(2))).toBeLessThan(1e-14);
    for (let z = 0.05; z < 60; z *= 1.37) expect(Math.abs(lnGamma(z) - jStat.gammaln(z)), `z=${z}`).toBeLessThan(1e-9);
  });
  it('regularised incomplete gamma matches references and P + Q = 1', () => {
    expect(rel(gammaQ(2.5, 3.7), 0.19255043307939573)).toBeLessThan(1e-12);
    expect(rel(gammaP(50, 10), 1.8547268838697993e-19)).toBeLessThan(1e-12);
    for (const a of [0.5, 1, 2.5, 7, 30]) {
      for (const x of [0.01, 0.5, 1, 3, 10, 40]) {
        expect(Math.abs(gammaP(a, x) + gammaQ(a, x) - 1)).toBeLessThan(1e-14);
        expect(Math.abs(gammaP(a, x) - jStat.lowRegGamma(a, x)), `a=${a} x=${x}`).toBeLessThan(1e-10);
      }
    }
  });
  it('chi-square CDF matches jstat and, with one degree of freedom, the normal tail', () => {
    for (const df of [1, 2, 3, 5, 10, 50]) {
      for (const x of [0.1, 1, 2, 5, 10.83, 20, 60]) {
        expect(Math.abs(chiSquareCdf(x, df) - jStat.chisquare.cdf(x, df)), `df=${df} x=${x}`).toBeLessThan(1e-10);
      }
    }
    for (const z of [0.5, 1.96, 3.29, 6, 12]) {
      expect(rel(chiSquareSf(z * z, 1), 2 * normalSf(z)), `z=${z}`).toBeLessThan(1e-12);
    }
  });
});
