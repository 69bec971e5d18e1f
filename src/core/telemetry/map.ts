/**
 * Telemetry mapping: one parsed record of any known shape (Alice turn event, feedback event, flat
 * RL record, canonical decision or outcome event) becomes canonical decision events, outcome
 * updates, KPI turn facts, or a quarantine verdict. Pure and total: any input gives an answer, never
 * an exception. The derivation rules are the contract documented in docs/telemetry.md; the
 * simulator's Alice output must round-trip through them.
 */
import { contentHash } from '../hash.js';
import { deriveTextFields, expandText } from '../text.js';
import { DecisionEventSchema, OutcomeEventSchema, PROB_SUM_TOLERANCE } from '../events.js';
import type { Context, DecisionEvent, OutcomeSignals } from '../events.js';
import { TelemetrySchema, type TelemetryConfig } from '../config/telemetry.js';
import { QuarantineReason, WarningCode, type Mapped, type OutcomeUpdate, type TurnFact } from './types.js';

/** Longest accepted turn or record id: leaves room for the `#tool` / `#cache` suffixes within 256. */
export const MAX_TURN_ID = 250;

/** The mapping options, compiled once from the `telemetry` config section. */
export interface MapOptions {
  readonly storeText: boolean;
  readonly textKeys: readonly string[];
  readonly routeActions: readonly string[];
  readonly pricePer1k: Readonly<Record<string, number>>;
  readonly toolsByIntent: Readonly<Record<string, readonly string[]>>;
  readonly inferIntentFromTool: boolean;
  readonly defaultPolicy: string;
  /** @internal lookups derived from the fields above */
  readonly routeSet: ReadonlySet<string>;
  /** @internal first intent listing each tool */
  readonly intentOfTool: ReadonlyMap<string, string>;
}

/** Compile mapping options from a (partial) `telemetry` config section; defaults applied. */
export function compileMapOptions(cfg: Partial<TelemetryConfig> | TelemetryConfig = {}): MapOptions {
  const c = TelemetrySchema.parse(cfg);
  const intentOfTool = new Map<string, string>();
  for (const [intent, tools] of Object.entries(c.tools_by_intent)) {
    for (const t of tools) if (!intentOfTool.has(t)) intentOfTool.set(t, intent);
  }
  return {
    storeText: c.store_text,
    textKeys: c.text_keys,
    routeActions: c.route_actions,
    pricePer1k: c.price_per_1k_tokens,
    toolsByIntent: c.tools_by_intent,
    inferIntentFromTool: c.infer_intent_from_tool,
    defaultPolicy: c.default_policy,
    routeSet: new Set(c.route_actions),
    intentOfTool,
  };
}

/** The shapes `mapRecord` recognises. */
export const RecordShape = {
  FEEDBACK: 'feedback',
  OUTCOME: 'outcome',
  DECISION: 'decision',
  TURN: 'turn',
  FLAT: 'flat',
} as const;
export type RecordShape = (typeof RecordShape)[keyof typeof RecordShape];

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Which shape an object has, checked in this order: `kind: "feedback"`, `kind: "outcome"`, an
 * `actions` array (canonical decision), a `trace_id` with `ts` or Alice's turn fields and no
 * `timestamp` (turn event), any of `timestamp`/`intent`/`route`/`tool` (flat RL record).
 */
export function detectShape(o: Obj): RecordShape | undefined {
  const kind = o.kind;
  if (kind === 'feedback') return RecordShape.FEEDBACK;
  if (kind === 'outcome') return RecordShape.OUTCOME;
  if (Array.isArray(o.actions)) return RecordShape.DECISION;
  if (o.trace_id !== undefined && o.timestamp === undefined && (o.ts !== undefined || o.e2e_full_ms !== undefined || o.e2e_first_ms !== undefined || o.rag !== undefined || o.tool_calls !== undefined)) {
    return RecordShape.TURN;
  }
  if (o.timestamp !== undefined || o.intent !== undefined || o.route !== undefined || o.tool !== undefined) return RecordShape.FLAT;
  return undefined;
}

/**
 * Map one parsed telemetry record. Returns the decisions, outcome updates, turn facts and
 * warnings it gives, or a single quarantine verdict. Never throws.
 */
