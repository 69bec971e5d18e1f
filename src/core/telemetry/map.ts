/**
 * Telemetry mapping: one parsed record of any known shape (Alice turn event, feedback event, flat
 * RL record, canonical decision or outcome event) becomes canonical decision events, outcome
 * updates, KPI turn facts, or a quarantine verdict. Pure and total: any input gives an answer, never
 * an exception. The derivation rules are the contract documented in docs/telemetry.md; the
 * simulator's Alice output must round-trip through them.
 */
import { contentHash } from '../hash.js';
import { deriveTextFields, expandText } from '../text.js';
import { DecisionEventSchema, MAX_COST_USD, MAX_LATENCY_MS, OutcomeEventSchema } from '../events.js';
import { fastDecisionEvent, fastOutcomeEvent } from '../events-fast.js';
import type { Context, DecisionEvent, OutcomeSignals } from '../events.js';
import { TelemetrySchema, type TelemetryConfig } from '../config/telemetry.js';
import { QuarantineReason, WarningCode, type Mapped, type OutcomeUpdate, type TurnFact } from './types.js';
import { parseTimestamp } from './timestamps.js';
import { applyLogged, loggedDistribution, propensityOf } from './logged.js';
import { describe, isObj } from './values.js';

/** Longest accepted turn or record id: leaves room for the `#tool` / `#cache` suffixes within 256. */
export const MAX_TURN_ID = 250;

/** The mapping options, compiled once from the `telemetry` config section. */
export interface MapOptions {
  readonly storeText: boolean;
  readonly textKeys: readonly string[];
  /** Strings longer than this are free text whatever their key (`telemetry.free_text_chars`). */
  readonly freeTextChars: number;
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
    freeTextChars: c.free_text_chars,
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

/** `v` when within `max`; else undefined, with the reason added to `why` (an `implausible_dropped` warning). */
function plausible(v: number | undefined, max: number, what: string, why: string[]): number | undefined {
  if (v === undefined || v <= max) return v;
  why.push(`${what} ${v} is beyond the plausible ${max}: dropped`);
  return undefined;
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
      text_grams: f.text_grams,
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
  const implausible: string[] = [];
  const latency = plausible(nonNegNum(o.e2e_full_ms) ?? nonNegNum(o.e2e_first_ms), MAX_LATENCY_MS, `turn ${id}: latency_ms`, implausible);
  if (latency !== undefined) outcome.latency_ms = latency;
  const tokens = rag !== undefined ? nonNegNum(rag.tokens_used) : undefined;
  const price = opts.pricePer1k[route];
  const cost = tokens !== undefined && price !== undefined ? plausible((tokens / 1000) * price, MAX_COST_USD, `turn ${id}: cost_usd`, implausible) : undefined;
  if (cost !== undefined) outcome.cost_usd = cost;
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
  for (const detail of implausible) out.push({ kind: 'warning', code: WarningCode.IMPLAUSIBLE_DROPPED, detail });

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
  const implausible: string[] = [];
  const latency = plausible(nonNegNum(pick(o, 'latency_ms', 'latencyMs')), MAX_LATENCY_MS, 'flat record: latency_ms', implausible);
  if (latency !== undefined) outcome.latency_ms = latency;
  const cost = plausible(nonNegNum(pick(o, 'cost_usd', 'costUsd')), MAX_COST_USD, 'flat record: cost_usd', implausible);
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
  for (const detail of implausible) out.push({ kind: 'warning', code: WarningCode.IMPLAUSIBLE_DROPPED, detail });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shape 4: canonical decision and outcome events.

function mapCanonicalDecision(o: Obj, opts: MapOptions): Mapped[] {
  let ev = fastDecisionEvent(o);
  if (ev === undefined) {
    const r = DecisionEventSchema.safeParse(o);
    if (!r.success) return [quarantine(QuarantineReason.SCHEMA_INVALID, `decision event: ${firstIssue(r.error.issues)}`)];
    ev = r.data;
  }
  const context = expandText(ev.context, opts.textKeys, opts.storeText, opts.freeTextChars);
  return [{ kind: 'decision', event: context === ev.context ? ev : { ...ev, context } }];
}

function mapCanonicalOutcome(o: Obj): Mapped[] {
  let e = fastOutcomeEvent(o);
  if (e === undefined) {
    const r = OutcomeEventSchema.safeParse(o);
    if (!r.success) return [quarantine(QuarantineReason.SCHEMA_INVALID, `outcome event: ${firstIssue(r.error.issues)}`)];
    e = r.data;
  }
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

