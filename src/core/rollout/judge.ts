/**
 * The canary judge: from the aggregates of the canary and control slices and the clock, decide
 * whether the rollout continues, holds for data, promotes, pauses for a human or rolls back — and
 * say why in words that state each check's statistic, n, interval and threshold.
 *
 * Checks, in the order they can stop a canary:
 * - blindness: metrics missing (ERROR) for N consecutive judgements spanning a window → rollback;
 * - hard breakers: the candidate's own error / timeout rate above a cap (no statistics) → rollback;
 * - guardrails (success rate, error rate, p95 latency, cost per request): one-sided sequential harm
 *   tests with an effect-size floor and alpha split across them → rollback when harm is proven;
 * - primary (reward): non-inferiority, lower bound of canary − control above −margin, needed to
 *   promote; proven inferiority beyond the margin → rollback;
 * - sample-ratio mismatch between canary and control (p below srm_p) → pause;
 * - minimum duration / samples per slice before promotion, maximum duration → pause for a human.
 * INSUFFICIENT_DATA only ever holds: low traffic never rolls a candidate back.
 *
 * The shadow → canary gate lives in src/core/gates/shadow.ts, the drift watch in drift.ts. Pure: aggregates, clock and state in; verdict and new state out. Bad input yields ERROR checks,
 * never an exception, so the long-running service that calls this cannot be crashed by its data.
 */
import { z } from 'zod';
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
import { QuantileSketch, QuantileSketchStateSchema } from '../stats/quantile.js';
import { srmTest } from '../stats/srm.js';
import type { GateReport } from '../gates/verdict.js';
import type { RolloutCommand } from './machine.js';

