/**
 * The sparse learner's model: reward regression per action on the sparse features, every feature
 * crossed with the action (index i of action a is stored at i XOR salt(a), so each action has its
 * own weights in one hashed table), optionally plus weights shared by every action. Trained by
 * AdaGrad on the squared loss with an L2 penalty on the weights an example touches, over several
 * passes in a seeded order. Weights and AdaGrad sums are Float32, so training, the artifact and a
 * reloaded model hold the same numbers bit for bit.
 *
 * Uncertainty (conservative mode) is a diagonal approximation of ridge regression's: coordinate i
 * of action a has precision λ + n_i, where n_i, its weighted count of squared feature values, is
 * read off AdaGrad's sum of squared gradients as G_i / σ_a² (σ_a² the action's mean squared
 * residual after training). The width of a context x is sqrt(Σ_i x_i² / (λ + n_i)).
 */
import { murmur3 } from '../hash.js';
import { Rng } from '../rng.js';

/** Seed of the action salts (fixed: part of the model's meaning). */
const SALT_SEED = 0x5a17ac7;
/** Smallest residual variance used for widths. */
const MIN_RESIDUAL = 1e-6;

/** The salt of an action in a table of 2^bits: a nonzero index XORed onto every feature index. */
export function actionSalt(action: string, mask: number): number {
  const s = murmur3(action, SALT_SEED) & mask;
  return s === 0 ? 1 : s;
}

/** What the model knows of one action. */
export interface SparseArm {
  action: string;
  salt: number;
  /** Training examples of the action (batch and online). */
  n: number;
  sumReward: number;
  /** Mean squared residual of the action's examples after the last batch (σ²). */
  residual: number;
}

/** Training hyper-parameters. */
export interface SparseTraining {
  learningRate: number;
  l2: number;
  passes: number;
  /** Most example updates over all passes (passes shrink to fit, never below one). @default Infinity */
  maxUpdates?: number;
  /** Seed of the pass orders. */
  seed: number;
}

/** Examples in rows: features (CSR over the 2^bits space), the arm of each row, reward and weight. */
export interface SparseExamples {
  n: number;
  ptr: Int32Array;
  idx: Int32Array;
  val: Float64Array;
  arm: Int32Array;
  reward: Float64Array;
  weight: Float64Array;
}

/** The passes a training of `n` examples makes: `passes`, fewer when `maxUpdates` says so, at least one. */
export function passesFor(n: number, o: Pick<SparseTraining, 'passes' | 'maxUpdates'>): number {
  const budget = o.maxUpdates ?? Infinity;
  return Math.max(1, Math.min(o.passes, n > 0 ? Math.floor(budget / n) : o.passes));
}

/**
 * Per-action weights in one hashed Float32 table, with AdaGrad's sums beside them: slot i holds its
 * weight at `wg[2i]` and its sum at `wg[2i + 1]`, so an update touches one cache line, not two.
 */
export class SparseModel {
  readonly bits: number;
  readonly mask: number;
  readonly shared: boolean;
  /** Interleaved weights and AdaGrad sums (2 · 2^bits). */
  readonly wg: Float32Array;
  readonly arms: SparseArm[] = [];
  private readonly byAction = new Map<string, SparseArm>();

  constructor(bits: number, shared: boolean) {
    this.bits = bits;
    this.mask = (1 << bits) - 1;
    this.shared = shared;
    this.wg = new Float32Array(2 << bits);
  }

  arm(action: string): SparseArm | undefined {
    return this.byAction.get(action);
  }

  /** The arm of an action, created when first learned. */
  armFor(action: string): SparseArm {
    let a = this.byAction.get(action);
    if (a === undefined) {
      a = { action, salt: actionSalt(action, this.mask), n: 0, sumReward: 0, residual: 0 };
      this.byAction.set(action, a);
      this.arms.push(a);
    }
    return a;
  }

  /** The predicted reward of a context's entries [from, to) for the action of `salt`. */
  predict(idx: Int32Array, val: Float64Array, from: number, to: number, salt: number): number {
    const wg = this.wg;
    let s = 0;
    for (let t = from; t < to; t++) s += wg[(idx[t]! ^ salt) << 1]! * val[t]!;
    if (this.shared) for (let t = from; t < to; t++) s += wg[idx[t]! << 1]! * val[t]!;
    return s;
  }

  /** The weight of slot i. */
  weight(i: number): number {
    return this.wg[i << 1]!;
  }

  /** The width sqrt(Σ x_i² / (λ + G_i / σ²)) of a context's entries for one arm (see the module comment). */
  width(idx: Int32Array, val: Float64Array, from: number, to: number, arm: SparseArm, lambda: number): number {
    const wg = this.wg;
    const inv = 1 / Math.max(arm.residual, MIN_RESIDUAL);
    let s = 0;
    for (let t = from; t < to; t++) {
      const x = val[t]!;
      s += (x * x) / (lambda + wg[((idx[t]! ^ arm.salt) << 1) | 1]! * inv);
    }
    return Math.sqrt(s);
  }

  /** One AdaGrad step on the squared loss for one example. */
  step(idx: Int32Array, val: Float64Array, from: number, to: number, salt: number, reward: number, weight: number, lr: number, l2: number): void {
    const err = (this.predict(idx, val, from, to, salt) - reward) * weight;
    if (err === 0 && l2 === 0) return;
    this.update(idx, val, from, to, salt, err, lr, l2);
    if (this.shared) this.update(idx, val, from, to, 0, err, lr, l2);
  }

