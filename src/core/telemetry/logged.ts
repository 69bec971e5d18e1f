/**
 * The logging policy's distribution as telemetry records it: a propensity and/or full `probs` of
 * the served action, checked against each other and the eligible actions. What fails a check is
 * dropped with a warning, never guessed: a decision without a valid propensity is one of a
 * deterministic logger.
 */
import { PROB_SUM_TOLERANCE, type DecisionEvent } from '../events.js';
import { WarningCode, type Mapped } from './types.js';
import { describe, isObj } from './values.js';


/** Validate a propensity: (0, 1]; anything else is "not a propensity". */
export function propensityOf(v: unknown): { p?: number; dropped: boolean } {
  if (v === undefined || v === null) return { dropped: false };
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1) return { p: v, dropped: false };
  return { dropped: true };
}

/** The logged action distribution of a decision, after the validity rules. */
export interface Logged {
  propensity?: number;
  probs?: Record<string, number>;
  /** Warnings for values that broke the rules (dropped, the line kept). */
  warnings: Mapped[];
}

/**
 * Validate a logged propensity and action distribution together. The propensity must be in
 * (0, 1]; `probs` must be an object over `actions` only, each value in [0, 1], summing to 1, with a
 * positive probability for the served action equal to the propensity. A propensity breaking its
 * rule is dropped (and then the probs too: the line's distribution is not trusted); probs breaking
 * theirs are dropped alone. Without a propensity, valid probs give it (`probs[action]`).
 */
export function loggedDistribution(label: string, rawP: unknown, rawProbs: unknown, action: string, actions: readonly string[]): Logged {
  const out: Logged = { warnings: [] };
  const pr = propensityOf(rawP);
  if (pr.dropped) out.warnings.push({ kind: 'warning', code: WarningCode.PROPENSITY_DROPPED, detail: `${label} propensity ${describe(rawP)}` });
  if (pr.p !== undefined) out.propensity = pr.p;
  if (rawProbs === undefined || rawProbs === null) return out;
  const why = pr.dropped ? 'its propensity was dropped' : probsProblem(rawProbs, action, actions, pr.p);
  if (why !== undefined) {
    out.warnings.push({ kind: 'warning', code: WarningCode.PROBS_DROPPED, detail: `${label} probs ${describe(rawProbs)}: ${why}` });
    return out;
  }
  const probs = { ...(rawProbs as Record<string, number>) };
  out.probs = probs;
  out.propensity ??= probs[action]!;
  return out;
}

/** Why a logged `probs` value is not a distribution over `actions` agreeing with the propensity; undefined when it is. */
function probsProblem(v: unknown, action: string, actions: readonly string[], propensity: number | undefined): string | undefined {
  if (!isObj(v)) return 'not an object';
  let sum = 0;
  for (const [a, p] of Object.entries(v)) {
    if (!actions.includes(a)) return `names "${a}", not one of the actions`;
    if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p > 1) return `"${a}" is not a probability`;
    sum += p;
  }
  if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) return `sums to ${sum}, not 1`;
  const pa = v[action];
  if (typeof pa !== 'number' || pa <= 0) return 'the served action has no positive probability';
  if (propensity !== undefined && Math.abs(pa - propensity) > PROB_SUM_TOLERANCE) return `gives the served action ${pa}, the propensity is ${propensity}`;
  return undefined;
}

/** Set the validated propensity and probs on an event and collect the warnings. */
export function applyLogged(ev: DecisionEvent, l: Logged, out: Mapped[]): void {
  if (l.propensity !== undefined) ev.propensity = l.propensity;
  if (l.probs !== undefined) ev.probs = l.probs;
  for (const w of l.warnings) out.push(w);
}

/** A finite number, else null (a context value the line did not give). */
