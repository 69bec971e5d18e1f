/**
 * The checks of a canary judgement, each with its statistic, n, interval and threshold in words:
 * the minimum, the hard breakers, the guardrails (one-sided sequential harm tests with an effect-size
 * floor), the primary non-inferiority test on reward, and the sample-ratio check.
 */
import type { RolloutConfig } from '../config/rollout.js';
import {
  harmTest,
  meanDifference,
  momentMean,
  nonInferiorityTest,
  proportionDifference,
  sequentialUpperBound,
  effectiveN,
  type DifferenceEstimate,
  type HarmTestResult,
} from '../stats/index.js';
import { twoSidedZ, wilsonInterval } from '../stats/intervals.js';
import { QuantileSketch } from '../stats/quantile.js';
import { srmTest } from '../stats/srm.js';
import { Outcome, type CheckResult, type SliceAggregates } from './canary-data.js';

const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const fmt = (x: number | null, digits = 4): string => (x === null || !Number.isFinite(x) ? (x === null ? 'n/a' : x > 0 ? '+∞' : '−∞') : Number(x.toPrecision(digits)).toString());
const pct = (x: number): string => `${fmt(100 * x, 3)} %`;

/** The guardrails and the field they read, in a fixed order. */
export const GUARDRAILS = ['success_rate', 'error_rate', 'p95_latency_ms', 'cost_per_request'] as const;
export type GuardrailName = (typeof GUARDRAILS)[number];

/** A check that could not be computed (metrics missing or broken). */
export function errorCheck(name: string, message: string): CheckResult {
  const kind = name.startsWith('hard') ? 'hard' : name.startsWith('guardrail') ? 'guardrail' : name.startsWith('primary') ? 'primary' : 'srm';
  return { name, kind, outcome: Outcome.ERROR, statistic: 'not computed', value: null, n: { canary: 0, control: 0 }, interval: null, threshold: null, alpha: null, message: `${name}: ERROR — ${message}` };
}

/** Run the data checks, turning any unexpected exception into ERROR outcomes. */
export function safeChecks(cfg: RolloutConfig, canary: SliceAggregates, control: SliceAggregates, weight: number): CheckResult[] {
  const out: CheckResult[] = [];
  const run = (name: string, f: () => CheckResult): void => {
    try {
      out.push(f());
    } catch (e) {
      out.push(errorCheck(name, `could not be computed: ${e instanceof Error ? e.message : String(e)}`));
    }
  };
  run('hard.error_rate', () => hardCheck('hard.error_rate', 'candidate policy error rate', canary.policyErrors, canary.decisions, cfg.hard_breakers.max_error_rate, cfg));
  run('hard.timeout_rate', () => hardCheck('hard.timeout_rate', 'candidate policy timeout rate', canary.policyTimeouts, canary.decisions, cfg.hard_breakers.max_timeout_rate, cfg));
  const enabled = GUARDRAILS.filter((g) => cfg.guardrails[g].enabled);
  const alphaEach = cfg.guardrail_alpha / Math.max(1, enabled.length);
  const planN = cfg.sequential_plan_samples > 0 ? cfg.sequential_plan_samples : cfg.canary_min_decisions_per_slice;
  for (const g of enabled) run(`guardrail.${g}`, () => guardrailCheck(g, canary, control, alphaEach, planN, cfg));
  run('primary.reward', () => primaryCheck(canary, control, planN, cfg));
  run('srm', () => srmCheck(canary, control, weight, cfg));
  return out;
}

/** Minimum duration and decisions per slice before a promotion. */
export function minimumCheck(cfg: RolloutConfig, elapsedMs: number, canary: SliceAggregates | null, control: SliceAggregates | null): CheckResult {
  const needMs = cfg.canary_min_duration_s * 1000;
  const perSlice = Math.min(canary?.decisions ?? 0, control?.decisions ?? 0);
  const durationMet = elapsedMs >= needMs;
  const samplesMet = perSlice >= cfg.canary_min_decisions_per_slice;
  const met = cfg.canary_min_rule === 'any' ? durationMet || samplesMet : durationMet && samplesMet;
  const hours = (ms: number): string => `${fmt(ms / 3_600_000, 3)} h`;
  return {
    name: 'minimum',
    kind: 'minimum',
    outcome: met ? Outcome.PASS : Outcome.INSUFFICIENT_DATA,
    statistic: 'canary duration and decisions per slice (smaller slice)',
    value: perSlice,
    n: { canary: canary?.decisions ?? 0, control: control?.decisions ?? 0 },
    interval: null,
    threshold: cfg.canary_min_decisions_per_slice,
    alpha: null,
    message: `minimum: ${met ? 'PASS' : 'INSUFFICIENT_DATA'} — ran ${hours(elapsedMs)} of ${hours(needMs)}, ${perSlice} of ${cfg.canary_min_decisions_per_slice} decisions in the smaller slice (${cfg.canary_min_rule === 'any' ? 'either' : 'both'} needed)`,
  };
}