  private update(idx: Int32Array, val: Float64Array, from: number, to: number, salt: number, err: number, lr: number, l2: number): void {
    const wg = this.wg;
    for (let t = from; t < to; t++) {
      const j = (idx[t]! ^ salt) << 1;
      const w = wg[j]!;
      const gi = err * val[t]! + l2 * w;
      if (gi === 0) continue;
      const acc = wg[j + 1]! + gi * gi;
      wg[j + 1] = acc;
      wg[j] = w - (lr * gi) / Math.sqrt(acc);
    }
  }

  /**
   * Batch training: `passes` passes over the examples, each in its own seeded order, then the
   * residual variance of each arm. `armOf[k]` is the arm of `ex.arm[k]`.
   */
  train(ex: SparseExamples, armOf: readonly SparseArm[], o: SparseTraining): void {
    const order = new Int32Array(ex.n);
    for (let k = 0; k < ex.n; k++) order[k] = k;
    const salts = Int32Array.from(armOf, (a) => a.salt);
    for (let k = 0; k < ex.n; k++) {
      const a = armOf[ex.arm[k]!]!;
      a.n++;
      a.sumReward += ex.reward[k]!;
    }
    const passes = passesFor(ex.n, o);
    for (let pass = 0; pass < passes; pass++) {
      const rng = new Rng(o.seed, pass + 1);
      for (let k = ex.n - 1; k > 0; k--) {
        const j = rng.int(k + 1);
        const t = order[k]!;
        order[k] = order[j]!;
        order[j] = t;
      }
      for (let q = 0; q < ex.n; q++) {
        const k = order[q]!;
        const wt = ex.weight[k]!;
        if (wt === 0) continue;
        this.step(ex.idx, ex.val, ex.ptr[k]!, ex.ptr[k + 1]!, salts[ex.arm[k]!]!, ex.reward[k]!, wt, o.learningRate, o.l2);
      }
    }
    const sse = new Float64Array(armOf.length);
    const cnt = new Float64Array(armOf.length);
    for (let k = 0; k < ex.n; k++) {
      const a = ex.arm[k]!;
      const e = this.predict(ex.idx, ex.val, ex.ptr[k]!, ex.ptr[k + 1]!, salts[a]!) - ex.reward[k]!;
      sse[a] = sse[a]! + e * e;
      cnt[a] = cnt[a]! + 1;
    }
    armOf.forEach((a, i) => {
      if (cnt[i]! > 0) a.residual = sse[i]! / cnt[i]!;
    });
  }

  /** Restore an arm (artifact loading). */
  restoreArm(a: Omit<SparseArm, 'salt'>): void {
    const arm = this.armFor(a.action);
    arm.n = a.n;
    arm.sumReward = a.sumReward;
    arm.residual = a.residual;
  }
}

// ---------------------------------------------------------------------------------------------
// The table in an artifact: the slots that are not both zero, as little-endian base64 (indices as
// deltas in Uint32, weights and AdaGrad sums in Float32), so the document is byte-reproducible.

/** The stored table. */
export interface SparseTable {
  /** Slots stored. */
  count: number;
  /** Ascending slot indices, each as the difference to the previous (Uint32 LE, base64). */
  index: string;
  /** Weights of those slots (Float32 LE, base64). */
  weight: string;
  /** AdaGrad sums of those slots (Float32 LE, base64). */
  adagrad: string;
}

function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** The nonzero slots of a model as a stored table. */
export function encodeTable(m: SparseModel): SparseTable {
  const wg = m.wg;
  const slots = wg.length >> 1;
  let count = 0;
  for (let i = 0; i < slots; i++) if (wg[2 * i] !== 0 || wg[2 * i + 1] !== 0) count++;
  const index = new DataView(new ArrayBuffer(count * 4));
  const weight = new DataView(new ArrayBuffer(count * 4));
  const adagrad = new DataView(new ArrayBuffer(count * 4));
  let k = 0;
  let prev = 0;
  for (let i = 0; i < slots; i++) {
    if (wg[2 * i] === 0 && wg[2 * i + 1] === 0) continue;
    index.setUint32(k * 4, i - prev, true);
    weight.setFloat32(k * 4, wg[2 * i]!, true);
    adagrad.setFloat32(k * 4, wg[2 * i + 1]!, true);
    prev = i;
    k++;
  }
  return { count, index: toBase64(new Uint8Array(index.buffer)), weight: toBase64(new Uint8Array(weight.buffer)), adagrad: toBase64(new Uint8Array(adagrad.buffer)) };
}

/** Fill a model's table from a stored one; throws RangeError on a malformed table. */
export function decodeTable(m: SparseModel, t: SparseTable): void {
  const read = (b64: string, what: string): DataView => {
    const buf = Buffer.from(b64, 'base64');
    if (buf.length !== t.count * 4) throw new RangeError(`sparse table ${what} holds ${buf.length} bytes, not ${t.count * 4}`);
    return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  };
  const index = read(t.index, 'index');
  const weight = read(t.weight, 'weight');
  const adagrad = read(t.adagrad, 'adagrad');
  const slots = m.wg.length >> 1;
  let i = 0;
  for (let k = 0; k < t.count; k++) {
    i += index.getUint32(k * 4, true);
    if (i >= slots || (k > 0 && index.getUint32(k * 4, true) === 0)) throw new RangeError(`sparse table index ${i} out of order or outside 2^${m.bits}`);
    m.wg[2 * i] = weight.getFloat32(k * 4, true);
    m.wg[2 * i + 1] = adagrad.getFloat32(k * 4, true);
  }
}
