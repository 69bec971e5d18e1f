/**
 * The offline gates (part of shadow → canary), the seed's `promotion_criteria` made sound. One
 * function, `evaluateOfflineGates`, used by `pipeline --step evaluate`, the shadow controller and the rollout, so the
 * three can never disagree about what "proven better" means.
 *
 * What changed from the seed: the value threshold applies to the candidate's LOWER confidence bound,
 * not its point estimate; the improvement is the lower bound over production's estimated value (the
 * log's on-policy value), not over a hard-coded 0.65; the variance is the estimator's variance; the
 * estimate must be identified and the diagnostics (ESS, support) must hold; and the candidate's
 * success rate, estimated off-policy in the same way, may not fall below production's by more than
 * the margin. Each gate says its value, its threshold, pass or fail, and why.
 */
import type { z } from 'zod';
import type { PromotionCriteriaSchema } from '../config/sections.js';
import type { EstimatorName, OpeEstimate, OpeReport } from '../ope/estimators.js';
import { IntervalMethod, bernsteinInterval, clampInterval, normalInterval } from '../ope/intervals.js';

/** The `promotion_criteria` config section (effective values). */
export type PromotionCriteria = z.output<typeof PromotionCriteriaSchema>;

/** Gate names, in evaluation order. */
export const GateName = {
  MIN_EPISODES: 'min_episodes',
  IDENTIFIED: 'identified',
  MIN_POLICY_VALUE: 'min_policy_value',
  MIN_IMPROVEMENT: 'min_improvement_pct',
  MAX_VARIANCE: 'max_variance',
  MIN_ESS: 'min_ess',
  MAX_SUPPORT_DEFICIT: 'max_support_deficit',
  MAX_SUCCESS_DROP: 'max_success_drop',
} as const;
export type GateName = (typeof GateName)[keyof typeof GateName];

/** One gate's outcome. */
export interface GateResult {
  name: GateName;
  /** The measured value the threshold applies to (null when it could not be measured). */
  value: number | null;
  threshold: number;
  pass: boolean;
  /** Why, in words (numbers included). */
  reason: string;
}

/** The gates' verdict. */
export interface OfflineGateReport {
  /** True when every gate passes. */
  pass: boolean;
  verdict: 'promote' | 'hold';
  estimator: EstimatorName;
  interval: IntervalMethod;
  confidence: number;
  gates: GateResult[];
  /** The verdict in one or two sentences. */
  summary: string;
}

/** What the gates look at. */
export interface GateInput {
  /** Off-policy evaluation of the candidate on production's log, with the configured reward. */
  candidate: OpeReport;
  /** The same evaluation with success (1/0) as the reward; needed by the success gate. */
  candidateSuccess?: OpeReport;
  /**
   * Production's value and success rate. Default: the log's on-policy values (`logging`), which
   * is production's value when production wrote the log.
   */
  production?: { value?: number; successRate?: number };
  /** New episodes (decision events) since the last training. */
  newEpisodes: number;
}

/** How the gates read the reports. */
export interface GateOptions {
  /** Interval whose lower bound the value gates use (the `ope.gate_interval` setting). @default "bernstein" */
  interval?: IntervalMethod;
  /** Fail the success gate when no success evaluation is given (fail closed). @default true */
  requireSuccess?: boolean;
}

/**
 * The lower bound of an estimate at `confidence` with interval `method`. Uses the report's interval
 * when it was computed at that confidence, else recomputes it from the estimate's moments (normal
 * and Bernstein; a bootstrap at another level cannot be recomputed and falls back to normal).
 */
export function lowerBound(e: OpeEstimate, method: IntervalMethod, confidence: number, reportConfidence: number): { lo: number | null; used: IntervalMethod } {
  if (e.value === null) return { lo: null, used: method };
  if (Math.abs(confidence - reportConfidence) < 1e-12) {
    const ci = e.intervals[method];
    if (ci !== undefined) return { lo: ci[0], used: method };
  }
  if (e.sampleVariance === null) return { lo: null, used: method };
  if (method === IntervalMethod.BERNSTEIN && e.range !== null && e.method !== 'snips') {
    return { lo: clampInterval(bernsteinInterval(e.value, e.sampleVariance, e.n, e.range[1] - e.range[0], confidence))[0], used: method };
  }
  return { lo: clampInterval(normalInterval(e.value, e.sampleVariance, e.n, confidence))[0], used: IntervalMethod.NORMAL };
}

const fmt = (x: number | null, digits = 4): string => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

