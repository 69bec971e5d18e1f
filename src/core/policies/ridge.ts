/**
 * One arm of a disjoint linear model: ridge regression of the reward on the features, kept as
 * A = λI + Σ x xᵀ and b = Σ r x, with A⁻¹ maintained by Sherman–Morrison rank-one updates online and
 * refactorised from the stored A (Cholesky) every K updates so that rounding cannot drift. Batch
 * training accumulates the upper triangle of Σ x xᵀ and Σ r x and inverts once; it equals the online
 * result up to rounding (the tests hold it to 1e-9 relative).
 */
import { choleskyInverse, matVec, mirrorUpper, rankOneFull, rankOneUpper, shermanMorrison } from './linalg.js';

/** Shared Cholesky workspace (JavaScript runs one refactorisation at a time). */
let work = new Float64Array(0);

/** A ridge arm's serialisable state. */
export interface RidgeArmState {
  n: number;
  sumReward: number;
  /** Packed upper triangle of A, row by row. */
  A: number[];
  b: number[];
}

/** One arm of a disjoint ridge model on d features. */
export class RidgeArm {
  readonly d: number;
  /** A = λI + Σ x xᵀ (row-major, symmetric at rest). */
  readonly A: Float64Array;
  /** b = Σ r x. */
  readonly b: Float64Array;
  /** A⁻¹ (row-major, symmetric). */
  readonly Ainv: Float64Array;
  /** θ = A⁻¹ b (valid when not dirty). */
  readonly theta: Float64Array;
  /** Examples learned. */
  n = 0;
  /** Sum of rewards learned. */
  sumReward = 0;
  private sinceRefactor = 0;
  private thetaDirty = false;
  private pendingBatch = false;
  private readonly scratch: Float64Array;

  constructor(d: number, lambda: number) {
    this.d = d;
    this.A = new Float64Array(d * d);
    this.Ainv = new Float64Array(d * d);
    this.b = new Float64Array(d);
    this.theta = new Float64Array(d);
    this.scratch = new Float64Array(d);
    for (let i = 0; i < d; i++) {
      this.A[i * d + i] = lambda;
      this.Ainv[i * d + i] = 1 / lambda;
    }
  }

  /** Online update: A += x xᵀ, b += r x, A⁻¹ by Sherman–Morrison, refactorised every `refactorEvery`. */
  update(x: Float64Array, reward: number, refactorEvery: number): void {
    if (this.pendingBatch) this.finishBatch();
    const d = this.d;
    rankOneFull(this.A, x, d);
    for (let i = 0; i < d; i++) this.b[i] = this.b[i]! + reward * x[i]!;
    this.n++;
    this.sumReward += reward;
    if (++this.sinceRefactor >= refactorEvery) this.refactor();
    else shermanMorrison(this.Ainv, x, d, this.scratch);
    this.thetaDirty = true;
  }

  /** Batch accumulation (upper triangle only) of x read from `off`; call `finishBatch` before reading the model. */
  accumulate(x: Float64Array, reward: number, off = 0): void {
    const d = this.d;
    rankOneUpper(this.A, x, d, off);
    const b = this.b;
    for (let i = 0; i < d; i++) b[i] = b[i]! + reward * x[off + i]!;
    this.n++;
    this.sumReward += reward;
    this.pendingBatch = true;
  }

  /** Complete a batch: mirror A, recompute A⁻¹ from A and θ. */
  finishBatch(): void {
    if (!this.pendingBatch) return;
    mirrorUpper(this.A, this.d);
    this.pendingBatch = false;
    this.refactor();
  }

  /** Recompute A⁻¹ from A (Cholesky). Deterministic: equal A gives bit-identical A⁻¹. */
  refactor(): void {
    if (this.pendingBatch) mirrorUpper(this.A, this.d);
    this.pendingBatch = false;
    const dd = this.d * this.d;
    if (work.length < dd) work = new Float64Array(dd);
    if (!choleskyInverse(this.A, this.d, this.Ainv, work)) throw new RangeError('ridge matrix is not positive definite');
    this.sinceRefactor = 0;
    this.thetaDirty = true;
  }

  /** θ = A⁻¹ b, recomputed when stale. */
  coefficients(): Float64Array {
    if (this.pendingBatch) this.finishBatch();
    if (this.thetaDirty) {
      matVec(this.Ainv, this.b, this.d, this.theta);
      this.thetaDirty = false;
    }
    return this.theta;
  }

  /** Serialisable state (refactorises first, so a reloaded arm is bit-identical to this one). */
  state(): RidgeArmState {
    this.refactor();
    const d = this.d;
    const A: number[] = [];
    for (let i = 0; i < d; i++) for (let j = i; j < d; j++) A.push(this.A[i * d + j]!);
    return { n: this.n, sumReward: this.sumReward, A, b: Array.from(this.b) };
  }

  /** Rebuild an arm from its state. */
  static fromState(d: number, st: RidgeArmState): RidgeArm {
    if (st.A.length !== (d * (d + 1)) / 2 || st.b.length !== d) throw new RangeError(`arm state does not match dimension ${d}`);
    const arm = new RidgeArm(d, 1);
    let k = 0;
    for (let i = 0; i < d; i++) {
      for (let j = i; j < d; j++) {
        const v = st.A[k++]!;
        arm.A[i * d + j] = v;
        arm.A[j * d + i] = v;
      }
    }
    arm.b.set(st.b);
    arm.n = st.n;
    arm.sumReward = st.sumReward;
    arm.refactor();
    return arm;
  }
}
