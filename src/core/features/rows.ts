/**
 * Feature vectors of many events in compressed sparse rows: for event i, the nonzero entries are
 * `idx[ptr[i]] … idx[ptr[i+1]−1]` (ascending) with their values in `val`. A dense vector and its
 * rows form hold the same numbers, and the kernels that read rows (the reward model, training)
 * visit the nonzeros in index order, so they compute exactly what their dense loops computed.
 */

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

/** Builds rows one by one, growing its buffers as needed. */
export class SparseRowsBuilder {
  readonly dim: number;
  private ptr: Int32Array;
  private idx: Int32Array;
  private val: Float64Array;
  private rows = 0;
  private nnz = 0;

  constructor(dim: number, rowsHint = 1024, nnzHint = rowsHint * 16) {
    this.dim = dim;
    this.ptr = new Int32Array(rowsHint + 1);
    this.idx = new Int32Array(nnzHint);
    this.val = new Float64Array(nnzHint);
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
    if (this.nnz === this.idx.length) {
      const idx = new Int32Array(this.idx.length * 2);
      idx.set(this.idx);
      this.idx = idx;
      const val = new Float64Array(this.val.length * 2);
      val.set(this.val);
      this.val = val;
    }
    this.idx[this.nnz] = j;
    this.val[this.nnz] = v;
    this.nnz++;
  }

  /** Close the row being built. */
  endRow(): void {
    if (this.rows + 2 > this.ptr.length) {
      const ptr = new Int32Array(this.ptr.length * 2);
      ptr.set(this.ptr);
      this.ptr = ptr;
    }
    this.rows++;
    this.ptr[this.rows] = this.nnz;
  }

  build(): SparseRows {
    return { n: this.rows, dim: this.dim, ptr: this.ptr.slice(0, this.rows + 1), idx: this.idx.slice(0, this.nnz), val: this.val.slice(0, this.nnz) };
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