export function mapRecord(value: unknown, opts: MapOptions): Mapped[] {
  if (!isObj(value)) return [quarantine(QuarantineReason.NOT_OBJECT, `a JSON ${value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value}, not an object`)];
  try {
    switch (detectShape(value)) {
      case RecordShape.TURN:
        return mapTurn(value, opts);
      case RecordShape.FEEDBACK:
        return mapFeedback(value);
      case RecordShape.FLAT:
        return mapFlat(value, opts);
      case RecordShape.DECISION:
        return mapCanonicalDecision(value, opts);
      case RecordShape.OUTCOME:
        return mapCanonicalOutcome(value);
      default:
        return [quarantine(QuarantineReason.UNKNOWN_SHAPE, `no known shape has the keys ${Object.keys(value).slice(0, 8).join(', ') || '(none)'}`)];
    }
  } catch (e) {
    // Defensive: a mapping bug must quarantine one line, not stop an ingestion.
    return [quarantine(QuarantineReason.SCHEMA_INVALID, `mapping failed: ${e instanceof Error ? e.message : String(e)}`)];
  }
}

function quarantine(reason: QuarantineReason, detail: string): Mapped {
  return { kind: 'quarantine', reason, detail };
}

// ---------------------------------------------------------------------------------------------
// Field readers: 0 and false are values; only undefined and null are "missing".

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function nonNegNum(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
}

/** A boolean from true/false, 1/0 or "true"/"false"/"1"/"0"; anything else is unknown. */
function bool01(v: unknown): boolean | undefined {
  if (v === true || v === 1 || v === '1' || v === 'true') return true;
  if (v === false || v === 0 || v === '0' || v === 'false') return false;
  return undefined;
}

/** The snake_case field, else its camelCase alias. */
function pick(o: Obj, snake: string, camel: string): unknown {
  const v = o[snake];
  return v === undefined || v === null ? o[camel] : v;
}

/** An id: a non-empty string (or finite number) of at most MAX_TURN_ID characters. */
function idOf(v: unknown): string | undefined {
  const s = typeof v === 'number' && Number.isFinite(v) ? String(v) : typeof v === 'string' ? v : undefined;
  return s !== undefined && s.length > 0 && s.length <= MAX_TURN_ID ? s : undefined;
}

const ISO_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const MIN_MS = Date.UTC(1990, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31);

/** A parsed timestamp: normalised ISO-8601 UTC with milliseconds, and epoch milliseconds. */
export interface ParsedTs {
  iso: string;
  ms: number;
}

/**
 * Read a timestamp: ISO-8601 (`T` or space; an offset or `Z`; without one it is UTC), epoch
 * milliseconds as a number or digit string (values below 1e11 are epoch seconds). Out of
 * 1990..9999 or unreadable gives undefined.
 */
export function parseTimestamp(v: unknown): ParsedTs | undefined {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    ms = v < 1e11 ? v * 1000 : v;
  } else if (typeof v === 'string') {
    const fast = parseIsoUtcFast(v);
    if (fast !== undefined) return fast;
    if (/^\d{9,16}(\.\d+)?$/.test(v)) return parseTimestamp(Number(v));
    const m = ISO_RE.exec(v);
    if (m === null) return undefined;
    const zone = m[3] === undefined ? 'Z' : m[3] === 'z' ? 'Z' : m[3];
    ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) return undefined;
  ms = Math.floor(ms);
  return { iso: new Date(ms).toISOString(), ms };
}

