/**
 * Hand-written checks for the common, plainly valid canonical events. Reading a large decision log
 * spends more time in the schema library than in parsing the JSON, so the readers try these first:
 * when one accepts, it gives exactly what `DecisionEventSchema` (or `OutcomeEventSchema`) gives —
 * the same fields in the schema's order, unknown fields dropped, `point` defaulted — and when it is
 * not sure (an unusual timestamp, a `__proto__` key, unknown outcome fields, anything invalid) it
 * answers `undefined` and the schema decides, with its own error message. A property test holds the
 * two together on thousands of generated events, valid and broken.
 */
import { MAX_COST_USD, MAX_LATENCY_MS, PROB_SUM_TOLERANCE, type Context, type DecisionEvent, type OutcomeEvent, type OutcomeSignals, type ScoreInput } from './events.js';
import { isoSecondsEpochMs } from './telemetry/timestamps.js';

const MAX_ID = 256;

function validId(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1 && v.length <= MAX_ID;
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v.length >= 1;
}

/**
 * `YYYY-MM-DDTHH:MM:SS[.f+]Z` with a valid calendar date and time (what Alice and Umbra write):
 * true only when the ISO-8601 schema accepts it; false means "ask the schema".
 */
export function plainUtcTimestamp(s: string): boolean {
  const n = s.length;
  if (n < 20 || s.charCodeAt(n - 1) !== 90 /* Z */) return false;
  if (Number.isNaN(isoSecondsEpochMs(s))) return false;
  if (n === 20) return true;
  if (s.charCodeAt(19) !== 46 /* . */ || n < 22) return false;
  for (let i = 20; i < n - 1; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** A context the schema accepts unchanged: an own-keyed object of strings, numbers, booleans and nulls. */
function plainContext(v: unknown): v is Context {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (k === '__proto__') return false;
    const x = o[k];
    if (x !== null && typeof x !== 'string' && typeof x !== 'boolean' && (typeof x !== 'number' || !Number.isFinite(x))) return false;
  }
  return true;
}

/** The outcome fields in the schema's order (the order a parsed outcome has them in). */
const OUTCOME_ORDER = ['success', 'tool_ok', 'latency_ms', 'cost_usd', 'cache_hit', 'guard_flag', 'feedback'] as const;
const OUTCOME_FIELDS: ReadonlySet<string> = new Set(OUTCOME_ORDER);

/** Outcome signals the schema accepts (known fields only, each of its type), in the schema's field order; or undefined. */
function plainOutcome(v: unknown): OutcomeSignals | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return undefined;
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (!OUTCOME_FIELDS.has(k)) return undefined;
    const x = o[k];
    if (x === undefined) continue;
    switch (k) {
      case 'latency_ms':
        if (typeof x !== 'number' || !(x >= 0 && x <= MAX_LATENCY_MS)) return undefined;
        break;
      case 'cost_usd':
        if (typeof x !== 'number' || !(x >= 0 && x <= MAX_COST_USD)) return undefined;
        break;
      case 'feedback':
        if (x !== -1 && x !== 0 && x !== 1) return undefined;
        break;
      default:
        if (typeof x !== 'boolean') return undefined;
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of OUTCOME_ORDER) if (o[k] !== undefined) out[k] = o[k];
  return out as OutcomeSignals;
}

/** A unit-interval number (finite, 0 ≤ x ≤ 1). */
function unit(x: unknown): x is number {
  return typeof x === 'number' && x >= 0 && x <= 1;
}

/**
 * The parsed decision event when `o` is plainly valid, as `DecisionEventSchema.parse` would give
 * it; undefined when the schema must decide (see the module comment).
 */
