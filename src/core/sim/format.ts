/**
 * How a simulated request is written down: as Alice writes it (turn events, the /api/chat
 * duplicate, late feedback events), as canonical decision events (route, cache, tool), and as
 * ground-truth lines. The Alice fields are chosen so that the documented derivation (docs/telemetry.md)
 * gives back exactly the outcome signals the simulator used: success, tool_ok, latency, cost,
 * cache hit, guard flag and feedback round-trip.
 */
import { murmur3 } from '../hash.js';
import { isoMicros } from './clock.js';
import type { DecisionRecord, SimEpisode } from './engine.js';
import { ROUTE_MODELS } from './outcome.js';

/** Options of the Alice writer. */
export interface AliceFormatOptions {
  /** Share of turns logged twice with the same trace id (the second with empty tool_calls). @default 0.1 */
  duplicateRate?: number;
  /** Largest number of later turns after which a feedback event is written. @default 30 */
  maxFeedbackDelay?: number;
  /**
   * Write propensities, rule choices and the policy on each turn (extension fields). Alice's own
   * rules log none of them; the simulator writes them when anything but the plain rules served.
   * @default "auto"
   */
  annotate?: 'auto' | 'always' | 'never';
}

const KLASSES = ['schema', '5xx', 'other', '429'] as const;

