import { Matrix, inverse } from 'ml-matrix';
import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { choleskyInverse, mirrorUpper, quadForm, rankOneFull, rankOneUpper, shermanMorrison } from './linalg.js';
import { RidgeArm } from './ridge.js';

function toMatrix(a: Float64Array, d: number): Matrix {
  const rows: number[][] = [];
  for (let i = 0; i < d; i++) rows.push(Array.from(a.subarray(i * d, i * d + d)));
  return new Matrix(rows);
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

/** The d × d matrix (row-major) with `v` on the diagonal. */
function diagonal(d: number, v: number): Float64Array {
  const a = new Float64Array(d * d);
  for (let i = 0; i < d; i++) a[i * d + i] = v;
  return a;
}

function randomVector(rng: Rng, d: number, sparsity = 0.5): Float64Array {
  const x = new Float64Array(d);
  x[0] = 1;
  for (let i = 1; i < d; i++) x[i] = rng.next() < sparsity ? 0 : rng.normal();
  return x;
}

describe('linear algebra kernels (ml-matrix as the oracle)', () => {
  it('Sherman–Morrison updates equal a direct inverse', () => {
    for (const seed of [1, 2, 3]) {
      const rng = new Rng(seed);
      const d = 12;
      const A = diagonal(d, 1.5);
      const B = diagonal(d, 1 / 1.5);
      const scratch = new Float64Array(d);
      for (let t = 0; t < 200; t++) {
        const x = randomVector(rng, d);
        rankOneFull(A, x, d);
        shermanMorrison(B, x, d, scratch);
      }
      const oracle = inverse(toMatrix(A, d)).to1DArray();
      expect(maxRelDiff(B, oracle), `seed ${seed}`).toBeLessThan(1e-10);
    }
  });

  it('the Cholesky inverse equals a direct inverse', () => {
    const rng = new Rng(11);
    const d = 20;
    const A = diagonal(d, 0.5);
    for (let t = 0; t < 100; t++) rankOneUpper(A, randomVector(rng, d), d);
    mirrorUpper(A, d);
    const out = new Float64Array(d * d);
    expect(choleskyInverse(A, d, out, new Float64Array(d * d))).toBe(true);
    expect(maxRelDiff(out, inverse(toMatrix(A, d)).to1DArray())).toBeLessThan(1e-11);
  });

  it('refuses a matrix that is not positive definite', () => {
    const d = 2;
    const A = Float64Array.from([1, 2, 2, 1]);
    expect(choleskyInverse(A, d, new Float64Array(4), new Float64Array(4))).toBe(false);
  });

  it('quadForm is xᵀMx', () => {
    const rng = new Rng(5);
    const d = 9;
    const A = diagonal(d, 1);
    for (let t = 0; t < 30; t++) rankOneFull(A, randomVector(rng, d), d);
    const x = randomVector(rng, d);
    const M = toMatrix(A, d);
    const xv = Matrix.columnVector(Array.from(x));
    const oracle = xv.transpose().mmul(M).mmul(xv).get(0, 0);
    expect(Math.abs(quadForm(A, x, d) - oracle) / Math.abs(oracle)).toBeLessThan(1e-13);
  });

  it('a ridge arm refactorised every K updates stays equal to the direct solve', () => {
    const rng = new Rng(21);
    const d = 16;
    const arm = new RidgeArm(d, 1);
    const A = diagonal(d, 1);
    const b = new Float64Array(d);
    for (let t = 0; t < 1000; t++) {
      const x = randomVector(rng, d);
      const r = rng.next();
      arm.update(x, r, 64);
      rankOneFull(A, x, d);
      for (let i = 0; i < d; i++) b[i] = b[i]! + r * x[i]!;
    }
    const theta = inverse(toMatrix(A, d)).mmul(Matrix.columnVector(Array.from(b))).to1DArray();
    expect(maxRelDiff(arm.coefficients(), theta)).toBeLessThan(1e-10);
    expect(maxRelDiff(arm.Ainv, inverse(toMatrix(A, d)).to1DArray())).toBeLessThan(1e-10);
  });
});