/** Epoch milliseconds of an ISO-8601 string, as `Date.parse` gives them (by arithmetic in the common case). */
export function isoEpochMs(v: string): number {
  return parseIsoUtcFast(v)?.ms ?? Date.parse(v);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits of `s` at `i` as a number, or -1. */
function dd(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * The common case of `parseTimestamp`, by arithmetic: `YYYY-MM-DDTHH:MM:SS.fff…Z` (at least
 * milliseconds, in UTC, as Alice writes it) in 1990..9999. Anything else, including any invalid
 * calendar value, is left to the general path (undefined). Same result as the general path (a
 * property test pins this); the regex, `Date.parse` and `toISOString` cost more than the mapping.
 */
function parseIsoUtcFast(v: string): ParsedTs | undefined {
  const n = v.length;
  if (n < 24 || v.charCodeAt(n - 1) !== 90 /* Z */ || v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58 || v.charCodeAt(19) !== 46) return undefined;
  const y1 = dd(v, 0);
  const y2 = dd(v, 2);
  const mo = dd(v, 5);
  const d = dd(v, 8);
  const h = dd(v, 11);
  const mi = dd(v, 14);
  const se = dd(v, 17);
  const f1 = dd(v, 20);
  const f3 = v.charCodeAt(22) - 48;
  if (y1 < 0 || y2 < 0 || f1 < 0 || f3 < 0 || f3 > 9) return undefined;
  const y = y1 * 100 + y2;
  const ms = f1 * 10 + f3;
  if (y < 1990 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return undefined;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS_IN_MONTH[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return undefined;
  for (let i = 23; i < n - 1; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  // Days from 1970-01-01 of the civil date (proleptic Gregorian).
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  const t = days * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000 + ms;
  if (t > MAX_MS) return undefined;
  return { iso: n === 24 ? v : `${v.slice(0, 23)}Z`, ms: t };
}

/** Validate a propensity: (0, 1]; anything else is "not a propensity". */
function propensityOf(v: unknown): { p?: number; dropped: boolean } {
  if (v === undefined || v === null) return { dropped: false };
  if (typeof v === 'number' && Number.isFinite(v) && v > 0 && v <= 1) return { p: v, dropped: false };
  return { dropped: true };
}

/** The logged action distribution of a decision, after the validity rules. */
interface Logged {
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
function loggedDistribution(label: string, rawP: unknown, rawProbs: unknown, action: string, actions: readonly string[]): Logged {
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
function applyLogged(ev: DecisionEvent, l: Logged, out: Mapped[]): void {
  if (l.propensity !== undefined) ev.propensity = l.propensity;
  if (l.probs !== undefined) ev.probs = l.probs;
  for (const w of l.warnings) out.push(w);
}

/** A finite number, else null (a context value the line did not give). */
function numOrNull(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

// ---------------------------------------------------------------------------------------------
// Shared pieces of turn and flat mapping.

/** The request-only route context (never outcomes). `session_depth` is filled by the store. */
function routeContext(opts: MapOptions, text: string | undefined, lang: unknown, guardian: unknown, ms: number, intent: string | undefined): Context {
  const l = typeof lang === 'string' ? lang : null;
  const g = typeof guardian === 'string' ? guardian : null;
  // UTC hour and weekday by arithmetic (1970-01-01 was a Thursday); ms is never negative here.
  const days = Math.floor(ms / 86_400_000);
  const hour = Math.floor((ms - days * 86_400_000) / 3_600_000);
  const weekday = (days + 4) % 7;
  let ctx: Context;
  if (text !== undefined) {
    const f = deriveTextFields(text);
    ctx = {
      text_tokens: f.text_tokens,
      text_len: f.text_len,
      text_words: f.text_words,
      text_qmarks: f.text_qmarks,
      text_digits: f.text_digits,
      text_url: f.text_url,
      lang: l,
      guardian_state: g,
      hour,
      weekday,
      session_depth: null,
    };
    if (opts.storeText) ctx.text = text;
  } else {
    ctx = { lang: l, guardian_state: g, hour, weekday, session_depth: null };
  }
  if (intent !== undefined) ctx.intent = intent;
  return ctx;
}

/** Catalog of eligible tools for an intent, with the served tool added when missing. */
function toolActions(opts: MapOptions, intent: string, served: string): string[] {
  const cat = opts.toolsByIntent[intent];
  if (cat === undefined) return [served];
  return cat.includes(served) ? [...cat] : [...cat, served];
}

// ---------------------------------------------------------------------------------------------
// Shape 1: Alice turn event.

function mapTurn(o: Obj, opts: MapOptions): Mapped[] {
  const id = idOf(o.trace_id);
  if (id === undefined) return [quarantine(QuarantineReason.SCHEMA_INVALID, `trace_id must be a non-empty string of at most ${MAX_TURN_ID} characters`)];
  const ts = parseTimestamp(o.ts);
  if (ts === undefined) return [quarantine(QuarantineReason.BAD_TIMESTAMP, `turn ${id}: ts ${describe(o.ts)} is not a timestamp`)];
  const route = typeof o.route === 'string' ? o.route : undefined;
  if (route === undefined) return [quarantine(QuarantineReason.SCHEMA_INVALID, `turn ${id}: route must be a string, got ${describe(o.route)}`)];

  const rag = isObj(o.rag) ? o.rag : undefined;
  const calls = Array.isArray(o.tool_calls) ? o.tool_calls : [];
  const first = calls.length > 0 && isObj(calls[0]) ? calls[0] : undefined;
  const tool = first !== undefined ? str(first.name) : undefined;
  let toolFailed = false;
  for (const c of calls) if (isObj(c) && c.ok === false) toolFailed = true;

  const routable = opts.routeSet.has(route);
  const success = routable && rag?.fallback_used !== true && rag?.planner_schema_ok !== false && rag?.blocked_by_guardian !== true && !toolFailed;
  const outcome: OutcomeSignals = { success, guard_flag: rag?.blocked_by_guardian === true };
  const toolOk = first !== undefined && typeof first.ok === 'boolean' ? first.ok : undefined;
  if (toolOk !== undefined) outcome.tool_ok = toolOk;
  const latency = nonNegNum(o.e2e_full_ms) ?? nonNegNum(o.e2e_first_ms);
  if (latency !== undefined) outcome.latency_ms = latency;
  const tokens = rag !== undefined ? nonNegNum(rag.tokens_used) : undefined;
  const price = opts.pricePer1k[route];
  if (tokens !== undefined && price !== undefined) outcome.cost_usd = (tokens / 1000) * price;
  const cacheHit = typeof o.cache_hit === 'boolean' ? o.cache_hit : rag !== undefined && typeof rag.cache_hit === 'boolean' ? rag.cache_hit : undefined;
  if (cacheHit !== undefined) outcome.cache_hit = cacheHit;

  let intent = str(o.intent);
  if (intent === undefined && opts.inferIntentFromTool && tool !== undefined) intent = opts.intentOfTool.get(tool);
  const session = idOf(o.session_id);
  const text = typeof o.input_text === 'string' ? o.input_text : undefined;
  const ctx = routeContext(opts, text, o.lang, o.guardian_state, ts.ms, intent);

  const fact: TurnFact = { id, ts: ts.iso, route, outcome };
  if (intent !== undefined) fact.intent = intent;
  if (session !== undefined) fact.session = session;
  const out: Mapped[] = [{ kind: 'turn', fact }];

  const policy = str(o.policy) ?? opts.defaultPolicy;
  if (routable) {
    const baselineRaw = str(o.baseline) ?? str(o.rule_route);
    const ev: DecisionEvent = {
      v: 1,
      id,
      ts: ts.iso,
      point: 'route',
      context: ctx,
      actions: [...opts.routeActions],
      action: route,
      policy,
      baseline: baselineRaw !== undefined && opts.routeSet.has(baselineRaw) ? baselineRaw : route,
      outcome,
    };
    applyLogged(ev, loggedDistribution(`turn ${id}: route`, o.route_propensity ?? o.propensity, o.route_probs, route, ev.actions), out);
    out.push(decision(ev));
  }

  if (intent !== undefined && tool !== undefined) {
    const tctx: Context = { ...ctx, route };
    const toolOutcome: OutcomeSignals = { success };
    if (toolOk !== undefined) toolOutcome.tool_ok = toolOk;
    const actions = toolActions(opts, intent, tool);
    const ruleTool = str(o.rule_tool);
    const ev: DecisionEvent = {
      v: 1,
      id: `${id}#tool`,
      ts: ts.iso,
      point: 'tool',
      context: tctx,
      actions,
      action: tool,
      policy,
      baseline: ruleTool !== undefined && actions.includes(ruleTool) ? ruleTool : tool,
      outcome: toolOutcome,
    };
    applyLogged(ev, loggedDistribution(`turn ${id}: tool`, o.tool_propensity, o.tool_probs, tool, actions), out);
    out.push(decision(ev));
  }

  const cache = cacheAction(o.cache_used ?? o.cache_decision);
  if (cache !== undefined) {
    const cacheOutcome: OutcomeSignals = { success };
    if (cacheHit !== undefined) cacheOutcome.cache_hit = cacheHit;
    if (latency !== undefined) cacheOutcome.latency_ms = latency;
    // What the cache rule itself looks at: without similarity and age no learner can beat its threshold.
    const cctx: Context = { ...ctx, route, cache_similarity: numOrNull(o.cache_similarity), cache_age_s: numOrNull(o.cache_age_s) };
    const actions = [...CACHE_ACTIONS];
    const ev: DecisionEvent = {
      v: 1,
      id: `${id}#cache`,
      ts: ts.iso,
      point: 'cache',
      context: cctx,
      actions,
      action: cache,
      policy,
      baseline: cacheAction(o.rule_cache) ?? cache,
      outcome: cacheOutcome,
    };
    applyLogged(ev, loggedDistribution(`turn ${id}: cache`, o.cache_propensity, o.cache_probs, cache, actions), out);
    out.push(decision(ev));
  }
  return out;
}

function decision(event: DecisionEvent): Mapped {
  return { kind: 'decision', event };
}

/** The actions of the cache decision. */
export const CACHE_ACTIONS: readonly string[] = ['use', 'bypass'];

/** Id suffixes of the decisions a feedback event updates besides the turn's own (route) id. */
export const FEEDBACK_SUFFIXES: readonly string[] = ['#tool', '#cache'];

function cacheAction(v: unknown): 'use' | 'bypass' | undefined {
  if (v === true || v === 'use') return 'use';
  if (v === false || v === 'bypass') return 'bypass';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Shape 2: feedback event.

function mapFeedback(o: Obj): Mapped[] {
  const id = idOf(o.trace_id);
  if (id === undefined) return [quarantine(QuarantineReason.SCHEMA_INVALID, 'feedback: trace_id must be a non-empty string')];
  if (o.explicit !== undefined && o.explicit !== null && !isObj(o.explicit)) {
    return [quarantine(QuarantineReason.SCHEMA_INVALID, `feedback ${id}: explicit must be an object`)];
  }
  const thumbs = isObj(o.explicit) ? o.explicit.thumbs_up : undefined;
  if (thumbs !== undefined && thumbs !== null && typeof thumbs !== 'boolean') {
    return [quarantine(QuarantineReason.SCHEMA_INVALID, `feedback ${id}: explicit.thumbs_up must be true, false or null, got ${describe(thumbs)}`)];
  }
  const feedback: -1 | 0 | 1 = thumbs === true ? 1 : thumbs === false ? -1 : 0;
  const ts = o.ts === undefined ? undefined : parseTimestamp(o.ts);
  // One update per decision of the turn. The tool and cache decisions may not exist (no intent, no
  // cache field), so their updates are companions: they join when the decision is or gets stored,
  // and are never reported as waiting.
  const out: Mapped[] = [];
  for (const suffix of ['', ...FEEDBACK_SUFFIXES]) {
    const update: OutcomeUpdate = { id: `${id}${suffix}`, outcome: { feedback } };
    if (ts !== undefined) update.ts = ts.iso;
    if (suffix !== '') update.companion = true;
    out.push({ kind: 'outcome', update });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shape 3: flat RL record (the original scripts and demo).

function mapFlat(o: Obj, opts: MapOptions): Mapped[] {
  const ts = parseTimestamp(o.timestamp ?? o.ts);
  if (ts === undefined) return [quarantine(QuarantineReason.BAD_TIMESTAMP, `flat record: timestamp ${describe(o.timestamp ?? o.ts)} is not a timestamp`)];
  const route = o.route === undefined || o.route === null ? undefined : typeof o.route === 'string' ? o.route : null;
  const intent = o.intent === undefined || o.intent === null ? undefined : typeof o.intent === 'string' ? o.intent : null;
  const tool = o.tool === undefined || o.tool === null ? undefined : typeof o.tool === 'string' ? o.tool : null;
  if (route === null || intent === null || tool === null) {
    return [quarantine(QuarantineReason.SCHEMA_INVALID, 'flat record: route, intent and tool must be strings')];
  }
  const explicitId = o.trace_id ?? o.id;
  const givenId = explicitId === undefined || explicitId === null ? undefined : idOf(explicitId);
  if (explicitId !== undefined && explicitId !== null && givenId === undefined) {
    return [quarantine(QuarantineReason.SCHEMA_INVALID, `flat record: id must be a non-empty string of at most ${MAX_TURN_ID} characters`)];
  }

  const outcome: OutcomeSignals = {};
  const success = bool01(o.success);
  if (success !== undefined) outcome.success = success;
  const toolOk = bool01(o.tool_success);
  if (toolOk !== undefined) outcome.tool_ok = toolOk;
  const latency = nonNegNum(pick(o, 'latency_ms', 'latencyMs'));
  if (latency !== undefined) outcome.latency_ms = latency;
  const cost = nonNegNum(pick(o, 'cost_usd', 'costUsd'));
  if (cost !== undefined) outcome.cost_usd = cost;
  const cacheHit = bool01(pick(o, 'cache_hit', 'cacheHit'));
  if (cacheHit !== undefined) outcome.cache_hit = cacheHit;
  const guard = bool01(o.guard_flag);
  if (guard !== undefined) outcome.guard_flag = guard;

  const sessionRaw = pick(o, 'session_id', 'sessionId');
  const session = sessionRaw === undefined || sessionRaw === null ? undefined : idOf(sessionRaw);
  const text = typeof o.input_text === 'string' ? o.input_text : typeof o.text === 'string' ? o.text : undefined;
  const intentConf = typeof o.intent_confidence === 'number' && Number.isFinite(o.intent_confidence) ? o.intent_confidence : undefined;
  const routeProp = propensityOf(o.route_propensity);
  const toolProp = propensityOf(o.tool_propensity);

  // The id of a record without one is the hash of its normalised content, so re-reading a file
  // (or the same record written with camelCase aliases) deduplicates.
  const id =
    givenId ??
    `rl:${contentHash({ ts: ts.iso, route, intent, tool, outcome, session, lang: o.lang, guardian: o.guardian_state, text, intentConf, rp: routeProp.p, tp: toolProp.p, user: pick(o, 'user_id', 'userId') }, 24)}`;

  const ctx = routeContext(opts, text, o.lang, o.guardian_state, ts.ms, intent);
  if (intentConf !== undefined) ctx.intent_confidence = intentConf;

  const out: Mapped[] = [];
  const fact: TurnFact = { id, ts: ts.iso, route: route ?? null, outcome };
  if (intent !== undefined) fact.intent = intent;
  if (session !== undefined) fact.session = session;
  out.push({ kind: 'turn', fact });
  const policy = str(o.policy) ?? opts.defaultPolicy;

  if (route !== undefined && opts.routeSet.has(route)) {
    const ev: DecisionEvent = { v: 1, id, ts: ts.iso, point: 'route', context: ctx, actions: [...opts.routeActions], action: route, policy, baseline: route, outcome };
    if (routeProp.p !== undefined) ev.propensity = routeProp.p;
    out.push(decision(ev));
  }
  if (routeProp.dropped) out.push({ kind: 'warning', code: WarningCode.PROPENSITY_DROPPED, detail: `record ${id}: route_propensity ${describe(o.route_propensity)}` });

  if (tool !== undefined && intent !== undefined) {
    const tctx: Context = route !== undefined ? { ...ctx, route } : { ...ctx };
    const toolOutcome: OutcomeSignals = {};
    if (success !== undefined) toolOutcome.success = success;
    if (toolOk !== undefined) toolOutcome.tool_ok = toolOk;
    const ev: DecisionEvent = { v: 1, id: `${id}#tool`, ts: ts.iso, point: 'tool', context: tctx, actions: toolActions(opts, intent, tool), action: tool, policy, baseline: tool, outcome: toolOutcome };
    if (toolProp.p !== undefined) ev.propensity = toolProp.p;
    out.push(decision(ev));
  }
  if (toolProp.dropped) out.push({ kind: 'warning', code: WarningCode.PROPENSITY_DROPPED, detail: `record ${id}: tool_propensity ${describe(o.tool_propensity)}` });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shape 4: canonical decision and outcome events.

function mapCanonicalDecision(o: Obj, opts: MapOptions): Mapped[] {
  const r = DecisionEventSchema.safeParse(o);
  if (!r.success) return [quarantine(QuarantineReason.SCHEMA_INVALID, `decision event: ${firstIssue(r.error.issues)}`)];
  const ev = r.data;
  const context = expandText(ev.context, opts.textKeys, opts.storeText);
  return [{ kind: 'decision', event: context === ev.context ? ev : { ...ev, context } }];
}

function mapCanonicalOutcome(o: Obj): Mapped[] {
  const r = OutcomeEventSchema.safeParse(o);
  if (!r.success) return [quarantine(QuarantineReason.SCHEMA_INVALID, `outcome event: ${firstIssue(r.error.issues)}`)];
  const e = r.data;
  const update: OutcomeUpdate = { id: e.id, ts: e.ts };
  if (e.reward !== undefined) update.reward = e.reward;
  if (e.outcome !== undefined) update.outcome = e.outcome;
  return [{ kind: 'outcome', update }];
}

function firstIssue(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  const i = issues[0];
  if (i === undefined) return 'invalid';
  const path = i.path.map(String).join('.');
  return `${path === '' ? '' : `${path}: `}${i.message}${issues.length > 1 ? ` (+${issues.length - 1} more)` : ''}`;
}

function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) return String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