function hardCheck(name: string, what: string, failures: number, decisions: number, cap: number, cfg: RolloutConfig): CheckResult {
  const w = wilsonInterval(failures, decisions);
  const rate = decisions > 0 ? failures / decisions : Number.NaN;
  const base = { name, kind: 'hard' as const, statistic: what, value: finite(rate), n: { canary: decisions, control: 0 }, interval: { lo: finite(w.lo), hi: finite(w.hi), level: 0.95, kind: 'wilson' as const }, threshold: cap, alpha: null };
  const shown = `${failures}/${decisions} = ${decisions > 0 ? pct(rate) : 'n/a'} [Wilson 95 % ${pct(w.lo)}, ${pct(w.hi)}]`;
  if (decisions < cfg.hard_breakers.min_decisions) {
    return { ...base, outcome: Outcome.INSUFFICIENT_DATA, message: `${name}: INSUFFICIENT_DATA — ${what} ${shown}; needs ${cfg.hard_breakers.min_decisions} canary decisions before it may trip (cap ${pct(cap)})` };
  }
  const tripped = rate > cap;
  return { ...base, outcome: tripped ? Outcome.FAIL : Outcome.PASS, message: `${name}: ${tripped ? 'FAIL' : 'PASS'} — ${what} ${shown} ${tripped ? '>' : '≤'} cap ${pct(cap)}` };
}

/** Standard error of a sketch's q-quantile from the order statistics around it (distribution-free). */
function quantileSe(s: QuantileSketch, q: number): number {
  const n = s.count;
  const z = twoSidedZ(0.95);
  const d = z * Math.sqrt((q * (1 - q)) / n);
  const lo = s.quantile(Math.max(0, q - d));
  const hi = s.quantile(Math.min(1, q + d));
  // The sketch's own rounding (≤ accuracy, relative) is a bias, not noise: the latency floor_rel
  // must stay above twice the accuracy so that it can never trigger a rollback on its own.
  return (hi - lo) / (2 * z);
}

interface MetricView {
  /** Statistic name in words. */
  statistic: string;
  /** Harm orientation, e.g. "control − canary". */
  orientation: string;
  canaryValue: number;
  controlValue: number;
  nCanary: number;
  nControl: number;
  /** Harm estimate (positive = candidate worse). */
  harm: DifferenceEstimate;
  /** Per-slice display, e.g. Wilson intervals. */
  display: string;
  unit: (x: number) => string;
}

function guardrailView(g: GuardrailName, canary: SliceAggregates, control: SliceAggregates, accuracy: number): MetricView | null | 'one-sided' {
  const rateDisplay = (x: number, n: number): string => {
    const w = wilsonInterval(x, n);
    return `${n > 0 ? pct(x / n) : 'n/a'} [${pct(w.lo)}, ${pct(w.hi)}] n=${n}`;
  };
  /** A rate over outcomes, `count` its numerator; harm is control − canary when a lower rate is worse, canary − control otherwise. */
  const rateView = (statistic: string, count: (s: SliceAggregates) => number, lowerIsWorse: boolean): MetricView => {
    const [first, second] = lowerIsWorse ? [control, canary] : [canary, control];
    return {
      statistic,
      orientation: lowerIsWorse ? 'control − canary' : 'canary − control',
      canaryValue: count(canary) / canary.outcomes,
      controlValue: count(control) / control.outcomes,
      nCanary: canary.outcomes,
      nControl: control.outcomes,
      harm: proportionDifference(count(first), first.outcomes, count(second), second.outcomes),
      display: `canary ${rateDisplay(count(canary), canary.outcomes)} vs control ${rateDisplay(count(control), control.outcomes)}`,
      unit: (x) => `${fmt(100 * x, 3)} pt`,
    };
  };
  switch (g) {
    case 'success_rate':
      return rateView('success rate difference', (s) => s.successes, true);
    case 'error_rate':
      return rateView('error/fallback rate difference', (s) => s.errorOutcomes, false);
    case 'p95_latency_ms': {
      const nc = canary.latency?.count ?? 0;
      const nk = control.latency?.count ?? 0;
      if (nc === 0 && nk === 0) return null;
      if (nc === 0 || nk === 0) return 'one-sided';
      const sc = QuantileSketch.fromJSON(canary.latency!);
      const sk = QuantileSketch.fromJSON(control.latency!);
      const pc = sc.quantile(0.95);
      const pk = sk.quantile(0.95);
      const sec = quantileSe(sc, 0.95);
      const sek = quantileSe(sk, 0.95);
      return {
        statistic: 'p95 latency difference (ms)',
        orientation: 'canary − control',
        canaryValue: pc,
        controlValue: pk,
        nCanary: nc,
        nControl: nk,
        harm: { estimate: pc - pk, variance: sec * sec + sek * sek, n: effectiveN(nc, nk) },
        display: `canary p95 ${fmt(pc)} ms (±${fmt(sec, 2)}) n=${nc} vs control ${fmt(pk)} ms (±${fmt(sek, 2)}) n=${nk}; sketch accuracy ${pct(Math.max(accuracy, sc.accuracy))}`,
        unit: (x) => `${fmt(x)} ms`,
      };
    }
    case 'cost_per_request': {
      if (canary.cost.n === 0 && control.cost.n === 0) return null;
      if (canary.cost.n === 0 || control.cost.n === 0) return 'one-sided';
      return {
        statistic: 'mean cost per request difference (USD)',
        orientation: 'canary − control',
        canaryValue: momentMean(canary.cost),
        controlValue: momentMean(control.cost),
        nCanary: canary.cost.n,
        nControl: control.cost.n,
        harm: meanDifference(canary.cost, control.cost),
        display: `canary ${fmt(momentMean(canary.cost))} USD n=${canary.cost.n} vs control ${fmt(momentMean(control.cost))} USD n=${control.cost.n}`,
        unit: (x) => `${fmt(x)} USD`,
      };
    }
  }
}

