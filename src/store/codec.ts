/**
 * The stored form of a decision: indexed fields beside one JSON body. The SQLite adapter keeps
 * exactly this; encoding is pure, so a producer may serialise decisions itself (on another thread
 * or in another process) and hand the store strings instead of objects.
 */
import type { Context, DecisionEvent, OutcomeSignals } from '../core/events.js';
import { SESSION_DEPTH_KEY, type StoredTurn, type TurnFact } from '../core/telemetry/types.js';
import { isoEpochMs } from '../core/telemetry/timestamps.js';

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

/** The optional fields of a decision, which the body and the event both carry. */
type OptionalFields = Pick<DecisionEvent, 'propensity' | 'probs' | 'policy' | 'baseline' | 'reward' | 'outcome'>;

/** Copy the optional fields that are set, in the schema's order (the order the body's JSON has them in). */
function copyOptionalFields(from: OptionalFields, to: OptionalFields): void {
  if (from.propensity !== undefined) to.propensity = from.propensity;
  if (from.probs !== undefined) to.probs = from.probs;
  if (from.policy !== undefined) to.policy = from.policy;
  if (from.baseline !== undefined) to.baseline = from.baseline;
  if (from.reward !== undefined) to.reward = from.reward;
  if (from.outcome !== undefined) to.outcome = from.outcome;
}

/** True when the input is already encoded. */
export function isEncoded(d: DecisionInput): d is EncodedDecision {
  return typeof (d as { body?: unknown }).body === 'string';
}

/** The JSON body of an event. */
export function encodeBody(e: DecisionEvent): string {
  const b: DecisionBody = { context: e.context, actions: e.actions };
  copyOptionalFields(e, b);
  return JSON.stringify(b);
}

/** Encode an event for storage. */
export function encodeDecision(e: DecisionEvent): EncodedDecision {
  return { id: e.id, point: e.point, ts: e.ts, tsMs: isoEpochMs(e.ts), action: e.action, body: encodeBody(e) };
}

/**
 * Rebuild the event from its stored fields. `sessionDepth`, when not null, is the depth of the
 * decision's turn in its session, kept apart from the body because it is known only at insertion.
 */
export function decodeDecision(f: { id: string; point: string; ts: string; action: string; body: string }, sessionDepth: number | null = null): DecisionEvent {
  const b = JSON.parse(f.body) as DecisionBody;
  if (sessionDepth !== null) b.context[SESSION_DEPTH_KEY] = sessionDepth;
  const e: DecisionEvent = { v: 1, id: f.id, ts: f.ts, point: f.point, context: b.context, actions: b.actions, action: f.action };
  copyOptionalFields(b, e);
  return e;
}

/** The event of an input (decoding it when encoded). */
export function toEvent(d: DecisionInput): DecisionEvent {
  return isEncoded(d) ? decodeDecision(d) : d;
}

// --- turns beside their own decision ---------------------------------------------------------

/** Turn fields stored beside a decision when they differ from those derived from it. */
export interface TurnExtra {
  route?: string | null;
  intent?: string | null;
  ts?: string;
  outcome?: OutcomeSignals;
}

const OUTCOME_FIELDS = ['success', 'tool_ok', 'latency_ms', 'cost_usd', 'cache_hit', 'guard_flag', 'feedback'] as const;

/** Same outcome signals, field by field. */
export function sameOutcome(a: OutcomeSignals, b: OutcomeSignals): boolean {
  if (a === b) return true;
  for (const k of OUTCOME_FIELDS) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The turn a decision carries: route = the action, intent = `context.intent`, ts and outcome the
 * decision's, each overridden by `extra`.
 */
export function derivedTurn(e: DecisionEvent, extra: TurnExtra | null, session: string | null, depth: number | null): StoredTurn {
  const intent = extra?.intent !== undefined ? extra.intent : typeof e.context.intent === 'string' ? e.context.intent : null;
  const t: StoredTurn = { id: e.id, ts: extra?.ts ?? e.ts, route: extra?.route !== undefined ? extra.route : e.action, outcome: extra?.outcome ?? { ...e.outcome }, sessionDepth: depth };
  if (intent !== null) t.intent = intent;
  if (session !== null) t.session = session;
  return t;
}

/** The JSON of what of `t` cannot be derived from `e` (null when everything can). */
export function turnExtra(t: TurnFact, e: DecisionEvent): string | null {
  const extra: TurnExtra = {};
  let any = false;
  if (t.route !== e.action) {
    extra.route = t.route;
    any = true;
  }
  const ctxIntent = typeof e.context.intent === 'string' ? e.context.intent : undefined;
  if (t.intent !== ctxIntent) {
    extra.intent = t.intent ?? null;
    any = true;
  }
  if (t.ts !== e.ts) {
    extra.ts = t.ts;
    any = true;
  }
  if (!sameOutcome(t.outcome, e.outcome ?? {})) {
    extra.outcome = t.outcome;
    any = true;
  }
  return any ? JSON.stringify(extra) : null;
}

/**
 * A turn encoded against its own decision (the record's decision with the turn's id): its session
 * and what cannot be derived from that decision. Stores accept it in a record wherever they accept
 * a TurnFact, as long as that decision is in the same record; the SQLite adapter then stores it
 * without rebuilding the turn.
 */
export interface EncodedTurn {
  id: string;
  session: string | null;
  /** `turnExtra` of the turn against its own decision. */
  extra: string | null;
}

/** A turn as a store takes it: the fact, or its encoded form. */
export type TurnInput = TurnFact | EncodedTurn;

/** True when the turn is already encoded. */
export function isEncodedTurn(t: TurnInput): t is EncodedTurn {
  return (t as { extra?: unknown }).extra !== undefined;
}

/** Encode a turn against its own decision `own` (same id). */
export function encodeTurn(t: TurnFact, own: DecisionEvent): EncodedTurn {
  return { id: t.id, session: t.session ?? null, extra: turnExtra(t, own) };
}

/** The turn fact of an input, given its own decision (needed only when encoded). */
export function toTurn(t: TurnInput, own: DecisionEvent | undefined): TurnFact {
  if (!isEncodedTurn(t)) return t;
  if (own === undefined || own.id !== t.id) throw new Error(`encoded turn ${t.id} without its own decision in the record`);
  const d = derivedTurn(own, t.extra === null ? null : (JSON.parse(t.extra) as TurnExtra), t.session, null);
  const f: TurnFact = { id: d.id, ts: d.ts, route: d.route, outcome: d.outcome };
  if (d.intent !== undefined) f.intent = d.intent;
  if (d.session !== undefined) f.session = d.session;
  return f;
}
