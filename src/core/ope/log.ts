/**
 * From canonical decision events to an evaluation: align the logger's and the target's
 * distributions with each event's action list in columns and evaluate them (columns.ts: the reward
 * model cross-fitted on the log's own features, the estimators once with the reward and once with
 * success as the reward, what the success gate needs). Readers that already hold columns call
 * `evaluateColumns` directly and get the same numbers.
 */
import type { DecisionEvent } from '../events.js';
import { rowsOfDense, type SparseRows } from '../features/rows.js';
import { allocateColumns, evaluateColumns, type LogEvaluation, type LogEvaluationOptions, type OpeColumns } from './columns.js';
import type { LoggedSample } from './types.js';

export type { LogEvaluation, LogEvaluationOptions };

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

/** What evaluation reads of a logged decision (a decision event, or a training episode). */
export type LoggedDecision = Pick<DecisionEvent, 'actions' | 'action' | 'propensity' | 'probs' | 'baseline'>;

/** Everything `evaluateLog` needs, aligned by position. */
export interface LogEvaluationInput {
  events: readonly LoggedDecision[];
  /** Reward of each event in [0, 1]. */
  rewards: ArrayLike<number>;
  /** Whether each reward is the configured default (no outcome arrived). */
  defaulted?: ArrayLike<boolean>;
  /** Success of each event when known (for the success gate). */
  success?: ReadonlyArray<boolean | undefined>;
  /**
   * The target's distribution for each event: by action name, or as a function giving the
   * probabilities aligned with the event's actions.
   */
  targets: readonly TargetDistribution[] | ((i: number) => ArrayLike<number>);
  /** Context features of each event: dense vectors of one length, or sparse rows; without them DM, DR and Switch-DR are not computed. */
  features?: readonly Float64Array[] | SparseRows;
}

/** The columns of decision events and their targets (see `OpeColumns`); global actions in order of first appearance. */
export function columnsOfEvents(input: LogEvaluationInput): { columns: OpeColumns; actions: string[] } {
  const { events, rewards, targets } = input;
  const n = events.length;
  if ((typeof targets !== 'function' && targets.length !== n) || rewards.length !== n) throw new RangeError('events, rewards and targets must be aligned');
  const actionIndex = new Map<string, number>();
  let slots = 0;
  for (const e of events) {
    slots += e.actions.length;
    for (const a of e.actions) if (!actionIndex.has(a)) actionIndex.set(a, actionIndex.size);
  }
  const off = new Int32Array(n + 1);
  const { slotAction, targetProbs, loggingProbs, hasProbs, action, loggingProb, baseline, reward, defaulted, success } = allocateColumns(n, slots);
  const invalid = new Uint8Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const e = events[i]!;
    const acts = e.actions;
    off[i] = at;
    if (typeof targets === 'function') targetProbs.set(targets(i), at);
    else {
      const target = targets[i]!;
      for (const name of Object.keys(target)) if (!acts.includes(name)) invalid[i] = 1;
      for (let k = 0; k < acts.length; k++) targetProbs[at + k] = target[acts[k]!] ?? 0;
    }
    for (let k = 0; k < acts.length; k++) {
      slotAction[at + k] = actionIndex.get(acts[k]!)!;
      loggingProbs[at + k] = e.probs?.[acts[k]!] ?? NaN;
    }
    at += acts.length;
    const a = acts.indexOf(e.action);
    if (a < 0) invalid[i] = 1;
    action[i] = a < 0 ? 0 : a;
    loggingProb[i] = e.propensity ?? e.probs?.[e.action] ?? NaN;
    hasProbs[i] = e.probs === undefined ? 0 : 1;
    baseline[i] = e.baseline === undefined ? -1 : acts.indexOf(e.baseline);
    reward[i] = rewards[i]!;
    defaulted[i] = input.defaulted?.[i] === true ? 1 : 0;
    const sv = input.success?.[i];
    success[i] = sv === undefined ? -1 : sv ? 1 : 0;
  }
  off[n] = at;
  const columns: OpeColumns = { n, off, slotAction, nActions: actionIndex.size, action, loggingProb, loggingProbs, hasProbs, targetProbs, baseline, reward, defaulted, invalid };
  if (input.success !== undefined) columns.success = success;
  if (input.features !== undefined) columns.features = 'ptr' in input.features ? input.features : rowsOfDense(input.features, input.features[0]?.length ?? 1);
  return { columns, actions: [...actionIndex.keys()] };
}

/** Evaluate a target on a decision log: reward model by cross-fitting, then one streaming pass. */
export function evaluateLog(input: LogEvaluationInput, options: LogEvaluationOptions = {}): LogEvaluation {
  const { columns, actions } = columnsOfEvents(input);
  return evaluateColumns(columns, actions, options);
}