function guardrailCheck(g: GuardrailName, canary: SliceAggregates, control: SliceAggregates, alpha: number, planN: number, cfg: RolloutConfig): CheckResult {
  const name = `guardrail.${g}`;
  const gc = cfg.guardrails[g];
  const view = guardrailView(g, canary, control, cfg.latency_sketch_accuracy);
  const nBase = { canary: canary.outcomes, control: control.outcomes };
  const base = { name, kind: 'guardrail' as const, alpha, n: nBase };
  if (view === 'one-sided') {
    return { ...errorCheck(name, `${g} is reported for one slice only (canary ${g === 'cost_per_request' ? canary.cost.n : (canary.latency?.count ?? 0)}, control ${g === 'cost_per_request' ? control.cost.n : (control.latency?.count ?? 0)}): the judge is blind to it`), alpha };
  }
  const min = cfg.min_outcomes_per_check;
  if (view === null) {
    const enough = canary.outcomes >= min && control.outcomes >= min;
    return {
      ...base,
      outcome: enough ? Outcome.PASS : Outcome.INSUFFICIENT_DATA,
      statistic: 'not reported',
      value: null,
      interval: null,
      threshold: null,
      message: enough
        ? `${name}: PASS — not reported by the producer in either slice over ${canary.outcomes} + ${control.outcomes} outcomes, so there is nothing to guard (disable rollout.guardrails.${g} to drop this line)`
        : `${name}: INSUFFICIENT_DATA — no observations yet`,
    };
  }
  const n = { canary: view.nCanary, control: view.nControl };
  const floor = Math.max(gc.floor_abs, gc.floor_rel * Math.abs(view.controlValue));
  if (view.nCanary < min || view.nControl < min) {
    return { ...base, n, outcome: Outcome.INSUFFICIENT_DATA, statistic: `${view.statistic} (${view.orientation})`, value: finite(view.harm.estimate), interval: null, threshold: floor, message: `${name}: INSUFFICIENT_DATA — ${view.display}; needs ${min} per slice before testing` };
  }
  const r: HarmTestResult = harmTest(view.harm, floor, { alpha, planN });
  const outcome = r.reject ? Outcome.FAIL : r.estimate > floor ? Outcome.INCONCLUSIVE : Outcome.PASS;
  const words =
    outcome === Outcome.FAIL
      ? `proven: anytime lower bound ${view.unit(r.lowerBound)} > floor ${view.unit(floor)}`
      : outcome === Outcome.INCONCLUSIVE
        ? `estimate ${view.unit(r.estimate)} above floor ${view.unit(floor)}, not proven (lower bound ${view.unit(r.lowerBound)})`
        : `estimate ${view.unit(r.estimate)} ≤ floor ${view.unit(floor)} (lower bound ${view.unit(r.lowerBound)})`;
  return {
    ...base,
    n,
    outcome,
    statistic: `${view.statistic} (${view.orientation}), one-sided mSPRT`,
    value: finite(r.estimate),
    interval: { lo: finite(r.lowerBound), hi: null, level: 1 - alpha, kind: 'anytime' },
    threshold: floor,
    message: `${name}: ${outcome} — ${view.display}; harm (${view.orientation}) ${words}; alpha ${fmt(alpha, 3)}, always-valid p ${fmt(r.pValue, 3)}`,
  };
}

