/**
 * Off-policy evaluation of a trained policy on a validation window, as `umbra ope` evaluates a
 * log: the estimators with the configured reward and with success as the reward, a reward model
 * on the policy's own features, and the offline gates read on the result.
 */
import { evaluateOfflineGates, type OfflineGateReport } from '../../core/gates/index.js';
import { columnsOfEvents, evaluateColumns, type OpeColumns, type OpeReport } from '../../core/ope/index.js';
import type { IntervalMethod } from '../../core/ope/intervals.js';
import type { FeatureMap, SparseRows } from '../../core/features/index.js';
import type { Policy } from '../../core/policies/index.js';
import type { Settings } from '../../core/settings.js';
import type { Episode, WindowSummary } from './trainer.js';

/** What selection recorded about one candidate. */
export interface CandidateReport {
  name: string;
  algorithm: string;
  /** The settings the candidate changes (its config entry without the name). */
  changes: Record<string, unknown>;
  /** Estimate on the validation window (null: not identified, or not evaluated). */
  value: number | null;
  /** The selection interval at the selection confidence. */
  ci: [number, number] | null;
  /** Its lower end: the selection criterion. */
  lower: number | null;
  chosen: boolean;
  /** Why it was skipped, lost or won, in words. */
  note: string;
}

/** The record of one point's selection (evaluation.json, the `--json` summary, the dashboard). */
export interface SelectionReport {
  estimator: string;
  interval: IntervalMethod;
  confidence: number;
  /** Validation episodes the candidates were estimated on. */
  n: number;
  chosen: string;
  /** Episodes the packaged policy was trained on (the whole window when refitted). */
  refit: { n: number } | null;
  candidates: CandidateReport[];
  rule: string;
}

/** Evaluation of one point's validation window. */
export interface PointEvaluation {
  summary: WindowSummary;
  /** The off-policy report of src/core/ope with the configured reward (null when the window is empty). */
  ope: OpeReport | null;
  /** The same with success as the reward (null when no success is known). */
  success: OpeReport | null;
  /** The promotion gates read on the report (null when the window is empty). */
  gates: OfflineGateReport | null;
  /** Model selection, when the policy was chosen among candidates (the numbers above are the chosen candidate's). */
  selection?: SelectionReport;
}

/**
 * Evaluate a policy on a validation window the way `umbra ope` does (src/core/ope `evaluateLog`:
 * cross-fitted reward model on the policy's own features, estimators with the configured reward and
 * with success as the reward) and read the offline gates (`evaluateOfflineGates`). The estimator-free
 * summary is computed here.
 */
/**
 * What evaluations of several policies on one validation window share when the policies share one
 * feature map (the candidates of a selection): the window's feature rows and the cross-fitted
 * reward model's predictions, which depend on the logged data and the features, not on the target.
 */
export class WindowEvaluationCache {
  private rows: SparseRows | undefined;
  private map: FeatureMap | undefined;
  readonly models = new Map<string, Float64Array>();

  /** The rows of `validation` under `fm`; refuses a second feature map (the cache would be wrong for it). */
  rowsFor(fm: FeatureMap, validation: readonly Episode[]): SparseRows {
    if (this.map !== undefined && this.map !== fm) throw new RangeError('one evaluation cache serves one feature map');
    this.map = fm;
    this.rows ??= fm.featurizeRows(
      validation.map((e) => e.context),
      validation.length,
    );
    return this.rows;
  }
}

