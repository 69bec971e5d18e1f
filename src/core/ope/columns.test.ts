/**
 * The columnar evaluation gives the same numbers as the object-based one it replaced. That one is
 * kept here, verbatim but for names, as the oracle (dense features, a sample object per event,
 * made by `toLoggedSample`, which the columnar path does not use).
 */
import { describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../events.js';
import { Rng } from '../rng.js';
import { OpeAccumulator, type OpeReport } from './estimators.js';
import { evaluateLog, toLoggedSample, type LogEvaluation, type LogEvaluationInput, type LogEvaluationOptions, type TargetDistribution } from './log.js';
import { crossFitPredictions } from './reward-model.js';

/** The input the replaced evaluation took. */
type InputAsBefore = Omit<LogEvaluationInput, 'events' | 'targets'> & { events: readonly DecisionEvent[]; targets: readonly TargetDistribution[] };

function evaluateLogAsBefore(input: InputAsBefore, options: LogEvaluationOptions = {}): LogEvaluation {
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
    const feats = rows.map((i) => (input.features as readonly Float64Array[])[i]!);
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


/** A random log: varying action lists, probs or only propensities or neither, defaults, partial success, a few bad targets. */
function randomLog(seed: number, n: number): InputAsBefore & { features: Float64Array[] } {
  const rng = new Rng(seed);
  const lists = [['a', 'b', 'c'], ['b', 'c'], ['a', 'b', 'c', 'd']];
  const events: DecisionEvent[] = [];
  const rewards: number[] = [];
  const defaulted: boolean[] = [];
  const success: (boolean | undefined)[] = [];
  const targets: TargetDistribution[] = [];
  const features: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const actions = lists[rng.int(lists.length)]!;
    const k = actions.length;
    const probs = actions.map(() => 0.2 + rng.next());
    const z = probs.reduce((x, y) => x + y, 0);
    const p = probs.map((x) => x / z);
    const a = rng.int(k);
    const e: DecisionEvent = { v: 1, id: `e${i}`, ts: '2025-01-01T00:00:00.000Z', point: 'route', context: {}, actions, action: actions[a]! };
    const kind = rng.int(4);
    if (kind === 0) e.probs = Object.fromEntries(actions.map((x, j) => [x, p[j]!]));
    if (kind <= 1) e.propensity = p[a]!;
    if (rng.next() < 0.5) e.baseline = actions[rng.int(k)]!;
    events.push(e);
    rewards.push(rng.next() < 0.1 ? 0.5 : rng.next());
    defaulted.push(rng.next() < 0.05);
    success.push(rng.next() < 0.3 ? undefined : rng.next() < 0.6);
    const t = actions.map(() => rng.next());
    const tz = t.reduce((x, y) => x + y, 0);
    const target: Record<string, number> = Object.fromEntries(actions.map((x, j) => [x, t[j]! / tz]));
    if (rng.next() < 0.01) target.ghost = 0.1;
    targets.push(target);
    features.push(Float64Array.from({ length: 9 }, (_, j) => (j === 0 ? 1 : rng.next() < 0.6 ? 0 : rng.normal())));
  }
  return { events, rewards, defaulted, success, targets, features };
}

describe('columnar evaluation', () => {
  it('gives exactly the numbers of the object-based evaluation it replaced', () => {
    for (const seed of [1, 2, 3]) {
      const log = randomLog(seed, 700 + seed * 100);
      const options: LogEvaluationOptions = { bootstrap: 50, seed: seed * 7, folds: 4, lambda: 0.7 };
      const now = evaluateLog(log, options);
      const before = evaluateLogAsBefore(log, options);
      expect(now, `seed ${seed}`).toEqual(before);
      expect(now.report.n).toBeGreaterThan(600);
      expect(now.success?.n).toBeGreaterThan(300);
      const { features: _f, ...noFeatures } = log;
      expect(evaluateLog(noFeatures, options)).toEqual(evaluateLogAsBefore(noFeatures, options));
    }
  });
});
