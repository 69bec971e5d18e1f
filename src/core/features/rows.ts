/**
 * Feature vectors of many events in compressed sparse rows: for event i, the nonzero entries are
 * `idx[ptr[i]] … idx[ptr[i+1]−1]` (ascending) with their values in `val`. A dense vector and its
 * rows form hold the same numbers, and the kernels that read rows (the reward model, training)
 * visit the nonzeros in index order, so they compute exactly what their dense loops computed.
 */
import { enlarged } from '../typed-arrays.js';

/** Compressed sparse rows over a fixed dimension. */
export interface SparseRows {
  /** Number of rows. */
  readonly n: number;
  /** Dimension of every row. */
  readonly dim: number;
  /** Row starts, length n + 1. */
  readonly ptr: Int32Array;
  /** Column of each nonzero, ascending within a row. */
  readonly idx: Int32Array;
  /** Value of each nonzero. */
  readonly val: Float64Array;
}

/**
 * Builds rows one by one. Its buffers grow toward the size the rows so far project for `rowsHint`
 * rows (not by doubling blindly), and `build` hands them over without a copy when they are nearly
 * full, so a million rows cost about their own size, not two or three times it.
 */
export class SparseRowsBuilder {
  readonly dim: number;
  private readonly rowsHint: number;
  private ptr: Int32Array;
  private idx: Int32Array;
  private val: Float64Array;
  private rows = 0;
  private nnz = 0;

  constructor(dim: number, rowsHint = 1024, nnzHint = rowsHint * 16) {
    this.dim = dim;
    this.rowsHint = Math.max(1, rowsHint);
    this.ptr = new Int32Array(this.rowsHint + 1);
    const first = Math.max(16, Math.min(nnzHint, 1 << 16));
    this.idx = new Int32Array(first);
    this.val = new Float64Array(first);
  }

  /** Append the nonzeros of a dense vector as one row. */
  pushDense(x: ArrayLike<number>): void {
    for (let j = 0; j < this.dim; j++) {
      const v = x[j]!;
      if (v !== 0) this.entry(j, v);
    }
    this.endRow();
  }

  /** Add one entry to the row being built (columns must come in ascending order). */
  entry(j: number, v: number): void {
    if (this.nnz === this.idx.length) this.grow();
    this.idx[this.nnz] = j;
    this.val[this.nnz] = v;
    this.nnz++;
  }

  /** Room for the projected total: the entries per row so far times the rows expected, plus 5 %. */
  private grow(): void {
    const rows = Math.max(1, this.rows);
    const expected = this.rows < this.rowsHint ? this.rowsHint : this.rows * 2;
    const projected = Math.ceil((this.nnz / rows) * expected * 1.05);
    const size = Math.max(projected, this.nnz + 1024, Math.ceil(this.nnz * 1.25));
    this.idx = enlarged(this.idx, size);
    this.val = enlarged(this.val, size);
  }

  /** Close the row being built. */
  endRow(): void {
    if (this.rows + 2 > this.ptr.length) this.ptr = enlarged(this.ptr, this.ptr.length * 2);
    this.rows++;
    this.ptr[this.rows] = this.nnz;
  }

  /** The rows. Buffers at most a quarter larger than their contents are handed over as views, not copied. */
  build(): SparseRows {
    const fit = <T extends Int32Array | Float64Array>(a: T, n: number): T => (a.length <= n * 1.25 + 64 ? (a.subarray(0, n) as T) : (a.slice(0, n) as T));
    return { n: this.rows, dim: this.dim, ptr: fit(this.ptr, this.rows + 1), idx: fit(this.idx, this.nnz), val: fit(this.val, this.nnz) };
  }
}

/** Rows from dense vectors (all of one length). */
export function rowsOfDense(xs: readonly ArrayLike<number>[], dim = xs[0]?.length ?? 1): SparseRows {
  const b = new SparseRowsBuilder(dim, xs.length);
  for (const x of xs) {
    if (x.length !== dim) throw new RangeError('all feature vectors must have the same length');
    b.pushDense(x);
  }
  return b.build();
}