function primaryCheck(canary: SliceAggregates, control: SliceAggregates, planN: number, cfg: RolloutConfig): CheckResult {
  const name = 'primary.reward';
  const margin = cfg.noninferiority_margin;
  const alpha = cfg.primary_alpha;
  const n = { canary: canary.reward.n, control: control.reward.n };
  const base = { name, kind: 'primary' as const, n, alpha, threshold: -margin, statistic: 'mean reward difference (canary − control), non-inferiority' };
  const mc = momentMean(canary.reward);
  const mk = momentMean(control.reward);
  const display = `reward canary ${fmt(mc)} n=${n.canary} vs control ${fmt(mk)} n=${n.control}`;
  if (n.canary < cfg.min_outcomes_per_check || n.control < cfg.min_outcomes_per_check) {
    return { ...base, outcome: Outcome.INSUFFICIENT_DATA, value: finite(mc - mk), interval: null, message: `${name}: INSUFFICIENT_DATA — ${display}; needs ${cfg.min_outcomes_per_check} rewards per slice` };
  }
  const d = meanDifference(canary.reward, control.reward);
  const ni = nonInferiorityTest(d, margin, { alpha, planN });
  const upper = sequentialUpperBound(d, { alpha, planN });
  const inferior = upper < -margin;
  const outcome = ni.pass ? Outcome.PASS : inferior ? Outcome.FAIL : Outcome.INCONCLUSIVE;
  const words = ni.pass
    ? `non-inferior: lower bound ${fmt(ni.lowerBound)} > −margin = ${fmt(-margin)}`
    : inferior
      ? `inferior beyond the margin: upper bound ${fmt(upper)} < −margin = ${fmt(-margin)}`
      : `not yet shown non-inferior: lower bound ${fmt(ni.lowerBound)} ≤ −margin = ${fmt(-margin)}`;
  return {
    ...base,
    outcome,
    value: finite(ni.estimate),
    interval: { lo: finite(ni.lowerBound), hi: finite(upper), level: 1 - alpha, kind: 'anytime' },
    message: `${name}: ${outcome} — ${display}; difference ${fmt(ni.estimate)} [${fmt(ni.lowerBound)}, ${fmt(upper)}] (anytime one-sided ${pct(1 - alpha)} bounds); ${words}`,
  };
}

function srmCheck(canary: SliceAggregates, control: SliceAggregates, weight: number, cfg: RolloutConfig): CheckResult {
  const byUnits = canary.units !== undefined && control.units !== undefined;
  const n = byUnits ? { canary: canary.units!, control: control.units! } : { canary: canary.decisions, control: control.decisions };
  const what = byUnits ? 'sticky keys' : 'decisions';
  const total = n.canary + n.control;
  const base = { name: 'srm', kind: 'srm' as const, n, alpha: cfg.srm_p, threshold: cfg.srm_p, statistic: 'sample-ratio mismatch, chi-square p-value (canary:control expected 1:1)' };
  if (total < cfg.srm_min_decisions) {
    return { ...base, outcome: Outcome.INSUFFICIENT_DATA, value: null, interval: null, message: `srm: INSUFFICIENT_DATA — ${n.canary} canary vs ${n.control} control ${what}; needs ${cfg.srm_min_decisions} in all` };
  }
  // Canary and control have the same number of buckets, whatever the weight: expected 1:1.
  const r = srmTest([n.canary, n.control], [1, 1]);
  const fail = r.pValue < cfg.srm_p;
  const share = wilsonInterval(n.canary, total, 1 - cfg.srm_p);
  return {
    ...base,
    outcome: fail ? Outcome.FAIL : Outcome.PASS,
    value: r.pValue,
    interval: { lo: finite(share.lo), hi: finite(share.hi), level: 1 - cfg.srm_p, kind: 'wilson' },
    message: `srm: ${fail ? 'FAIL' : 'PASS'} — ${n.canary} canary vs ${n.control} control ${what} at weight ${pct(weight)} each (canary share ${pct(n.canary / total)} [${pct(share.lo)}, ${pct(share.hi)}], expected 50 %); χ² ${fmt(r.chi2)}, df 1, p ${fmt(r.pValue, 3)} ${fail ? '<' : '≥'} ${cfg.srm_p}`,
  };
}
