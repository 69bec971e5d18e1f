/**
 * The reward model behind DM and DR: ridge regression per action on dense feature vectors, fitted
 * with cross-fitting so that no event's prediction comes from a model that saw that event (a model
 * evaluated on its own training data flatters DM and makes DR's correction term biased).
 *
 * Each action's model shrinks towards that action's mean reward (itself shrunk towards the global
 * mean with one pseudo-event), so an action with little or no data predicts its mean, or the global
 * mean, instead of 0. Predictions are clipped to the reward range [0, 1].
 */
import { rowsOfDense, type SparseRows } from '../features/rows.js';
import { Rng } from '../rng.js';

/** Training data: one row per logged event. */
export interface RewardModelData {
  /** Features of each event's context: dense vectors (all of length `dim`) or sparse rows. */
  features: readonly Float64Array[] | SparseRows;
  /** Index of the logged action in the global action list (0 … nActions − 1). */
  actions: ArrayLike<number>;
  /** Observed rewards in [0, 1]. */
  rewards: ArrayLike<number>;
  /** Size of the global action list. */
  nActions: number;
}

/** Options of the ridge reward model. */
export interface RidgeOptions {
  /** L2 penalty λ on the coefficients. @default 1 */
  lambda?: number;
}

/** Options of cross-fitting. */
export interface CrossFitOptions extends RidgeOptions {
  /** Number of folds k (≥ 2): predictions for fold i come from a model fitted on the other folds. @default 5 */
  folds?: number;
  /** Seed of the fold assignment. @default 0 */
  seed?: number;
}

/** Sufficient statistics of one action's ridge problem (exported for the equivalence tests). */
export class Suff {
  readonly dim: number;
  /** Upper triangle of XᵀX, row-major d×d (only j ≥ i used). */
  readonly xx: Float64Array;
  readonly xy: Float64Array;
  readonly sx: Float64Array;
  sy = 0;
  n = 0;

  constructor(dim: number) {
    this.dim = dim;
    this.xx = new Float64Array(dim * dim);
    this.xy = new Float64Array(dim);
    this.sx = new Float64Array(dim);
  }

  add(x: Float64Array, y: number): void {
    const d = this.dim;
    const xx = this.xx;
    for (let i = 0; i < d; i++) {
      const xi = x[i]!;
      if (xi === 0) continue;
      this.xy[i] = this.xy[i]! + xi * y;
      this.sx[i] = this.sx[i]! + xi;
      const row = i * d;
      for (let j = i; j < d; j++) xx[row + j] = xx[row + j]! + xi * x[j]!;
    }
    this.sy += y;
    this.n++;
  }

  /**
   * Add row r of `rows` with target y: the same sums as `add` of its dense vector (the dense loop's
   * zero terms add nothing), over the nonzeros in ascending order.
   */
  addRow(rows: SparseRows, r: number, y: number): void {
    const d = this.dim;
    const xx = this.xx;
    const { idx, val } = rows;
    const end = rows.ptr[r + 1]!;
    for (let p = rows.ptr[r]!; p < end; p++) {
      const i = idx[p]!;
      const xi = val[p]!;
      this.xy[i] = this.xy[i]! + xi * y;
      this.sx[i] = this.sx[i]! + xi;
      const row = i * d;
      for (let q = p; q < end; q++) {
        const j = idx[q]!;
        xx[row + j] = xx[row + j]! + xi * val[q]!;
      }
    }
    this.sy += y;
    this.n++;
  }

  /** this += sign · other. */
  addScaled(other: Suff, sign: number): void {
    for (let i = 0; i < this.xx.length; i++) this.xx[i] = this.xx[i]! + sign * other.xx[i]!;
    for (let i = 0; i < this.dim; i++) {
      this.xy[i] = this.xy[i]! + sign * other.xy[i]!;
      this.sx[i] = this.sx[i]! + sign * other.sx[i]!;
    }
    this.sy += sign * other.sy;
    this.n += sign * other.n;
  }
}

