/**
 * The merge rules every store adapter applies, kept pure and in one place so that SQLite, memory
 * and any later adapter agree exactly:
 * - a decision (or turn fact) seen again under the same id is a duplicate: the first one wins and
 *   the later one only fills fields the first lacked (Alice writes two lines per `/api/chat` turn);
 * - outcome updates merge field by field, the later one winning;
 * - the reward of a decision: explicit reward, else the reward function of the merged outcome,
 *   else the default reward after the configured wait, else pending.
 */
import type { Context, DecisionEvent, OutcomeSignals } from '../events.js';
import type { RewardFunction } from '../reward.js';
import type { OutcomeUpdate, TurnFact } from './types.js';

const OUTCOME_KEYS = ['success', 'tool_ok', 'latency_ms', 'cost_usd', 'cache_hit', 'guard_flag', 'feedback'] as const;

function missing(v: unknown): boolean {
  return v === undefined || v === null;
}

/** Outcome fields of `a` completed by those of `b` that `a` lacks; undefined when `b` adds nothing. */
export function fillOutcome(a: OutcomeSignals | undefined, b: OutcomeSignals | undefined): OutcomeSignals | undefined {
  if (b === undefined) return undefined;
  let out: Record<string, unknown> | undefined;
  for (const k of OUTCOME_KEYS) {
    if (b[k] !== undefined && (a === undefined || a[k] === undefined)) {
      out ??= { ...a };
      out[k] = b[k];
    }
  }
  return out as OutcomeSignals | undefined;
}

function fillContext(a: Context, b: Context): Context | undefined {
  let out: Context | undefined;
  for (const k of Object.keys(b)) {
    const v = b[k];
    if (!missing(v) && missing(a[k])) {
      out ??= { ...a };
      out[k] = v as Exclude<typeof v, undefined>;
    }
  }
  return out;
}

/**
 * A duplicate decision: `existing` (stored first) completed by what `incoming` has and it lacks.
 * The action, actions, point and timestamp never change. Returns undefined when nothing changes.
 */
export function fillDecision(existing: DecisionEvent, incoming: DecisionEvent): DecisionEvent | undefined {
  let out: DecisionEvent | undefined;
  const ctx = fillContext(existing.context, incoming.context);
  if (ctx !== undefined) out = { ...existing, context: ctx };
  const oc = fillOutcome(existing.outcome, incoming.outcome);
  if (oc !== undefined) (out ??= { ...existing }).outcome = oc;
  if (existing.propensity === undefined && incoming.propensity !== undefined && incoming.action === existing.action) (out ??= { ...existing }).propensity = incoming.propensity;
  if (existing.probs === undefined && incoming.probs !== undefined && sameActions(existing.actions, incoming.actions)) (out ??= { ...existing }).probs = incoming.probs;
  if (existing.policy === undefined && incoming.policy !== undefined) (out ??= { ...existing }).policy = incoming.policy;
  if (existing.baseline === undefined && incoming.baseline !== undefined && existing.actions.includes(incoming.baseline)) (out ??= { ...existing }).baseline = incoming.baseline;
  if (existing.reward === undefined && incoming.reward !== undefined) (out ??= { ...existing }).reward = incoming.reward;
  return out;
}

function sameActions(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A duplicate turn fact completed the same way (first wins, later fills). */
export function fillTurn(existing: TurnFact, incoming: TurnFact): TurnFact | undefined {
  let out: TurnFact | undefined;
  const oc = fillOutcome(existing.outcome, incoming.outcome);
  if (oc !== undefined) out = { ...existing, outcome: oc };
  if (existing.intent === undefined && incoming.intent !== undefined) (out ??= { ...existing }).intent = incoming.intent;
  if (existing.route === null && incoming.route !== null) (out ??= { ...existing }).route = incoming.route;
  return out;
}

/** The merged outcome of one decision id, as stored. */
export interface OutcomeState {
  id: string;
  /** Timestamp of the latest update that carried one. */
  ts?: string;
  /** Latest explicit reward. */
  reward?: number;
  /** Signals merged field by field, later updates winning. */
  outcome: OutcomeSignals;
  /** Number of updates merged. */
  updates: number;
}

/** Merge one update into the state (later wins, field by field). */
export function mergeOutcome(prev: OutcomeState | undefined, u: OutcomeUpdate): OutcomeState {
  const next: OutcomeState = { id: u.id, outcome: { ...prev?.outcome }, updates: (prev?.updates ?? 0) + 1 };
  const ts = u.ts ?? prev?.ts;
  if (ts !== undefined) next.ts = ts;
  const reward = u.reward ?? prev?.reward;
  if (reward !== undefined) next.reward = reward;
  if (u.outcome !== undefined) {
    const o = next.outcome as Record<string, unknown>;
    for (const k of OUTCOME_KEYS) if (u.outcome[k] !== undefined) o[k] = u.outcome[k];
  }
  return next;
}

/**
 * The pending count after one more unmatched update: its magnitude counts the updates waiting,
 * and it is negative while all of them are companions (waiting, but not reported as pending).
 */
export function nextPending(prev: number, companion: boolean): number {
  const n = Math.abs(prev) + 1;
  return companion && prev <= 0 ? -n : n;
}

/** How a decision's reward was obtained. */
export const RewardSource = {
  /** A `reward` given by the producer or an outcome event. */
  EXPLICIT: 'explicit',
  /** The reward function applied to the merged outcome signals. */
  COMPUTED: 'computed',
  /** No outcome arrived within the configured wait: the configured default reward. */
  DEFAULT: 'default',
} as const;
export type RewardSource = (typeof RewardSource)[keyof typeof RewardSource];

/** A decision joined with its outcome and reward. */
export interface ResolvedDecision {
  /** The decision with `outcome` merged and `reward` set to the explicit reward when there is one. */
  event: DecisionEvent;
  reward: number;
  defaulted: boolean;
  source: RewardSource;
}

/**
 * Join a stored decision with its merged outcome state and resolve its reward. Outcome updates win
 * over the decision's own outcome field by field, and an update's reward over the event's.
 * Undefined means pending: no reward, no signal, and the default wait has not passed at `nowMs`.
 */
export function resolveDecision(ev: DecisionEvent, state: OutcomeState | undefined, reward: RewardFunction, nowMs: number): ResolvedDecision | undefined {
  let event = ev;
  if (state !== undefined) {
    const merged: OutcomeSignals = { ...ev.outcome };
    const m = merged as Record<string, unknown>;
    for (const k of OUTCOME_KEYS) if (state.outcome[k] !== undefined) m[k] = state.outcome[k];
    event = { ...ev, outcome: merged };
    if (state.reward !== undefined) event.reward = state.reward;
  }
  if (event.reward !== undefined) return { event, reward: event.reward, defaulted: false, source: RewardSource.EXPLICIT };
  if (event.outcome !== undefined && hasSignal(event.outcome)) return { event, reward: reward.compute(event.outcome), defaulted: false, source: RewardSource.COMPUTED };
  const ageS = (nowMs - Date.parse(event.ts)) / 1000;
  if (ageS >= reward.defaultAfterS) return { event, reward: reward.defaultReward, defaulted: true, source: RewardSource.DEFAULT };
  return undefined;
}

function hasSignal(o: OutcomeSignals): boolean {
  for (const k of OUTCOME_KEYS) if (o[k] !== undefined) return true;
  return false;
}