/** Outcome of one check. */
export const Outcome = {
  PASS: 'PASS',
  FAIL: 'FAIL',
  INSUFFICIENT_DATA: 'INSUFFICIENT_DATA',
  INCONCLUSIVE: 'INCONCLUSIVE',
  ERROR: 'ERROR',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

/** What the judge asks the rollout to do. */
export const JudgeAction = {
  /** Keep the canary running: nothing wrong, not yet ready. */
  CONTINUE: 'continue',
  /** Keep the canary running: waiting for data (or for metrics to come back). */
  HOLD: 'hold',
  /** Every gate passed (and the mode is auto): canary → production. */
  PROMOTE: 'promote',
  /** Pause for a human: sample-ratio mismatch, or still undecided at the maximum duration. */
  PAUSE: 'pause',
  /** Roll back now. */
  ROLLBACK: 'rollback',
} as const;
export type JudgeAction = (typeof JudgeAction)[keyof typeof JudgeAction];

const MomentSumsSchema = z.object({ n: z.number().int().min(0), sum: z.number(), sumSq: z.number().min(0) });

/** Aggregates of one slice since the canary started. Counts are of decisions assigned to the slice. */
export const SliceAggregatesSchema = z
  .object({
    /** Decisions assigned to the slice. */
    decisions: z.number().int().min(0),
    /**
     * Distinct randomisation units (sticky keys) seen in the slice. When both slices give it, the
     * sample-ratio check counts units, not decisions: keys are what the split assigns, and one key
     * sending many requests must not look like a mismatch.
     */
    units: z.number().int().min(0).optional(),
    /** Decisions where the slice's policy threw (the caller got the fallback). */
    policyErrors: z.number().int().min(0).default(0),
    /** Decisions where the slice's policy missed its deadline. */
    policyTimeouts: z.number().int().min(0).default(0),
    /** Decisions with an outcome so far (outcomes may arrive late). */
    outcomes: z.number().int().min(0),
    /** Outcomes with `success: true`. */
    successes: z.number().int().min(0),
    /** Outcomes that ended in an error or a fallback route. */
    errorOutcomes: z.number().int().min(0).default(0),
    /** Reward sums over outcomes with a reward. */
    reward: MomentSumsSchema,
    /** Cost (USD) sums over outcomes that reported a cost. */
    cost: MomentSumsSchema.default({ n: 0, sum: 0, sumSq: 0 }),
    /** Latency sketch (ms) over outcomes that reported a latency. */
    latency: QuantileSketchStateSchema.nullable().default(null),
  })
  .superRefine((s, ctx) => {
    if (s.successes > s.outcomes) ctx.addIssue({ code: 'custom', path: ['successes'], message: 'more successes than outcomes' });
    if (s.errorOutcomes > s.outcomes) ctx.addIssue({ code: 'custom', path: ['errorOutcomes'], message: 'more error outcomes than outcomes' });
    if (s.policyErrors + s.policyTimeouts > s.decisions) ctx.addIssue({ code: 'custom', path: ['policyErrors'], message: 'more policy failures than decisions' });
  });
export type SliceAggregates = z.output<typeof SliceAggregatesSchema>;
export type SliceAggregatesInput = z.input<typeof SliceAggregatesSchema>;

/** Empty aggregates (a helper for producers and tests). */
export function emptySlice(): SliceAggregates {
  return { decisions: 0, policyErrors: 0, policyTimeouts: 0, outcomes: 0, successes: 0, errorOutcomes: 0, reward: { n: 0, sum: 0, sumSq: 0 }, cost: { n: 0, sum: 0, sumSq: 0 }, latency: null };
}

/** An interval in a verdict (null ends are unbounded). */
export interface CheckInterval {
  lo: number | null;
  hi: number | null;
  /** Confidence level of the bound(s). */
  level: number;
  /** `anytime` for sequential bounds, `wilson`, `fixed` otherwise. */
  kind: 'anytime' | 'wilson' | 'fixed';
}

/** One check of a judgement. */
export interface CheckResult {
  /** Stable name, e.g. `guardrail.success_rate`. */
  name: string;
  kind: 'minimum' | 'hard' | 'guardrail' | 'primary' | 'srm';
  outcome: Outcome;
  /** What was computed, in words. */
  statistic: string;
  /** Its value (null when not computed). */
  value: number | null;
  n: { canary: number; control: number };
  interval: CheckInterval | null;
  /** The threshold the value or bound is compared with. */
  threshold: number | null;
  /** Alpha spent by this check (statistical checks). */
  alpha: number | null;
  /** The readable verdict line. */
  message: string;
}

/** The judge's verdict. */
export interface JudgeVerdict {
  /** ISO time of the judgement. */
  at: string;
  action: JudgeAction;
  /** One sentence: why this action. */
  reason: string;
  /** Every promotion gate passed (whatever the mode). */
  readyToPromote: boolean;
  /** Milliseconds since the canary started. */
  elapsedMs: number;
  blind: { consecutiveErrors: number; since: string | null; blind: boolean };
  checks: CheckResult[];
}

/** What the judge remembers between judgements (plain JSON). */
export interface JudgeState {
  consecutiveErrors: number;
  /** ISO time of the first ERROR judgement of the current streak. */
  firstErrorAt: string | null;
  lastAt: string | null;
}

/** A fresh judge state (use one per canary). */
export function judgeInitial(): JudgeState {
  return { consecutiveErrors: 0, firstErrorAt: null, lastAt: null };
}

/** Input of one judgement. */
export interface JudgeInput {
  /** Clock, epoch ms. */
  now: number;
  /** When the canary started (epoch ms or ISO): the minimum duration counts from here. */
  startedAt: number | string;
  /** When the current canary step began (last resume or ramp); the maximum duration counts from here. @default startedAt */
  stepStartedAt?: number | string;
  /** Canary weight (fraction); the control slice is expected to be as large. */
  canaryWeight: number;
  /** Canary aggregates; validated here, null or invalid means metrics missing (ERROR). */
  canary: unknown;
  /** Control aggregates, likewise. */
  control: unknown;
}

const toMs = (t: number | string): number => (typeof t === 'number' ? t : Date.parse(t));
const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
const fmt = (x: number | null, digits = 4): string => (x === null || !Number.isFinite(x) ? (x === null ? 'n/a' : x > 0 ? '+∞' : '−∞') : Number(x.toPrecision(digits)).toString());
const pct = (x: number): string => `${fmt(100 * x, 3)} %`;

/** The guardrails and the field they read, in a fixed order. */
const GUARDRAILS = ['success_rate', 'error_rate', 'p95_latency_ms', 'cost_per_request'] as const;
type GuardrailName = (typeof GUARDRAILS)[number];

/**
 * Judge a canary. Returns the verdict and the judge state to pass to the next call.
 * `cfg` is the compiled `rollout` config section.
 */
export function judgeCanary(input: JudgeInput, state: JudgeState | null, cfg: RolloutConfig): { verdict: JudgeVerdict; state: JudgeState } {
  const prev = state ?? judgeInitial();
  const now = input.now;
  const at = new Date(now).toISOString();
  const started = toMs(input.startedAt);
  const stepStarted = input.stepStartedAt === undefined ? started : toMs(input.stepStartedAt);
  const elapsedMs = Number.isFinite(started) ? Math.max(0, now - started) : 0;
  const stepMs = Number.isFinite(stepStarted) ? Math.max(0, now - stepStarted) : elapsedMs;

  const canary = SliceAggregatesSchema.safeParse(input.canary);
  const control = SliceAggregatesSchema.safeParse(input.control);
  const checks: CheckResult[] = [];
  checks.push(minimumCheck(cfg, elapsedMs, canary.success ? canary.data : null, control.success ? control.data : null));

  if (!canary.success || !control.success) {
    const which = [!canary.success ? describeInvalid('canary', input.canary, canary.error) : null, !control.success ? describeInvalid('control', input.control, control.error) : null].filter(Boolean).join('; ');
    for (const name of ['hard.error_rate', 'hard.timeout_rate', ...GUARDRAILS.filter((g) => cfg.guardrails[g].enabled).map((g) => `guardrail.${g}`), 'primary.reward', 'srm'] as const) {
      checks.push(errorCheck(name, `metrics missing: ${which}`));
    }
  } else {
    for (const c of safeChecks(cfg, canary.data, control.data, input.canaryWeight)) checks.push(c);
  }

  // Blindness bookkeeping.
  const anyError = checks.some((c) => c.outcome === Outcome.ERROR);
  const next: JudgeState = anyError
    ? { consecutiveErrors: prev.consecutiveErrors + 1, firstErrorAt: prev.firstErrorAt ?? at, lastAt: at }
    : { consecutiveErrors: 0, firstErrorAt: null, lastAt: at };
  const errorSpanMs = next.firstErrorAt === null ? 0 : now - Date.parse(next.firstErrorAt);
  const blind = anyError && next.consecutiveErrors >= cfg.blind_consecutive_errors && errorSpanMs >= cfg.blind_window_s * 1000;

  const { action, reason, ready } = decide(cfg, checks, blind, next, errorSpanMs, stepMs);
  return {
    verdict: { at, action, reason, readyToPromote: ready, elapsedMs, blind: { consecutiveErrors: next.consecutiveErrors, since: next.firstErrorAt, blind }, checks },
    state: next,
  };
}

function describeInvalid(slice: string, raw: unknown, err: z.ZodError): string {
  if (raw === null || raw === undefined) return `no ${slice} aggregates`;
  const i = err.issues[0];
  return `${slice} aggregates invalid at ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'unknown'}`;
}

function errorCheck(name: string, message: string): CheckResult {
  const kind = name.startsWith('hard') ? 'hard' : name.startsWith('guardrail') ? 'guardrail' : name.startsWith('primary') ? 'primary' : 'srm';
  return { name, kind, outcome: Outcome.ERROR, statistic: 'not computed', value: null, n: { canary: 0, control: 0 }, interval: null, threshold: null, alpha: null, message: `${name}: ERROR — ${message}` };
}

/** Run the data checks, turning any unexpected exception into ERROR outcomes. */
function safeChecks(cfg: RolloutConfig, canary: SliceAggregates, control: SliceAggregates, weight: number): CheckResult[] {
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

function minimumCheck(cfg: RolloutConfig, elapsedMs: number, canary: SliceAggregates | null, control: SliceAggregates | null): CheckResult {
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
  switch (g) {
    case 'success_rate':
      return {
        statistic: 'success rate difference',
        orientation: 'control − canary',
        canaryValue: canary.successes / canary.outcomes,
        controlValue: control.successes / control.outcomes,
        nCanary: canary.outcomes,
        nControl: control.outcomes,
        harm: proportionDifference(control.successes, control.outcomes, canary.successes, canary.outcomes),
        display: `canary ${rateDisplay(canary.successes, canary.outcomes)} vs control ${rateDisplay(control.successes, control.outcomes)}`,
        unit: (x) => `${fmt(100 * x, 3)} pt`,
      };
    case 'error_rate':
      return {
        statistic: 'error/fallback rate difference',
        orientation: 'canary − control',
        canaryValue: canary.errorOutcomes / canary.outcomes,
        controlValue: control.errorOutcomes / control.outcomes,
        nCanary: canary.outcomes,
        nControl: control.outcomes,
        harm: proportionDifference(canary.errorOutcomes, canary.outcomes, control.errorOutcomes, control.outcomes),
        display: `canary ${rateDisplay(canary.errorOutcomes, canary.outcomes)} vs control ${rateDisplay(control.errorOutcomes, control.outcomes)}`,
        unit: (x) => `${fmt(100 * x, 3)} pt`,
      };
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

function decide(cfg: RolloutConfig, checks: CheckResult[], blind: boolean, js: JudgeState, errorSpanMs: number, stepMs: number): { action: JudgeAction; reason: string; ready: boolean } {
  const failing = (kind: CheckResult['kind']): CheckResult[] => checks.filter((c) => c.kind === kind && c.outcome === Outcome.FAIL);
  const names = (cs: CheckResult[]): string => cs.map((c) => c.name).join(', ');
  if (blind) {
    return { action: JudgeAction.ROLLBACK, ready: false, reason: `blind: metrics missing in ${js.consecutiveErrors} consecutive judgements over ${fmt(errorSpanMs / 60_000, 3)} min (limit ${cfg.blind_consecutive_errors} over ${fmt(cfg.blind_window_s / 60, 3)} min)` };
  }
  const why = { hard: 'hard breaker tripped', guardrail: 'harm proven', primary: 'inferior beyond the margin' } as const;
  const fails = (['hard', 'guardrail', 'primary'] as const).flatMap((kind) => failing(kind).map((c) => `${c.name} (${why[kind]})`));
  if (fails.length > 0) return { action: JudgeAction.ROLLBACK, ready: false, reason: `FAIL: ${fails.join(', ')}` };
  const srm = failing('srm');
  if (srm.length > 0) return { action: JudgeAction.PAUSE, ready: false, reason: `sample-ratio mismatch: ${srm[0]!.message.replace(/^srm: FAIL — /, '')}; pausing for a human` };
  const errors = checks.filter((c) => c.outcome === Outcome.ERROR);
  const ready = checks.every((c) => c.outcome === Outcome.PASS);
  if (ready) {
    return cfg.mode === 'auto'
      ? { action: JudgeAction.PROMOTE, ready, reason: 'every gate passed: minimum met, no hard breaker, no guardrail harm, reward non-inferior, sample ratio as expected' }
      : { action: JudgeAction.HOLD, ready, reason: 'every gate passed; mode is manual, waiting for `umbra rollout promote`' };
  }
  if (stepMs >= cfg.canary_max_duration_s * 1000) {
    const open = checks.filter((c) => c.outcome !== Outcome.PASS);
    return { action: JudgeAction.PAUSE, ready, reason: `maximum canary duration (${fmt(cfg.canary_max_duration_s / 3600, 3)} h) reached undecided (${open.map((c) => `${c.name} ${c.outcome}`).join(', ')}); pausing for a human` };
  }
  if (errors.length > 0) return { action: JudgeAction.HOLD, ready, reason: `metrics missing (${names(errors)}); ${js.consecutiveErrors} consecutive, blind after ${cfg.blind_consecutive_errors} over ${fmt(cfg.blind_window_s / 60, 3)} min` };
  const waiting = checks.filter((c) => c.outcome === Outcome.INSUFFICIENT_DATA);
  if (waiting.length > 0) return { action: JudgeAction.HOLD, ready, reason: `waiting for data: ${names(waiting)}` };
  return { action: JudgeAction.CONTINUE, ready, reason: `no harm so far; undecided: ${names(checks.filter((c) => c.outcome !== Outcome.PASS))}` };
}

/** The verdict as one readable block: the action, then one line per check. */
export function formatVerdict(v: JudgeVerdict): string {
  return [`${v.at} ${v.action.toUpperCase()}: ${v.reason}`, ...v.checks.map((c) => `  ${c.message}`)].join('\n');
}

/** A gate report from a verdict (for `resume` and `ramp`): passes when no check FAILs or ERRORs. */
export function gateFromVerdict(v: JudgeVerdict): GateReport {
  const bad = v.checks.filter((c) => c.outcome === Outcome.FAIL || c.outcome === Outcome.ERROR);
  return { passed: bad.length === 0, summary: bad.length === 0 ? 'no check fails or errs' : bad.map((c) => c.message).join('; '), details: v };
}

/**
 * The machine command a verdict asks for (automatic trigger), or null when the canary just keeps
 * running. Feed it to `transition`; the verdict rides along as the audit record's evaluation.
 */
export function commandFromVerdict(v: JudgeVerdict, candidate: string, actor = 'judge'): RolloutCommand | null {
  switch (v.action) {
    case JudgeAction.ROLLBACK:
      return { type: 'rollback', actor, trigger: 'auto', target: candidate, reason: v.reason, evaluation: v };
    case JudgeAction.PAUSE:
      return { type: 'pause', actor, trigger: 'auto', target: candidate, reason: v.reason, evaluation: v };
    case JudgeAction.PROMOTE:
      return { type: 'promote', actor, trigger: 'auto', target: candidate, reason: v.reason, gates: { passed: true, summary: v.reason, details: v } };
    default:
      return null;
  }
}