/** Solve (A + λI) β = b for symmetric A given by its upper triangle (Cholesky); A is not modified. */
function solveRidge(upper: Float64Array, b: Float64Array, d: number, lambda: number): Float64Array {
  const L = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let j = 0; j <= i; j++) {
      let s = upper[j * d + i]! + (i === j ? lambda : 0);
      for (let k = 0; k < j; k++) s -= L[i * d + k]! * L[j * d + k]!;
      if (i === j) L[i * d + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[i * d + j] = s / L[j * d + j]!;
    }
  }
  const y = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i * d + k]! * y[k]!;
    y[i] = s / L[i * d + i]!;
  }
  const x = new Float64Array(d);
  for (let i = d - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < d; k++) s -= L[k * d + i]! * x[k]!;
    x[i] = s / L[i * d + i]!;
  }
  return x;
}

/** A fitted per-action ridge reward model. */
export class RidgeRewardModel {
  readonly dim: number;
  readonly nActions: number;
  readonly lambda: number;
  /** Coefficients, action-major: coef[a·dim + j]. */
  readonly coef: Float64Array;
  /** Per action: the centre the model shrinks to (shrunk action mean). */
  readonly centre: Float64Array;
  /** Per action: mean feature vector of its training events (the model is fitted on centred features). */
  readonly meanX: Float64Array;
  /** Per action: training events. */
  readonly counts: Float64Array;

  private constructor(dim: number, nActions: number, lambda: number) {
    this.dim = dim;
    this.nActions = nActions;
    this.lambda = lambda;
    this.coef = new Float64Array(dim * nActions);
    this.centre = new Float64Array(nActions);
    this.meanX = new Float64Array(dim * nActions);
    this.counts = new Float64Array(nActions);
  }

  /** Fit from per-action sufficient statistics. */
  static fromStats(stats: readonly Suff[], dim: number, lambda: number): RidgeRewardModel {
    const m = new RidgeRewardModel(dim, stats.length, lambda);
    let sy = 0;
    let n = 0;
    for (const s of stats) {
      sy += s.sy;
      n += s.n;
    }
    const globalMean = n > 0 ? sy / n : 0.5;
    stats.forEach((s, a) => {
      m.counts[a] = s.n;
      const centre = (s.sy + globalMean) / (s.n + 1);
      m.centre[a] = centre;
      if (s.n < 1) return;
      // Centred normal equations: XcᵀXc = XᵀX − n·x̄x̄ᵀ and Xcᵀy = Xᵀy − x̄·Σy.
      const xbar = new Float64Array(dim);
      for (let i = 0; i < dim; i++) xbar[i] = s.sx[i]! / s.n;
      const up = new Float64Array(dim * dim);
      for (let i = 0; i < dim; i++) for (let j = i; j < dim; j++) up[i * dim + j] = s.xx[i * dim + j]! - s.n * xbar[i]! * xbar[j]!;
      const rhs = new Float64Array(dim);
      for (let i = 0; i < dim; i++) rhs[i] = s.xy[i]! - xbar[i]! * s.sy;
      // Prediction: c_a + β·(x − x̄_a); the centred fit needs no (penalised) intercept.
      m.coef.set(solveRidge(up, rhs, dim, lambda), a * dim);
      m.meanX.set(xbar, a * dim);
    });
    return m;
  }

  /** Fit on every row (or those `include` keeps). */
  static fit(data: RewardModelData, options: RidgeOptions = {}, include?: (i: number) => boolean): RidgeRewardModel {
    const rows = rowsOf(data);
    const dim = rows.dim;
    const stats = Array.from({ length: data.nActions }, () => new Suff(dim));
    for (let i = 0; i < rows.n; i++) {
      if (include !== undefined && !include(i)) continue;
      stats[data.actions[i]!]!.addRow(rows, i, data.rewards[i]!);
    }
    return RidgeRewardModel.fromStats(stats, dim, options.lambda ?? 1);
  }

