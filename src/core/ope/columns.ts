/**
 * Off-policy evaluation of logged decisions held in columns: the lean form `umbra ope`, the
 * pipeline and the shadow's comparisons read logs into. Per event i, its eligible actions occupy
 * the slots `off[i] … off[i+1] − 1` of the per-slot columns (the target's and the logger's
 * probabilities, the reward model's predictions), so no object is made per event. The reward model
 * is cross-fitted on the events' sparse feature rows, then one streaming pass runs the estimators,
 * once with the reward and once with success as the reward. `evaluateLog` (log.ts) builds these
 * columns from decision events and gets the same numbers.
 */
import type { SparseRows } from '../features/rows.js';
import { OpeAccumulator, type BootstrapWork, type OpeOptions, type OpeReport } from './estimators.js';
import { crossFitFlat } from './reward-model.js';
import type { LoggedSample } from './types.js';

/** Logged decisions in columns (see the module comment). */
export interface OpeColumns {
  /** Events. */
  n: number;
  /** Slot offsets, length n + 1. */
  off: Int32Array;
  /** Global action id of each slot (ids count the distinct actions of the log, in order of first appearance). */
  slotAction: Int32Array;
  /** Number of distinct actions in the log. */
  nActions: number;
  /** The logged action of each event: its local index among the event's slots. */
  action: Int32Array;
  /** The logger's probability of the logged action; NaN when the log did not say. */
  loggingProb: Float64Array;
  /** The logger's probability per slot (NaN where an action is missing from `probs`); used where `hasProbs`. */
  loggingProbs?: Float64Array;
  /** 1 when the event logged its full `probs`. */
  hasProbs?: Uint8Array;
  /** The target's probability per slot. */
  targetProbs: Float64Array;
  /** Local index of the production rules' own choice, or -1. */
  baseline: Int32Array;
  /** The reward of each event in [0, 1]. */
  reward: Float64Array;
  /** 1 when the reward is the configured default. */
  defaulted?: Uint8Array;
  /** Success of each event: 1, 0, or -1 when unknown (the success gate's reward). */
  success?: Int8Array;
  /** 1 when the target names an action the event does not have (the event is counted as rejected). */
  invalid?: Uint8Array;
  /** Features of each event's context; without them DM, DR and Switch-DR are not computed. */
  features?: SparseRows;
}

/** The per-event and per-slot arrays of `OpeColumns`, zero-filled, for a builder to fill. */
export interface OpeColumnArrays {
  slotAction: Int32Array;
  targetProbs: Float64Array;
  loggingProbs: Float64Array;
  hasProbs: Uint8Array;
  action: Int32Array;
  loggingProb: Float64Array;
  baseline: Int32Array;
  reward: Float64Array;
  defaulted: Uint8Array;
  success: Int8Array;
}

/** Zero-filled column arrays for `n` events with `slots` slots in all. */
export function allocateColumns(n: number, slots: number): OpeColumnArrays {
  return {
    slotAction: new Int32Array(slots),
    targetProbs: new Float64Array(slots),
    loggingProbs: new Float64Array(slots),
    hasProbs: new Uint8Array(n),
    action: new Int32Array(n),
    loggingProb: new Float64Array(n),
    baseline: new Int32Array(n),
    reward: new Float64Array(n),
    defaulted: new Uint8Array(n),
    success: new Int8Array(n),
  };
}

/** Settings of an evaluation: the estimator options plus the reward model's. */
export interface LogEvaluationOptions extends OpeOptions {
  /** Folds of the cross-fitted reward model. @default 5 */
  folds?: number;
  /** Ridge penalty of the reward model. @default 1 */
  lambda?: number;
  /**
   * Reward-model predictions to reuse, by reward (`reward` or `success`): targets evaluated on the
   * same logged events with the same features share one model, which does not depend on the target.
   * Filled on first use. Only pass one cache for columns whose logged part and features are equal.
   */
  modelCache?: Map<string, Float64Array>;
}

/** The evaluation of one target on one log. */
export interface LogEvaluation {
  /** With the configured reward. */
  report: OpeReport;
  /** With success (1/0) as the reward, over the events whose success is known; absent when none is. */
  success?: OpeReport;
  /** Events whose success was known. */
  successN: number;
  /** The global action list the reward model used. */
  actions: string[];
}

/** The rows of `rows` at the given positions, in that order. */
function selectRows(rows: SparseRows, pick: Int32Array): SparseRows {
  let nnz = 0;
  for (let k = 0; k < pick.length; k++) nnz += rows.ptr[pick[k]! + 1]! - rows.ptr[pick[k]!]!;
  const ptr = new Int32Array(pick.length + 1);
  const idx = new Int32Array(nnz);
  const val = new Float64Array(nnz);
  let at = 0;
  for (let k = 0; k < pick.length; k++) {
    const s = rows.ptr[pick[k]!]!;
    const e = rows.ptr[pick[k]! + 1]!;
    idx.set(rows.idx.subarray(s, e), at);
    val.set(rows.val.subarray(s, e), at);
    at += e - s;
    ptr[k + 1] = at;
  }
  return { n: pick.length, dim: rows.dim, ptr, idx, val };
}

/**
 * Evaluate on the events `pick` (in that order) with per-event rewards `y`: the reward model is
 * cross-fitted on those events only, then each becomes one logged sample of the estimators.
 */
