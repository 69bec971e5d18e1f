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
 * The checks live in canary-checks.ts, the slice aggregates in canary-data.ts; the shadow → canary
 * gate in src/core/gates/shadow.ts, the drift watch in drift.ts. Pure: aggregates, clock and state
 * in; verdict and new state out. Bad input yields ERROR checks, never an exception, so the
 * long-running service that calls this cannot be crashed by its data.
 */
import type { z } from 'zod';
import type { RolloutConfig } from '../config/rollout.js';
import type { GateReport } from '../gates/verdict.js';
import { GUARDRAILS, errorCheck, minimumCheck, safeChecks } from './canary-checks.js';
import { Outcome, SliceAggregatesSchema, type CheckResult } from './canary-data.js';
import type { RolloutCommand } from './machine.js';
import { Stage } from './state.js';

export * from './canary-data.js';

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
const fmt = (x: number | null, digits = 4): string => (x === null || !Number.isFinite(x) ? (x === null ? 'n/a' : x > 0 ? '+∞' : '−∞') : Number(x.toPrecision(digits)).toString());

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
      return { type: 'rollback', actor, trigger: 'auto', target: candidate, from: Stage.CANARY, reason: v.reason, evaluation: v };
    case JudgeAction.PAUSE:
      return { type: 'pause', actor, trigger: 'auto', target: candidate, from: Stage.CANARY, reason: v.reason, evaluation: v };
    case JudgeAction.PROMOTE:
      return { type: 'promote', actor, trigger: 'auto', target: candidate, from: Stage.CANARY, reason: v.reason, gates: { passed: true, summary: v.reason, details: v } };
    default:
      return null;
  }
}