  /** Predicted reward of `action` for features `x`, clipped to [0, 1]. */
  predictOne(x: Float64Array, action: number): number {
    const d = this.dim;
    const off = action * d;
    let v = this.centre[action]!;
    if (this.counts[action]! > 0) for (let j = 0; j < d; j++) v += this.coef[off + j]! * (x[j]! - this.meanX[off + j]!);
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }

  /** Predicted reward of every action (global order), clipped to [0, 1]. */
  predict(x: Float64Array, out: Float64Array = new Float64Array(this.nActions), at = 0): Float64Array {
    for (let a = 0; a < this.nActions; a++) out[at + a] = this.predictOne(x, a);
    return out;
  }
}

/** The data's features as sparse rows, checked against its actions and rewards. */
function rowsOf(data: RewardModelData): SparseRows {
  const rows = 'ptr' in data.features ? data.features : rowsOfDense(data.features);
  if (data.actions.length !== rows.n || data.rewards.length !== rows.n) throw new RangeError('features, actions and rewards must have the same length');
  return rows;
}

/** Fold of each row: a seeded random permutation dealt round-robin into k folds. */
export function assignFolds(n: number, k: number, seed: number): Int32Array {
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  const rng = new Rng(seed, 0xf01d);
  for (let i = n - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = perm[i]!;
    perm[i] = perm[j]!;
    perm[j] = t;
  }
  const fold = new Int32Array(n);
  for (let i = 0; i < n; i++) fold[perm[i]!] = i % k;
  return fold;
}

/**
 * Cross-fitted predictions: row i gets every action's predicted reward from a model fitted on the
 * other k − 1 folds. Cost: one pass to accumulate per-fold statistics, k·A ridge solves.
 */
export function crossFitPredictions(data: RewardModelData, options: CrossFitOptions = {}): Float64Array[] {
  const A = data.nActions;
  const flat = crossFitFlat(data, options);
  const out: Float64Array[] = new Array(flat.length / Math.max(1, A));
  for (let i = 0; i < out.length; i++) out[i] = flat.slice(i * A, (i + 1) * A);
  return out;
}

/**
 * `crossFitPredictions` in one flat array: row i's prediction for action a at `i·nActions + a`.
 * Each row's features are scattered into one reused dense buffer for the prediction, so the
 * numbers are those of the dense computation.
 */
export function crossFitFlat(data: RewardModelData, options: CrossFitOptions = {}): Float64Array {
  const rows = rowsOf(data);
  const n = rows.n;
  const k = Math.max(2, Math.floor(options.folds ?? 5));
  const lambda = options.lambda ?? 1;
  const dim = rows.dim;
  const A = data.nActions;
  const fold = assignFolds(n, k, options.seed ?? 0);
  const per = Array.from({ length: k }, () => Array.from({ length: A }, () => new Suff(dim)));
  const total = Array.from({ length: A }, () => new Suff(dim));
  for (let i = 0; i < n; i++) {
    const a = data.actions[i]!;
    if (!(a >= 0 && a < A)) throw new RangeError(`action index ${a} outside 0 … ${A - 1}`);
    per[fold[i]!]![a]!.addRow(rows, i, data.rewards[i]!);
  }
  for (let f = 0; f < k; f++) for (let a = 0; a < A; a++) total[a]!.addScaled(per[f]![a]!, 1);
  const models: RidgeRewardModel[] = [];
  for (let f = 0; f < k; f++) {
    const train = total.map((t, a) => {
      const s = new Suff(dim);
      s.addScaled(t, 1);
      s.addScaled(per[f]![a]!, -1);
      return s;
    });
    models.push(RidgeRewardModel.fromStats(train, dim, lambda));
  }
  const out = new Float64Array(n * A);
  const x = new Float64Array(dim);
  for (let i = 0; i < n; i++) {
    const start = rows.ptr[i]!;
    const end = rows.ptr[i + 1]!;
    for (let p = start; p < end; p++) x[rows.idx[p]!] = rows.val[p]!;
    models[fold[i]!]!.predict(x, out, i * A);
    for (let p = start; p < end; p++) x[rows.idx[p]!] = 0;
  }
  return out;
}
