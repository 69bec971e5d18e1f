/**
 * From canonical decision events to an evaluation: align the logger's and the target's
 * distributions with each event's action list, cross-fit the reward model on the log's own
 * features, and run the estimators, once with the reward and once with success as the reward (what
 * the success gate needs). The CLI, the pipeline and the shadow controller all call `evaluateLog`,
 * so they read a log the same way.
 */
import type { DecisionEvent } from '../events.js';
import { OpeAccumulator, type OpeOptions, type OpeReport } from './estimators.js';
import { crossFitPredictions } from './reward-model.js';
import type { LoggedSample } from './types.js';

/** A target distribution: action name → probability (absent actions have probability 0). */
export type TargetDistribution = Readonly<Record<string, number>>;

/**
 * One logged decision as a `LoggedSample`, or a reason it cannot be one. The logger's distribution
 * comes from `probs` when logged; `propensity` alone gives the logged action's probability only; with
 * neither, `loggingProb` stays undefined (a deterministic logger, reported as such).
 */
export function toLoggedSample(
  event: DecisionEvent,
  reward: number,
  target: TargetDistribution,
  extra: { predicted?: ArrayLike<number>; defaulted?: boolean } = {},
): LoggedSample | { error: string } {
  const acts = event.actions;
  const action = acts.indexOf(event.action);
  if (action < 0) return { error: `action "${event.action}" is not one of the event's actions` };
  for (const name of Object.keys(target)) {
    if (!acts.includes(name)) return { error: `the target names "${name}", which is not one of the event's actions` };
  }
  const targetProbs = new Float64Array(acts.length);
  for (let i = 0; i < acts.length; i++) targetProbs[i] = target[acts[i]!] ?? 0;
  const s: LoggedSample = {
    reward,
    action,
    loggingProb: event.propensity ?? event.probs?.[event.action],
    targetProbs,
  };
  if (event.probs !== undefined) {
    const lp = new Float64Array(acts.length);
    for (let i = 0; i < acts.length; i++) lp[i] = event.probs[acts[i]!] ?? 0;
    s.loggingProbs = lp;
  }
  if (event.baseline !== undefined) s.baseline = acts.indexOf(event.baseline);
  if (extra.predicted !== undefined) s.predicted = extra.predicted;
  if (extra.defaulted === true) s.defaulted = true;
  return s;
}

/** Everything `evaluateLog` needs, aligned by position. */
export interface LogEvaluationInput {
  events: readonly DecisionEvent[];
  /** Reward of each event in [0, 1]. */
  rewards: ArrayLike<number>;
  /** Whether each reward is the configured default (no outcome arrived). */
  defaulted?: ArrayLike<boolean>;
  /** Success of each event when known (for the success gate). */
  success?: ReadonlyArray<boolean | undefined>;
  /** The target's distribution for each event. */
  targets: readonly TargetDistribution[];
  /** Context features of each event (same dimension); without them DM, DR and Switch-DR are not computed. */
  features?: readonly Float64Array[];
}

/** Settings of `evaluateLog`: the estimator options plus the reward model's. */
export interface LogEvaluationOptions extends OpeOptions {
  /** Folds of the cross-fitted reward model. @default 5 */
  folds?: number;
  /** Ridge penalty of the reward model. @default 1 */
  lambda?: number;
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

/** Evaluate a target on a decision log: reward model by cross-fitting, then one streaming pass. */
export function evaluateLog(input: LogEvaluationInput, options: LogEvaluationOptions = {}): LogEvaluation {
  const { events, rewards, targets } = input;
  const n = events.length;
  if (targets.length !== n || rewards.length !== n) throw new RangeError('events, rewards and targets must be aligned');
  const actionIndex = new Map<string, number>();
  for (const e of events) for (const a of e.actions) if (!actionIndex.has(a)) actionIndex.set(a, actionIndex.size);
  const actions = [...actionIndex.keys()];
  const globalAction = Int32Array.from(events, (e) => actionIndex.get(e.action)!);
  const crossOpts = { folds: options.folds ?? 5, lambda: options.lambda ?? 1, seed: options.seed ?? 0 };

  const localPredictions = (y: ArrayLike<number>, rows: readonly number[]): (Float64Array | undefined)[] => {
    const out: (Float64Array | undefined)[] = new Array(n).fill(undefined);
    if (input.features === undefined || rows.length < 2) return out;
    const feats = rows.map((i) => input.features![i]!);
    const preds = crossFitPredictions(
      { features: feats, actions: rows.map((i) => globalAction[i]!), rewards: rows.map((i) => y[i]!), nActions: actions.length },
      crossOpts,
    );
    rows.forEach((i, j) => {
      const g = preds[j]!;
      const acts = events[i]!.actions;
      const local = new Float64Array(acts.length);
      for (let k = 0; k < acts.length; k++) local[k] = g[actionIndex.get(acts[k]!)!]!;
      out[i] = local;
    });
    return out;
  };

  const run = (y: ArrayLike<number>, rows: readonly number[], withDefaulted: boolean): OpeReport => {
    const preds = localPredictions(y, rows);
    const acc = new OpeAccumulator(options);
    for (const i of rows) {
      const extra: { predicted?: ArrayLike<number>; defaulted?: boolean } = {};
      const p = preds[i];
      if (p !== undefined) extra.predicted = p;
      if (withDefaulted && input.defaulted?.[i] === true) extra.defaulted = true;
      const s = toLoggedSample(events[i]!, y[i]!, targets[i]!, extra);
      if ('error' in s) acc.reject('target_names_unknown_action');
      else acc.add(s);
    }
    return acc.report();
  };

  const all = Array.from({ length: n }, (_, i) => i);
  const report = run(rewards, all, true);
  const out: LogEvaluation = { report, successN: 0, actions };
  if (input.success !== undefined) {
    const rows = all.filter((i) => input.success![i] !== undefined);
    if (rows.length > 0) {
      const y = new Float64Array(n);
      for (const i of rows) y[i] = input.success[i] ? 1 : 0;
      out.success = run(y, rows, false);
      out.successN = rows.length;
    }
  }
  return out;
}
