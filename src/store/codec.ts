/**
 * The stored form of a decision: indexed fields beside one JSON body. The SQLite adapter keeps
 * exactly this; encoding is pure, so a producer may serialise decisions itself (on another thread
 * or in another process) and hand the store strings instead of objects.
 */
import type { Context, DecisionEvent, OutcomeSignals } from '../core/events.js';
import { SESSION_DEPTH_KEY } from '../core/telemetry/types.js';

/** A decision serialised by `encodeDecision`. Stores accept it wherever they accept a DecisionEvent. */
export interface EncodedDecision {
  id: string;
  point: string;
  ts: string;
  /** Epoch milliseconds of `ts`. */
  tsMs: number;
  action: string;
  /** JSON of the remaining fields (see `DecisionBody`). */
  body: string;
}

/** A decision as a store takes it: the event, or its encoded form. */
export type DecisionInput = DecisionEvent | EncodedDecision;

/** The JSON body of a stored decision: everything but the indexed fields. */
export interface DecisionBody {
  context: Context;
  actions: string[];
  propensity?: number;
  probs?: Record<string, number>;
  policy?: string;
  baseline?: string;
  reward?: number;
  outcome?: OutcomeSignals;
}

/** True when the input is already encoded. */
export function isEncoded(d: DecisionInput): d is EncodedDecision {
  return typeof (d as { body?: unknown }).body === 'string';
}

/** The JSON body of an event. */
export function encodeBody(e: DecisionEvent): string {
  const b: DecisionBody = { context: e.context, actions: e.actions };
  if (e.propensity !== undefined) b.propensity = e.propensity;
  if (e.probs !== undefined) b.probs = e.probs;
  if (e.policy !== undefined) b.policy = e.policy;
  if (e.baseline !== undefined) b.baseline = e.baseline;
  if (e.reward !== undefined) b.reward = e.reward;
  if (e.outcome !== undefined) b.outcome = e.outcome;
  return JSON.stringify(b);
}

/** Encode an event for storage. */
export function encodeDecision(e: DecisionEvent): EncodedDecision {
  return { id: e.id, point: e.point, ts: e.ts, tsMs: Date.parse(e.ts), action: e.action, body: encodeBody(e) };
}

/**
 * Rebuild the event from its stored fields. `sessionDepth`, when not null, is the depth of the
 * decision's turn in its session, kept apart from the body because it is known only at insertion.
 */
export function decodeDecision(f: { id: string; point: string; ts: string; action: string; body: string }, sessionDepth: number | null = null): DecisionEvent {
  const b = JSON.parse(f.body) as DecisionBody;
  if (sessionDepth !== null) b.context[SESSION_DEPTH_KEY] = sessionDepth;
  const e: DecisionEvent = { v: 1, id: f.id, ts: f.ts, point: f.point, context: b.context, actions: b.actions, action: f.action };
  if (b.propensity !== undefined) e.propensity = b.propensity;
  if (b.probs !== undefined) e.probs = b.probs;
  if (b.policy !== undefined) e.policy = b.policy;
  if (b.baseline !== undefined) e.baseline = b.baseline;
  if (b.reward !== undefined) e.reward = b.reward;
  if (b.outcome !== undefined) e.outcome = b.outcome;
  return e;
}

/** The event of an input (decoding it when encoded). */
export function toEvent(d: DecisionInput): DecisionEvent {
  return isEncoded(d) ? decodeDecision(d) : d;
}
