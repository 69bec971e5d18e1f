/**
 * Model selection by off-policy evaluation. Every candidate (the point's policy settings with a
 * candidate's changes) is trained on the training window and estimated on the time-held-out
 * validation window with the configured estimator (DR by default) and its interval. The candidate
 * with the highest lower confidence bound wins, so a candidate that looks better only because its
 * estimate is noisy does not; the constant best action is always in the set, so nothing that cannot
 * beat its lower bound is chosen. Ties (within 10⁻⁴) go to the earlier candidate. The winner is then retrained on
 * the whole window (training + validation) for packaging; its reported evaluation stays the one of
 * its training-window model on the validation window, the only honest number.
 */
import type { Candidate } from '../../core/config/training.js';
import { mergePolicySettings, policySettingsFor, type PolicySettings } from '../../core/config/policies.js';
import { lowerBound } from '../../core/gates/index.js';
import type { Settings } from '../../core/settings.js';
import { type CandidateReport, evaluateWindow, WindowEvaluationCache, type PointEvaluation, type SelectionReport } from './evaluate.js';

export type { CandidateReport, SelectionReport };
import { type Episode, type PointDataset, PreparedWindow, type TrainedPoint, trainPoint } from './trainer.js';

/** A point after selection. */
export interface SelectedPoint {
  /** The packaged policy: the winner, retrained on the whole window when `training.refit`. */
  final: TrainedPoint;
  /** The winner trained on the training window only, and its evaluation on the validation window. */
  holdout: { trained: TrainedPoint; evaluation: PointEvaluation };
  selection: SelectionReport;
}

/** Progress of a selection (the CLI draws it). */
export type SelectionProgress = (done: number, total: number, name: string) => void;

/** The candidates of a point, constant best included, each with its effective settings. */
export function candidatesOf(point: string, settings: Settings): { candidate: Candidate; policy: PolicySettings }[] {
  const cfg = settings.config;
  const base = policySettingsFor(cfg.policies, point);
  const list = cfg.training.candidates.map((candidate) => ({ candidate, policy: mergePolicySettings(base, candidate) }));
  if (!list.some((c) => c.policy.algorithm === 'constant' && c.policy.constant_choice === 'best')) {
    const candidate: Candidate = { name: 'constant-best', algorithm: 'constant', constant_choice: 'best' };
    list.push({ candidate, policy: mergePolicySettings(base, candidate) });
  }
  return list;
}

function changesOf(c: Candidate): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c)) if (k !== 'name' && v !== undefined) out[k] = v;
  return out;
}

/**
 * Lower bounds closer than this (on the [0, 1] reward scale) are a tie, won by the earlier
 * candidate: no validation window resolves a difference that small, and policies that agree on
 * every validation decision differ by rounding alone.
 */
const TIE = 1e-4;

const fmt = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));

/**
 * Train every candidate on `ds.train`, estimate it on `ds.validation`, choose by the highest lower
 * bound, retrain the winner on the whole window (see the module comment).
 */
export function selectAndTrain(point: string, ds: PointDataset, settings: Settings, newEpisodes: number, progress?: SelectionProgress): SelectedPoint {
  const cfg = settings.config;
  const estimator = cfg.promotion_criteria.estimator;
  const interval = cfg.training.selection_interval;
  const confidence = cfg.promotion_criteria.confidence;
  const candidates = candidatesOf(point, settings);
  const hasBaseline = ds.validation.some((e) => e.baseline !== undefined);
  // One feature map and one set of feature rows for every candidate's training, one reward model
  // for every candidate's evaluation: the same window gives them all the same ones.
  const prepared = new PreparedWindow(ds.train, settings);
  const evalCache = new WindowEvaluationCache();
  const results: { report: CandidateReport; trained?: TrainedPoint; evaluation?: PointEvaluation; policy: PolicySettings }[] = [];
  candidates.forEach(({ candidate, policy }, i) => {
    progress?.(i, candidates.length, candidate.name);
    const report: CandidateReport = { name: candidate.name, algorithm: policy.algorithm, changes: changesOf(candidate), value: null, ci: null, lower: null, chosen: false, note: '' };
    if (policy.algorithm === 'constant' && policy.constant_choice === 'baseline' && !hasBaseline) {
      report.note = 'skipped: the validation window holds no production (baseline) choices';
      results.push({ report, policy });
      return;
    }
    const trained = trainPoint(point, ds.train, settings, { candidate: candidate.name }, policy, prepared);
    const evaluation = evaluateWindow(trained.policy, ds.validation, settings, newEpisodes, evalCache);
    const est = evaluation.ope?.estimates[estimator];
    if (est !== undefined && est.value !== null) {
      report.value = est.value;
      const lo = lowerBound(est, interval, confidence, evaluation.ope!.confidence);
      report.lower = lo.lo;
      const ci = est.intervals[lo.used];
      report.ci = ci !== undefined && Math.abs(confidence - evaluation.ope!.confidence) < 1e-12 ? [ci[0], ci[1]] : null;
    } else {
      report.note = est?.reason !== undefined ? `not identified: ${est.reason}` : 'not evaluated (empty validation window)';
    }
    results.push({ report, trained, evaluation, policy });
  });
  progress?.(candidates.length, candidates.length, '');

  // The highest lower bound; ties (equal up to rounding) and the unidentified go to the earliest candidate.
  let best = -1;
  for (let i = 0; i < results.length; i++) {
    const lo = results[i]!.report.lower;
    if (lo === null) continue;
    if (best < 0 || lo > results[best]!.report.lower! + TIE) best = i;
  }
  const fallback = best < 0;
  if (fallback) best = results.findIndex((r) => r.trained !== undefined);
  const winner = results[best]!;
  const top = winner.report.lower;
  for (const r of results) {
    if (r === winner) {
      r.report.chosen = true;
      r.report.note = fallback ? 'chosen: no candidate has an identified lower bound, so the first one is kept' : `chosen: highest lower bound (${fmt(top)})`;
    } else if (r.report.note === '') {
      r.report.note = `lower bound ${fmt(r.report.lower)} ≤ ${fmt(top)} of ${winner.report.name}`;
    }
  }
  const whole: Episode[] = cfg.training.refit ? [...ds.train, ...ds.validation] : ds.train;
  const final = cfg.training.refit && ds.validation.length > 0 ? trainPoint(point, whole, settings, { candidate: winner.report.name, refit: true }, winner.policy) : winner.trained!;
  return {
    final,
    holdout: { trained: winner.trained!, evaluation: winner.evaluation! },
    selection: {
      estimator,
      interval,
      confidence,
      n: ds.validation.length,
      chosen: winner.report.name,
      refit: final === winner.trained ? null : { n: whole.length },
      candidates: results.map((r) => r.report),
      rule: `highest lower ${Math.round(confidence * 100)} % ${interval} bound of ${estimator} on the validation window; the constant best action is always a candidate`,
    },
  };
}