function accumulateRows(c: OpeColumns, pick: Int32Array, y: ArrayLike<number>, withDefaulted: boolean, options: LogEvaluationOptions, collect: boolean): OpeAccumulator {
  const A = c.nActions;
  const cacheKey = withDefaulted ? 'reward' : 'success';
  let predictions: Float64Array | undefined = c.features !== undefined ? options.modelCache?.get(cacheKey) : undefined;
  if (predictions === undefined && c.features !== undefined && pick.length >= 2) {
    const rows = pick.length === c.n ? c.features : selectRows(c.features, pick);
    const actions = new Int32Array(pick.length);
    const rewards = new Float64Array(pick.length);
    for (let k = 0; k < pick.length; k++) {
      const i = pick[k]!;
      actions[k] = c.slotAction[c.off[i]! + c.action[i]!]!;
      rewards[k] = y[i]!;
    }
    predictions = crossFitFlat({ features: rows, actions, rewards, nActions: A }, { folds: options.folds ?? 5, lambda: options.lambda ?? 1, seed: options.seed ?? 0 });
    options.modelCache?.set(cacheKey, predictions);
  }
  const acc = new OpeAccumulator(options, { collectBootstrap: collect });
  // One sample object and one set of arrays per action count, reused: the estimators keep nothing.
  const scratch = new Map<number, { target: Float64Array; logging: Float64Array; predicted: Float64Array }>();
  // Absent fields are undefined rather than deleted, so the object keeps one shape.
  const sample: { [K in keyof LoggedSample]-?: LoggedSample[K] | undefined } & { reward: number; action: number; targetProbs: ArrayLike<number> } = {
    reward: 0,
    action: 0,
    loggingProb: undefined,
    targetProbs: new Float64Array(0),
    loggingProbs: undefined,
    baseline: undefined,
    predicted: undefined,
    defaulted: undefined,
  };
  for (let k = 0; k < pick.length; k++) {
    const i = pick[k]!;
    if (c.invalid?.[i] === 1) {
      acc.reject('target_names_unknown_action');
      continue;
    }
    const o = c.off[i]!;
    const K = c.off[i + 1]! - o;
    let s = scratch.get(K);
    if (s === undefined) {
      s = { target: new Float64Array(K), logging: new Float64Array(K), predicted: new Float64Array(K) };
      scratch.set(K, s);
    }
    for (let j = 0; j < K; j++) s.target[j] = c.targetProbs[o + j]!;
    sample.reward = y[i]!;
    sample.action = c.action[i]!;
    const mu = c.loggingProb[i]!;
    sample.loggingProb = Number.isNaN(mu) ? undefined : mu;
    sample.targetProbs = s.target;
    if (c.hasProbs?.[i] === 1) {
      for (let j = 0; j < K; j++) {
        const p = c.loggingProbs![o + j]!;
        s.logging[j] = Number.isNaN(p) ? 0 : p;
      }
      sample.loggingProbs = s.logging;
    } else sample.loggingProbs = undefined;
    const b = c.baseline[i]!;
    sample.baseline = b >= 0 ? b : undefined;
    if (predictions !== undefined) {
      for (let j = 0; j < K; j++) s.predicted[j] = predictions[k * A + c.slotAction[o + j]!]!;
      sample.predicted = s.predicted;
    }
    sample.defaulted = withDefaulted && c.defaulted?.[i] === 1 ? true : undefined;
    acc.add(sample as LoggedSample);
  }
  return acc;
}

/** Runs a bootstrap's work somewhere (threads) and answers its sums, the same as `poissonBootstrapSums`. */
export type BootstrapRunner = (work: BootstrapWork) => Promise<Float64Array>;

/** The events with a known success, and success as their reward. */
function successRows(c: OpeColumns): { pick: Int32Array; y: Float64Array } | undefined {
  if (c.success === undefined) return undefined;
  let m = 0;
  for (let i = 0; i < c.n; i++) if (c.success[i]! >= 0) m++;
  if (m === 0) return undefined;
  const pick = new Int32Array(m);
  const y = new Float64Array(c.n);
  m = 0;
  for (let i = 0; i < c.n; i++) {
    if (c.success[i]! < 0) continue;
    pick[m++] = i;
    y[i] = c.success[i]!;
  }
  return { pick, y };
}

function allRows(n: number): Int32Array {
  const all = new Int32Array(n);
  for (let i = 0; i < n; i++) all[i] = i;
  return all;
}

/** Evaluate a target on logged decisions in columns: reward model by cross-fitting, then one streaming pass. */
export function evaluateColumns(c: OpeColumns, actions: readonly string[], options: LogEvaluationOptions = {}): LogEvaluation {
  const report = accumulateRows(c, allRows(c.n), c.reward, true, options, false).report();
  const out: LogEvaluation = { report, successN: 0, actions: [...actions] };
  const succ = successRows(c);
  if (succ !== undefined) {
    out.success = accumulateRows(c, succ.pick, succ.y, false, options, false).report();
    out.successN = succ.pick.length;
  }
  return out;
}

/** `evaluateColumns` with the bootstraps run by `runner` (e.g. on other threads); the same numbers. */
export async function evaluateColumnsWith(c: OpeColumns, actions: readonly string[], options: LogEvaluationOptions, runner: BootstrapRunner): Promise<LogEvaluation> {
  const finish = async (acc: OpeAccumulator): Promise<OpeReport> => {
    const work = acc.bootstrapWork();
    return acc.report(work === undefined ? undefined : await runner(work));
  };
  const out: LogEvaluation = { report: await finish(accumulateRows(c, allRows(c.n), c.reward, true, options, true)), successN: 0, actions: [...actions] };
  const succ = successRows(c);
  if (succ !== undefined) {
    out.success = await finish(accumulateRows(c, succ.pick, succ.y, false, options, true));
    out.successN = succ.pick.length;
  }
  return out;
}