/** A uniform in [0, 1) derived from a request's id hash and a salt (formatting details only). */
function unit(h: number, salt: number): number {
  let x = (h ^ Math.imul(salt, 0x9e3779b9)) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return ((x ^ (x >>> 16)) >>> 0) / 4294967296;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

/** True when a decision was served by anything but Alice's deterministic rules. */
function annotated(r: DecisionRecord): boolean {
  return r.propensity < 1 || r.policy !== 'rules@alice' || r.action !== r.baseline;
}

/** The scalar fields of a turn, computed once and rendered as an object or directly as text. */
interface TurnFields {
  ts: string;
  first: number;
  full: number;
  procMb: number;
  sysMb: number;
  tool: { name: string; norm: string; ok: boolean; klass: string | null; latMs: number } | undefined;
  topK: number;
  hits: number;
  llmModel: string | null;
  schemaOk: boolean | null;
  repair: boolean;
  fallback: boolean;
  fallbackReason: string | null;
  blocked: boolean;
  tokens: number | undefined;
  energy: number;
  output: string;
  annotate: boolean;
}

function turnFields(ep: SimEpisode, annotate: 'auto' | 'always' | 'never', h: number): TurnFields {
  const req = ep.request;
  const b = ep.outcome.branch;
  const route = ep.choices.route;
  const full = ep.outcome.latencyMs;
  const first = b.cacheHit || route === 'micro' ? full : Math.max(1, Math.round(full * (route === 'deep' ? 0.35 : 0.6)));
  let tool: TurnFields['tool'];
  if (ep.choices.tool !== undefined) {
    const ok = b.toolOk === true;
    // A wrong tool that returned: its result did not fit what the request needed.
    const klass = ok ? null : b.kind === 'tool_timeout' ? 'timeout' : b.kind !== 'tool_error' ? 'schema' : KLASSES[Math.floor(unit(h, 7) * KLASSES.length)]!;
    const share = b.kind === 'tool_timeout' ? 0.85 : b.kind === 'tool_error' ? 0.4 : ep.kpi.toolRight ? 0.13 : 0.5;
    const name = ep.choices.tool;
    tool = { name, norm: name.split('.')[0]!, ok, klass, latMs: round1(full * share) };
  }
  const fallback = b.kind === 'cache_stale' || b.kind === 'model_timeout' || (b.kind === 'model_fail' && route !== 'planner');
  const modelRan = !b.cacheHit && b.kind !== 'blocked';
  const retrieval = modelRan && route !== 'micro' && (req.hidden.intent === 'search' || req.hidden.intent === 'complex_query');
  const perSecond = route === 'micro' ? 0.004 : route === 'planner' ? 0.012 : 0.03;
  return {
    ts: isoMicros(req.tsUs),
    first,
    full,
    procMb: round1(190 + unit(h, 3) * 90),
    sysMb: round1(11700 + unit(h, 5) * 500),
    tool,
    topK: retrieval ? 5 : 0,
    hits: retrieval ? 1 + Math.floor(unit(h, 11) * 5) : 0,
    llmModel: modelRan ? ROUTE_MODELS[route] : null,
    schemaOk: modelRan && route === 'planner' ? b.kind !== 'model_fail' : null,
    repair: modelRan && route === 'planner' && b.kind === 'model_fail',
    fallback,
    fallbackReason: !fallback ? null : b.kind === 'cache_stale' ? 'cache_stale' : b.kind === 'model_timeout' ? 'timeout' : 'low_confidence',
    blocked: b.kind === 'blocked',
    tokens: b.tokens,
    energy: Math.round((full / 1000) * (modelRan ? perSecond : 0.001) * 10000) / 10000,
    output: outputText(ep),
    annotate: annotate === 'always' || (annotate === 'auto' && (annotated(ep.route) || annotated(ep.cache) || (ep.tool !== undefined && annotated(ep.tool)))),
  };
}

/** The probabilities of a decision when they form a distribution (a remote server may give only one). */
function fullProbs(r: DecisionRecord): Record<string, number> | undefined {
  let sum = 0;
  for (const a of r.actions) sum += r.probs[a] ?? 0;
  return Math.abs(sum - 1) <= 1e-6 ? r.probs : undefined;
}

/** Alice's turn event for a simulated request (an object in Alice's field order). */
export function aliceTurn(ep: SimEpisode, annotate: 'auto' | 'always' | 'never' = 'auto'): Record<string, unknown> {
  const req = ep.request;
  const f = turnFields(ep, annotate, murmur3(req.id));
  const rag: Record<string, unknown> = {
    top_k: f.topK,
    hits: f.hits,
    llm_model: f.llmModel,
    planner_schema_ok: f.schemaOk,
    repair_used: f.repair,
    circuit_open: false,
    fallback_used: f.fallback,
    fallback_reason: f.fallbackReason,
    blocked_by_guardian: f.blocked,
  };
  if (f.tokens !== undefined) rag.tokens_used = f.tokens;
  const turn: Record<string, unknown> = {
    v: '1',
    ts: f.ts,
    trace_id: req.id,
    session_id: req.sessionId,
    user_id: req.userId,
    route: ep.choices.route,
    intent: req.hidden.intent,
    e2e_first_ms: f.first,
    e2e_full_ms: f.full,
    ram_peak_mb: { proc_mb: f.procMb, sys_mb: f.sysMb },
    tool_calls: f.tool === undefined ? [] : [{ name: f.tool.name, normalized_name: f.tool.norm, ok: f.tool.ok, klass: f.tool.klass, lat_ms: f.tool.latMs }],
    rag,
    energy_wh: f.energy,
    guardian_state: req.guardian,
    pii_masked: true,
    consent_scopes: ['basic_logging'],
    input_text: req.text,
    output_text: f.output,
    lang: req.lang,
    security: { system_prompt_sha256: '9f1c2ab0' },
    cache_used: ep.choices.cache === 'use',
    cache_hit: ep.outcome.branch.cacheHit,
    cache_similarity: req.cacheSimilarity,
    cache_age_s: req.cacheAgeS,
  };
  if (f.annotate) {
    turn.policy = ep.route.policy;
    turn.route_propensity = ep.route.propensity;
    const rp = fullProbs(ep.route);
    if (rp !== undefined) turn.route_probs = rp;
    turn.rule_route = ep.route.baseline;
    turn.cache_propensity = ep.cache.propensity;
    turn.cache_probs = ep.cache.probs;
    turn.rule_cache = ep.cache.baseline;
    if (ep.tool !== undefined) {
      turn.tool_propensity = ep.tool.propensity;
      turn.tool_probs = ep.tool.probs;
      turn.rule_tool = ep.tool.baseline;
    }
  }
  return turn;
}

const q = JSON.stringify;

/**
 * The same turn as `JSON.stringify(aliceTurn(ep))`, written directly (the bootstrap writes a
 * million of these; a test pins the two to the same bytes). `emptyTools` gives the /api/chat copy.
 */
export function aliceTurnLine(ep: SimEpisode, annotate: 'auto' | 'always' | 'never' = 'auto', emptyTools = false): string {
  return turnLine(ep, turnFields(ep, annotate, murmur3(ep.request.id)), emptyTools);
}

function turnLine(ep: SimEpisode, f: TurnFields, emptyTools: boolean): string {
  const req = ep.request;
  const t = f.tool;
  const tools = emptyTools || t === undefined ? '[]' : `[{"name":"${t.name}","normalized_name":"${t.norm}","ok":${t.ok},"klass":${t.klass === null ? 'null' : `"${t.klass}"`},"lat_ms":${t.latMs}}]`;
  let s =
    `{"v":"1","ts":"${f.ts}","trace_id":"${req.id}","session_id":${q(req.sessionId)},"user_id":${q(req.userId)},"route":"${ep.choices.route}","intent":"${req.hidden.intent}",` +
    `"e2e_first_ms":${f.first},"e2e_full_ms":${f.full},"ram_peak_mb":{"proc_mb":${f.procMb},"sys_mb":${f.sysMb}},"tool_calls":${tools},` +
    `"rag":{"top_k":${f.topK},"hits":${f.hits},"llm_model":${f.llmModel === null ? 'null' : `"${f.llmModel}"`},"planner_schema_ok":${f.schemaOk},"repair_used":${f.repair},"circuit_open":false,` +
    `"fallback_used":${f.fallback},"fallback_reason":${f.fallbackReason === null ? 'null' : `"${f.fallbackReason}"`},"blocked_by_guardian":${f.blocked}${f.tokens === undefined ? '' : `,"tokens_used":${f.tokens}`}},` +
    `"energy_wh":${f.energy},"guardian_state":"${req.guardian}","pii_masked":true,"consent_scopes":["basic_logging"],"input_text":${q(req.text)},"output_text":${q(f.output)},` +
    `"lang":${q(req.lang)},"security":{"system_prompt_sha256":"9f1c2ab0"},"cache_used":${ep.choices.cache === 'use'},"cache_hit":${ep.outcome.branch.cacheHit},` +
    `"cache_similarity":${req.cacheSimilarity},"cache_age_s":${req.cacheAgeS}`;
  if (f.annotate) {
    const rp = fullProbs(ep.route);
    s += `,"policy":${q(ep.route.policy)},"route_propensity":${ep.route.propensity}${rp === undefined ? '' : `,"route_probs":${q(rp)}`},"rule_route":"${ep.route.baseline}"`;
    s += `,"cache_propensity":${ep.cache.propensity},"cache_probs":${q(ep.cache.probs)},"rule_cache":"${ep.cache.baseline}"`;
    if (ep.tool !== undefined) s += `,"tool_propensity":${ep.tool.propensity},"tool_probs":${q(ep.tool.probs)},"rule_tool":"${ep.tool.baseline}"`;
  }
  return `${s}}`;
}

function outputText(ep: SimEpisode): string {
  const sv = ep.request.langGroup === 'sv';
  const b = ep.outcome.branch;
  if (b.kind === 'blocked') return sv ? 'Det kan jag tyvärr inte hjälpa till med.' : 'Sorry, I cannot help with that.';
  if (!b.success) return sv ? 'Förlåt, något gick fel. Försök igen.' : 'Sorry, something went wrong. Please try again.';
  if (ep.choices.tool !== undefined) return JSON.stringify({ tool: ep.choices.tool });
  return sv ? 'Här är mitt svar.' : 'Here is my answer.';
}

/** Alice's feedback event for a request, or undefined when the user gave none. */
export function aliceFeedback(ep: SimEpisode): Record<string, unknown> | undefined {
  const f = ep.outcome.feedback;
  if (f === 'none') return undefined;
  return { v: '1', kind: 'feedback', trace_id: ep.request.id, explicit: { thumbs_up: f === 'up' ? true : f === 'down' ? false : null, comment: null } };
}

/**
 * Writes Alice's telemetry for a stream of requests: each turn (sometimes twice, as /api/chat
 * does), and each feedback event a few turns later, as a real user clicks after reading.
 */
export class AliceStream {
  private readonly dupRate: number;
  private readonly maxDelay: number;
  private readonly annotate: 'auto' | 'always' | 'never';
  private readonly pending: { due: number; line: string }[] = [];
  private n = 0;

  constructor(o: AliceFormatOptions = {}) {
    this.dupRate = o.duplicateRate ?? 0.1;
    this.maxDelay = Math.max(0, Math.floor(o.maxFeedbackDelay ?? 30));
    this.annotate = o.annotate ?? 'auto';
  }

  /** The lines to write for this request (and feedback that has come due), without newlines. */
  push(ep: SimEpisode): string[] {
    const out: string[] = [];
    const h = murmur3(ep.request.id);
    const f = turnFields(ep, this.annotate, h);
    out.push(turnLine(ep, f, false));
    if (unit(h, 13) < this.dupRate) out.push(turnLine(ep, f, true));
    this.n++;
    const fb = aliceFeedback(ep);
    if (fb !== undefined) {
      const delay = 1 + Math.floor(unit(h, 17) * this.maxDelay);
      this.pending.push({ due: this.n + delay, line: JSON.stringify(fb) });
    }
    if (this.pending.length > 0) {
      let w = 0;
      for (const p of this.pending) {
        if (p.due <= this.n) out.push(p.line);
        else this.pending[w++] = p;
      }
      this.pending.length = w;
    }
    return out;
  }

  /** Feedback still waiting at the end of the stream. */
  flush(): string[] {
    const out = this.pending.map((p) => p.line);
    this.pending.length = 0;
    return out;
  }
}

/** A canonical decision event (format v1) for a decision record of a request. */
export function decisionEvent(ep: SimEpisode, r: DecisionRecord): Record<string, unknown> {
  return {
    v: 1,
    id: r.id,
    ts: isoMicros(ep.request.tsUs),
    point: r.point,
    context: r.context,
    actions: r.actions,
    action: r.action,
    propensity: r.propensity,
    probs: r.probs,
    policy: r.policy,
    baseline: r.baseline,
    reward: ep.reward,
    outcome: ep.outcome.signals,
  };
}

/** The decision records of a request in decision order (route, cache, then tool when called). */
export function decisionsOf(ep: SimEpisode): DecisionRecord[] {
  return ep.tool === undefined ? [ep.route, ep.cache] : [ep.route, ep.cache, ep.tool];
}

/** The canonical decision events of a request, as JSON lines (without newlines). */
export function decisionLines(ep: SimEpisode): string[] {
  return decisionsOf(ep).map((r) => JSON.stringify(decisionEvent(ep, r)));
}

/** Ground-truth lines `{"id","point","expected":{...}}` (needs a simulator built with `truth: true`). */
export function truthLines(ep: SimEpisode): string[] {
  const out: string[] = [];
  for (const r of decisionsOf(ep)) {
    if (r.expected !== undefined) out.push(JSON.stringify({ id: r.id, point: r.point, expected: r.expected }));
  }
  return out;
}