export function evaluateWindow(policy: Policy, validation: readonly Episode[], settings: Settings, newEpisodes: number, cache?: WindowEvaluationCache): PointEvaluation {
  const cfg = settings.config;
  const { columns, actions } = columnsOfEvents({
    events: validation,
    rewards: Float64Array.from(validation, (e) => e.reward),
    defaulted: validation.map((e) => e.defaulted),
    success: validation.map((e) => e.success),
    targets: (i) => policy.probs(validation[i]!.context, validation[i]!.actions, validation[i]!.baseline),
  });
  const summary = windowSummary(columns);
  if (validation.length === 0) return { summary, ope: null, success: null, gates: null };
  columns.features =
    cache !== undefined
      ? cache.rowsFor(policy.featureMap, validation)
      : policy.featureMap.featurizeRows(
          validation.map((e) => e.context),
          validation.length,
        );
  const evaluation = evaluateColumns(columns, actions, {
    estimators: cfg.ope.estimators,
    clip: cfg.ope.clip,
    switchTau: cfg.ope.switch_tau,
    confidence: cfg.promotion_criteria.confidence,
    bootstrap: cfg.ope.bootstrap,
    seed: cfg.ope.seed,
    minEss: cfg.ope.min_ess_warn,
    maxTailIndex: cfg.ope.max_tail_index,
    supportWarn: cfg.ope.support_warn,
    folds: cfg.ope.model_folds,
    lambda: cfg.ope.model_lambda,
    ...(cache !== undefined ? { modelCache: cache.models } : {}),
  });
  const gates = evaluateOfflineGates(
    { candidate: evaluation.report, ...(evaluation.success !== undefined ? { candidateSuccess: evaluation.success } : {}), newEpisodes },
    cfg.promotion_criteria,
    { interval: cfg.ope.gate_interval },
  );
  return { summary, ope: evaluation.report, success: evaluation.success ?? null, gates };
}

/** Estimator-free facts about a window in columns: the logger's value, agreement, unknown propensities, defaults. */
function windowSummary(c: OpeColumns): WindowSummary {
  let n = 0;
  let r = 0;
  let agree = 0;
  let unknown = 0;
  let defaulted = 0;
  for (let i = 0; i < c.n; i++) {
    if (c.invalid?.[i] === 1) continue;
    n++;
    r += c.reward[i]!;
    agree += c.targetProbs[c.off[i]! + c.action[i]!]!;
    if (Number.isNaN(c.loggingProb[i]!)) unknown++;
    if (c.defaulted?.[i] === 1) defaulted++;
  }
  return { n, loggerValue: n > 0 ? r / n : 0, agreement: n > 0 ? agree / n : 0, unknownPropensityShare: n > 0 ? unknown / n : 0, defaultedRewards: defaulted };
}

/** The short form of a point's evaluation (manifest, artifact metrics, `--json` summary). */
export interface CompactEvaluation {
  n: number;
  loggerValue: number;
  estimates: Record<string, { value: number | null; ci: [number, number] | null }>;
  identified: boolean | null;
  gates: { pass: boolean; verdict: string; summary: string } | null;
  /** Overlap diagnostics of the importance weights on the validation window (null when not evaluated). */
  diagnostics?: { ess: number; supportDeficit: number; maxWeight: number } | null;
  /** Model selection in brief: the chosen candidate and each candidate's estimate and lower bound. */
  selection?: { chosen: string; candidates: { name: string; algorithm: string; value: number | null; lower: number | null }[] };
}

export function compactEvaluation(e: PointEvaluation): CompactEvaluation {
  const estimates: Record<string, { value: number | null; ci: [number, number] | null }> = {};
  for (const [k, v] of Object.entries(e.ope?.estimates ?? {})) if (v !== undefined) estimates[k] = { value: v.value, ci: v.ci };
  return {
    n: e.summary.n,
    loggerValue: e.summary.loggerValue,
    estimates,
    identified: e.ope === null ? null : e.ope.identification.status === 'identified',
    gates: e.gates === null ? null : { pass: e.gates.pass, verdict: e.gates.verdict, summary: e.gates.summary },
    diagnostics: e.ope === null ? null : { ess: e.ope.diagnostics.ess, supportDeficit: e.ope.diagnostics.supportDeficit, maxWeight: e.ope.diagnostics.maxWeight },
    ...(e.selection !== undefined
      ? { selection: { chosen: e.selection.chosen, candidates: e.selection.candidates.map((c) => ({ name: c.name, algorithm: c.algorithm, value: c.value, lower: c.lower })) } }
      : {}),
  };
}