export function fastDecisionEvent(o: Record<string, unknown>): DecisionEvent | undefined {
  if (o.v !== 1 || !validId(o.id) || typeof o.ts !== 'string' || !plainUtcTimestamp(o.ts)) return undefined;
  const point = o.point === undefined ? 'route' : o.point;
  if (!nonEmpty(point) || !plainContext(o.context)) return undefined;
  const actions = o.actions;
  if (!Array.isArray(actions) || actions.length === 0) return undefined;
  for (let i = 0; i < actions.length; i++) {
    const a: unknown = actions[i];
    if (!nonEmpty(a)) return undefined;
    for (let j = 0; j < i; j++) if (actions[j] === a) return undefined;
  }
  const acts = actions as string[];
  const action = o.action;
  if (!nonEmpty(action) || !acts.includes(action)) return undefined;
  const e: DecisionEvent = { v: 1, id: o.id, ts: o.ts, point, context: o.context, actions: acts, action };
  if (o.propensity !== undefined) {
    if (typeof o.propensity !== 'number' || !(o.propensity > 0 && o.propensity <= 1)) return undefined;
    e.propensity = o.propensity;
  }
  if (o.probs !== undefined) {
    const p = o.probs;
    if (typeof p !== 'object' || p === null || Array.isArray(p) || Object.getPrototypeOf(p) !== Object.prototype) return undefined;
    const probs = p as Record<string, unknown>;
    let sum = 0;
    for (const k in probs) {
      const x = probs[k];
      if (k === '__proto__' || !unit(x) || !acts.includes(k)) return undefined;
      sum += x;
    }
    if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) return undefined;
    const pa = probs[action] as number | undefined;
    if (pa === undefined || pa <= 0) return undefined;
    if (e.propensity !== undefined && Math.abs(pa - e.propensity) > PROB_SUM_TOLERANCE) return undefined;
    e.probs = probs as Record<string, number>;
  }
  if (o.policy !== undefined) {
    if (!nonEmpty(o.policy)) return undefined;
    e.policy = o.policy;
  }
  if (o.baseline !== undefined) {
    if (!nonEmpty(o.baseline) || !acts.includes(o.baseline)) return undefined;
    e.baseline = o.baseline;
  }
  return withRewardOutcome(o, e) ? e : undefined;
}

/** Copy a plainly valid `reward` and `outcome` of `o` onto `e`; false when either is present but not plainly valid. */
function withRewardOutcome(o: Record<string, unknown>, e: { reward?: number | undefined; outcome?: OutcomeSignals | undefined }): boolean {
  if (o.reward !== undefined) {
    if (!unit(o.reward)) return false;
    e.reward = o.reward;
  }
  if (o.outcome !== undefined) {
    const oc = plainOutcome(o.outcome);
    if (oc === undefined) return false;
    e.outcome = oc;
  }
  return true;
}

/** The parsed outcome event when `o` is plainly valid, as `OutcomeEventSchema.parse` would give it; else undefined. */
export function fastOutcomeEvent(o: Record<string, unknown>): OutcomeEvent | undefined {
  if (o.v !== 1 || o.kind !== 'outcome' || !validId(o.id) || typeof o.ts !== 'string' || !plainUtcTimestamp(o.ts)) return undefined;
  const e: OutcomeEvent = { v: 1, kind: 'outcome', id: o.id, ts: o.ts };
  return withRewardOutcome(o, e) ? e : undefined;
}

/**
 * The parsed score input (`umbra policy score`) when `o` is plainly valid, as `ScoreInputSchema.parse`
 * would give it (unknown fields dropped); undefined when the schema must decide.
 */
export function fastScoreInput(o: unknown): ScoreInput | undefined {
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return undefined;
  const r = o as Record<string, unknown>;
  if (!validId(r.id) || !plainContext(r.context)) return undefined;
  const actions = r.actions;
  if (!Array.isArray(actions) || actions.length === 0) return undefined;
  for (const a of actions as unknown[]) if (!nonEmpty(a)) return undefined;
  const out: ScoreInput = { id: r.id, context: r.context, actions: actions as string[] };
  if (r.baseline !== undefined) {
    if (!nonEmpty(r.baseline)) return undefined;
    out.baseline = r.baseline;
  }
  return out;
}