/** Evaluate every promotion gate. Never throws on a bad report: a gate that cannot be measured fails. */
export function evaluateOfflineGates(input: GateInput, criteria: PromotionCriteria, options: GateOptions = {}): OfflineGateReport {
  const method = options.interval ?? IntervalMethod.BERNSTEIN;
  const requireSuccess = options.requireSuccess ?? true;
  const conf = criteria.confidence;
  const name = criteria.estimator;
  const rep = input.candidate;
  const est = rep.estimates[name];
  const gates: GateResult[] = [];

  gates.push({
    name: GateName.MIN_EPISODES,
    value: input.newEpisodes,
    threshold: criteria.min_episodes,
    pass: input.newEpisodes >= criteria.min_episodes,
    reason:
      input.newEpisodes >= criteria.min_episodes
        ? `${input.newEpisodes} new episodes since the last training (need ${criteria.min_episodes})`
        : `only ${input.newEpisodes} new episodes since the last training; ${criteria.min_episodes} are needed`,
  });

  const identified = est !== undefined && est.value !== null;
  gates.push({
    name: GateName.IDENTIFIED,
    value: identified ? 1 : 0,
    threshold: 1,
    pass: identified,
    reason: identified
      ? `${name} is identified by the log`
      : est === undefined
        ? `estimator ${name} was not computed for this report`
        : `${name} is not identified: ${est.reason ?? 'no value'}${rep.identification.fix ? `. ${rep.identification.fix}` : ''}`,
  });

  const { lo, used } = est === undefined ? { lo: null, used: method } : lowerBound(est, method, conf, rep.confidence);
  const boundWords = `${Math.round(conf * 100)} % ${used} lower bound`;
  const caveat = rep.diagnostics.flags.includes('heavy_tail') && used !== IntervalMethod.BERNSTEIN ? ' (weights are heavy-tailed: this bound is optimistic)' : '';
  gates.push({
    name: GateName.MIN_POLICY_VALUE,
    value: lo,
    threshold: criteria.min_policy_value,
    pass: lo !== null && lo >= criteria.min_policy_value,
    reason:
      lo === null
        ? `no ${boundWords}: the estimate is unavailable`
        : `${boundWords} of ${name} is ${fmt(lo)} (estimate ${fmt(est?.value ?? null)})${lo >= criteria.min_policy_value ? ' ≥ ' : ' < '}${criteria.min_policy_value}${caveat}`,
  });

  const prod = input.production?.value ?? rep.logging.value;
  const prodWords = input.production?.value !== undefined ? "production's estimate" : "production's on-policy value in the log";
  let impr: number | null = null;
  let imprPass = false;
  let imprReason: string;
  if (lo === null || prod === null) {
    imprReason = lo === null ? 'no lower bound for the candidate' : "production's value is unknown (empty log)";
  } else if (prod <= 0) {
    impr = lo > 0 ? Infinity : 0;
    imprPass = lo > 0;
    imprReason = `${prodWords} is 0; the candidate's lower bound ${fmt(lo)} ${lo > 0 ? 'is above it' : 'is not above it'}`;
  } else {
    impr = ((lo - prod) / prod) * 100;
    imprPass = impr >= criteria.min_improvement_pct;
    imprReason = `the candidate's lower bound ${fmt(lo)} is ${impr >= 0 ? `${impr.toFixed(2)} % above` : `${(-impr).toFixed(2)} % below`} ${prodWords} ${fmt(prod)}; need ≥ ${criteria.min_improvement_pct} %`;
  }
  gates.push({ name: GateName.MIN_IMPROVEMENT, value: impr, threshold: criteria.min_improvement_pct, pass: imprPass, reason: imprReason });

  const variance = est?.variance ?? null;
  gates.push({
    name: GateName.MAX_VARIANCE,
    value: variance,
    threshold: criteria.max_variance,
    pass: variance !== null && variance <= criteria.max_variance,
    reason:
      variance === null
        ? 'the estimator has no variance (estimate unavailable)'
        : `the variance of ${name} is ${variance.toExponential(3)} (standard error ${fmt(Math.sqrt(variance))}); maximum ${criteria.max_variance}`,
  });

  const d = rep.diagnostics;
  gates.push({
    name: GateName.MIN_ESS,
    value: d.ess,
    threshold: criteria.min_ess,
    pass: d.ess >= criteria.min_ess,
    reason: `effective sample size ${d.ess.toFixed(1)} of ${d.n} events (${(d.essRatio * 100).toFixed(1)} %); need ≥ ${criteria.min_ess}`,
  });
  gates.push({
    name: GateName.MAX_SUPPORT_DEFICIT,
    value: d.supportDeficit,
    threshold: criteria.max_support_deficit,
    pass: d.supportDeficit <= criteria.max_support_deficit,
    reason: `${(d.supportDeficit * 100).toFixed(2)} % of the candidate's mass is on actions without logged support (${d.supportDeficitMethod}); maximum ${(criteria.max_support_deficit * 100).toFixed(2)} %`,
  });

  const sRep = input.candidateSuccess;
  const sEst = sRep?.estimates[name];
  const prodSuccess = input.production?.successRate ?? sRep?.logging.value ?? null;
  if (sRep === undefined || sEst === undefined) {
    gates.push({
      name: GateName.MAX_SUCCESS_DROP,
      value: null,
      threshold: criteria.max_success_drop,
      pass: !requireSuccess,
      reason: requireSuccess
        ? 'cannot be checked: no success-rate evaluation of the candidate (success signals missing from the log)'
        : 'not checked: no success signals in the log (allowed by configuration)',
    });
  } else {
    const sLo = lowerBound(sEst, method, conf, sRep.confidence).lo;
    const drop = sLo === null || prodSuccess === null ? null : prodSuccess - sLo;
    gates.push({
      name: GateName.MAX_SUCCESS_DROP,
      value: drop,
      threshold: criteria.max_success_drop,
      pass: drop !== null && drop <= criteria.max_success_drop,
      reason:
        drop === null
          ? `the candidate's success rate is not identified: ${sEst.reason ?? 'unavailable'}`
          : `the candidate's success-rate lower bound ${fmt(sLo)} is ${drop > 0 ? `${(drop * 100).toFixed(2)} points below` : `${(-drop * 100).toFixed(2)} points above`} production's ${fmt(prodSuccess)}; allowed drop ${(criteria.max_success_drop * 100).toFixed(2)} points`,
    });
  }

  const failed = gates.filter((g) => !g.pass);
  const pass = failed.length === 0;
  const summary = pass
    ? `PROMOTE: all ${gates.length} gates pass (${name}, ${boundWords} ${fmt(lo)} vs production ${fmt(prod)}).`
    : `HOLD: ${failed.length} of ${gates.length} gates fail — ${failed.map((g) => `${g.name}: ${g.reason}`).join('; ')}.`;
  return { pass, verdict: pass ? 'promote' : 'hold', estimator: name, interval: used, confidence: conf, gates, summary };
}
