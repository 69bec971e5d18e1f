/**
 * Small dense linear-algebra kernels on row-major Float64Array d×d matrices, written for the ridge
 * arms of the linear policies: rank-one updates, the Sherman–Morrison inverse update, and the
 * Cholesky inverse used to refactorise A⁻¹ from A. Hand-written loops were several times faster
 * than a general matrix library for these shapes; ml-matrix serves as the test oracle.
 */

/**
 * A += x xᵀ on the upper triangle only (j ≥ i); call `mirrorUpper` before reading the lower half.
 * `x` is read from `off` (so a batch can live in one long array). Unrolled by four: this loop is the
 * whole cost of batch training.
 */
export function rankOneUpper(A: Float64Array, x: Float64Array, d: number, off = 0): void {
  const end = off + d;
  for (let i = 0; i < d; i++) {
    const xi = x[off + i]!;
    if (xi === 0) continue;
    let p = i * d + i;
    let q = off + i;
    for (; q + 3 < end; q += 4, p += 4) {
      A[p] = A[p]! + xi * x[q]!;
      A[p + 1] = A[p + 1]! + xi * x[q + 1]!;
      A[p + 2] = A[p + 2]! + xi * x[q + 2]!;
      A[p + 3] = A[p + 3]! + xi * x[q + 3]!;
    }
    for (; q < end; q++, p++) A[p] = A[p]! + xi * x[q]!;
  }
}

/** A += x xᵀ on the whole matrix (kept exactly symmetric: x_i x_j and x_j x_i are the same product). */
export function rankOneFull(A: Float64Array, x: Float64Array, d: number): void {
  for (let i = 0; i < d; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    const row = i * d;
    for (let j = 0; j < d; j++) A[row + j] = A[row + j]! + xi * x[j]!;
  }
}

/** Copy the upper triangle onto the lower one. */
export function mirrorUpper(A: Float64Array, d: number): void {
  for (let i = 1; i < d; i++) for (let j = 0; j < i; j++) A[i * d + j] = A[j * d + i]!;
}

/** Σ_j M[row + j] · v[j] for j < d, unrolled by four (the inner loop of every product here). */
function rowDot(M: Float64Array, row: number, v: Float64Array, d: number): number {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let j = 0;
  for (; j + 3 < d; j += 4) {
    s0 += M[row + j]! * v[j]!;
    s1 += M[row + j + 1]! * v[j + 1]!;
    s2 += M[row + j + 2]! * v[j + 2]!;
    s3 += M[row + j + 3]! * v[j + 3]!;
  }
  for (; j < d; j++) s0 += M[row + j]! * v[j]!;
  return s0 + s1 + s2 + s3;
}

/** out = M v (out must not alias v). */
export function matVec(M: Float64Array, v: Float64Array, d: number, out: Float64Array): Float64Array {
  for (let i = 0; i < d; i++) out[i] = rowDot(M, i * d, v, d);
  return out;
}

/** xᵀ M x for symmetric M, skipping zero entries of x. */
export function quadForm(M: Float64Array, x: Float64Array, d: number): number {
  let s = 0;
  for (let i = 0; i < d; i++) {
    const xi = x[i]!;
    if (xi === 0) continue;
    s += xi * rowDot(M, i * d, x, d);
  }
  return s;
}

/** Dot product of the first d entries. */
export function dot(a: Float64Array, b: Float64Array, d: number): number {
  return rowDot(a, 0, b, d);
}

/**
 * Sherman–Morrison: given B = A⁻¹ (symmetric), replace it by (A + x xᵀ)⁻¹ = B − (B x)(B x)ᵀ / (1 + xᵀ B x).
 * `scratch` holds at least d numbers.
 */
export function shermanMorrison(B: Float64Array, x: Float64Array, d: number, scratch: Float64Array): void {
  const u = matVec(B, x, d, scratch);
  let denom = 1;
  for (let i = 0; i < d; i++) denom += x[i]! * u[i]!;
  const inv = 1 / denom;
  for (let i = 0; i < d; i++) {
    const ui = u[i]! * inv;
    if (ui === 0) continue;
    let p = i * d;
    let j = 0;
    for (; j + 3 < d; j += 4, p += 4) {
      B[p] = B[p]! - ui * u[j]!;
      B[p + 1] = B[p + 1]! - ui * u[j + 1]!;
      B[p + 2] = B[p + 2]! - ui * u[j + 2]!;
      B[p + 3] = B[p + 3]! - ui * u[j + 3]!;
    }
    for (; j < d; j++, p++) B[p] = B[p]! - ui * u[j]!;
  }
}

/**
 * Cholesky factor of a symmetric positive-definite A into `L` (lower triangle, row-major; the upper
 * triangle is zeroed). Returns false when A is not positive definite.
 */
export function cholesky(A: Float64Array, d: number, L: Float64Array): boolean {
  L.fill(0);
  for (let j = 0; j < d; j++) {
    let s = A[j * d + j]!;
    const rj = j * d;
    for (let k = 0; k < j; k++) s -= L[rj + k]! * L[rj + k]!;
    if (!(s > 0)) return false;
    const ljj = Math.sqrt(s);
    L[rj + j] = ljj;
    const inv = 1 / ljj;
    for (let i = j + 1; i < d; i++) {
      const ri = i * d;
      let t = A[ri + j]!;
      for (let k = 0; k < j; k++) t -= L[ri + k]! * L[rj + k]!;
      L[ri + j] = t * inv;
    }
  }
  return true;
}

/**
 * A⁻¹ for symmetric positive-definite A via its Cholesky factor: A⁻¹ = L⁻ᵀ L⁻¹. Writes into `out`;
 * `work` holds d·d numbers. Returns false when A is not positive definite (out untouched).
 */
export function choleskyInverse(A: Float64Array, d: number, out: Float64Array, work: Float64Array): boolean {
  if (!cholesky(A, d, work)) return false;
  // Invert L in place (lower triangular): forward substitution column by column.
  const L = work;
  for (let j = 0; j < d; j++) {
    const jj = j * d + j;
    L[jj] = 1 / L[jj]!;
    for (let i = j + 1; i < d; i++) {
      let s = 0;
      const ri = i * d;
      for (let k = j; k < i; k++) s -= L[ri + k]! * L[k * d + j]!;
      L[ri + j] = s / L[ri + i]!;
    }
  }
  // out = L⁻ᵀ L⁻¹ (symmetric; compute the upper triangle and mirror).
  for (let i = 0; i < d; i++) {
    for (let j = i; j < d; j++) {
      let s = 0;
      for (let k = j; k < d; k++) s += L[k * d + i]! * L[k * d + j]!;
      out[i * d + j] = s;
      out[j * d + i] = s;
    }
  }
  return true;
}
