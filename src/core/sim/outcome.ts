/**
 * What happens after the three choices of a request, and what every choice is worth.
 *
 * An outcome is one of a few discrete branches (success, model failure, tool error, tool timeout,
 * cache hit good or stale, guardian block), each with a log-normal latency, a fixed token count and
 * a feedback distribution. Sampling picks a branch and draws inside it; the truth integrates the
 * very same branches exactly: the default reward is piecewise linear in log-latency (clipped), so
 * its expectation under a normal log-latency has a closed form in Φ and φ. Simulation and truth
 * can therefore never disagree, and a test checks it by Monte Carlo.
 */
import { DEFAULT_PRICE_PER_1K_TOKENS } from '../config/telemetry.js';
import type { OutcomeSignals } from '../events.js';
import type { RewardFunction } from '../reward.js';
import { ROUTE_THETA, SUCCESS_SLOPE, loadAt, type SimRequest } from './world.js';
import { TOOLS_BY_INTENT, type CacheAction, type Route } from './vocabulary.js';

/** Branch kinds, for the Alice telemetry fields they produce. */
export type BranchKind = 'ok' | 'model_fail' | 'model_timeout' | 'tool_error' | 'tool_timeout' | 'cache_good' | 'cache_stale' | 'blocked';

/** One discrete outcome of a request under fixed choices. */
export interface Branch {
  p: number;
  kind: BranchKind;
  success: boolean;
  /**
   * `ok` of the tool call: the call produced what the request needed (the right tool, and it
   * returned). A wrong tool's call is never ok, even when it returned; undefined without a call.
   */
  toolOk: boolean | undefined;
  cacheHit: boolean;
  guard: boolean;
  /** Log-latency ~ Normal(mu, sigma), latency in milliseconds. */
  mu: number;
  sigma: number;
  /** Tokens used (cost = tokens / 1000 × price of the route); undefined for cache hits and blocks. */
  tokens: number | undefined;
  costUsd: number | undefined;
}

/** Latency, cost and failure constants of the world (calibrated, see docs/simulator.md). */
export const DYNAMICS = {
  /** Median latency (ms) of micro and of planner for an easy request at low load. */
  microMs: 150,
  plannerMs: 130,
  /** Deep's median latency (ms) at difficulty 0 and low load; it grows with difficulty. */
  deepMs: 3500,
  /** The planner on chit-chat (no tool needed) plans anyway, fails its schema and repairs: median ms. */
  plannerChatMs: 5000,
  /** ... and its repaired plan still misses the point this often: the planner's success on chit-chat is multiplied by this. */
  plannerChatSuccess: 0.35,
  /** ... and its plan-and-repair multiplies the planner's tokens by this. */
  plannerChatTokens: 2,
  /** A wrong tool makes the planner re-plan and call again: added median ms. */
  wrongToolMs: 4500,
  /** Tokens per request (prompt + answer) before verbosity and difficulty. */
  microTokens: 150,
  plannerTokens: 2000,
  deepTokens: 1800,
  /** ... and a wrong tool's re-planning multiplies the planner's tokens by this. */
  wrongToolTokens: 1.5,
  /** Latency multipliers of the guardian's BROWNOUT and DEGRADED states (planner and deep). */
  brownoutSlowdown: 1.6,
  degradedSlowdown: 2.5,
  /** Share of deep failures that are timeouts, and the timeout (ms). */
  deepTimeoutShare: 0.3,
  timeoutMs: 12000,
  /** Tool calls: ok / timeout probabilities for the right and a wrong tool. */
  rightToolOk: 0.995,
  rightToolTimeout: 0.002,
  wrongToolOk: 0.97,
  wrongToolTimeout: 0.02,
  /**
   * With a wrong tool that returned, the model's success is multiplied by this: its result does
   * not fit the request, the call is logged `ok: false` (`klass: "schema"`), and by the telemetry
   * contract a turn with a failed tool call is not a success.
   */
  wrongToolSuccess: 0,
  /** Micro's success ceiling on a tool intent's request that needs no tool. */
  microNoToolCap: 0.7,
};


/** The three choices of a request. `tool` is undefined when no tool is called. */
export interface Choices {
  route: Route;
  cache: CacheAction;
  tool: string | undefined;
}

/** Feedback: chance that the user gives any, and its distribution given success. */
export const FEEDBACK = {
  rate: 0.3,
  success: { up: 0.25, down: 0.2 },
  failure: { up: 0.05, down: 0.8 },
} as const;

/** Models per route, as Alice's telemetry names them. */
export const ROUTE_MODELS: Readonly<Record<Route, string>> = {
  micro: 'qwen2.5:1.5b-instruct-q4_K_M',
  planner: 'qwen2.5:3b-instruct-q4_K_M',
  deep: 'llama3.1:8b-instruct-q4_K_M',
};

/** Price per 1,000 tokens per route (the telemetry config's default, so derived costs agree). */
export const PRICE_PER_1K: Readonly<Record<Route, number>> = {
  micro: DEFAULT_PRICE_PER_1K_TOKENS.micro ?? 0.002,
  planner: DEFAULT_PRICE_PER_1K_TOKENS.planner ?? 0.006,
  deep: DEFAULT_PRICE_PER_1K_TOKENS.deep ?? 0.01,
};

/** True when this request calls a tool under these route and cache choices. */
export function callsTool(req: SimRequest, route: Route, cache: CacheAction): boolean {
  return cache === 'bypass' && route !== 'micro' && !req.hidden.blocked && req.hidden.needsTool && TOOLS_BY_INTENT[req.hidden.intent].length > 0;
}

/** Probability that the model of `route` answers this request well (given a working tool, if any). */
export function modelSuccess(req: SimRequest, route: Route): number {
  const h = req.hidden;
  const p = req.scenario;
  let cap = p.intents[h.intent].cap[route];
  if (route === 'micro') {
    // Without its tool the small model can only answer what needs none.
    if (!h.needsTool && TOOLS_BY_INTENT[h.intent].length > 0) cap = Math.max(cap, DYNAMICS.microNoToolCap);
    cap *= req.langGroup === 'other' ? 0.7 : req.langGroup === 'en' ? 0.96 : 1;
  } else if (route === 'planner') {
    if (req.langGroup === 'other') cap *= 0.9;
    if (TOOLS_BY_INTENT[h.intent].length === 0) cap *= DYNAMICS.plannerChatSuccess;
  }
  if (req.guardian === 'DEGRADED') cap *= route === 'deep' ? 0.8 : route === 'planner' ? 0.95 : 1;
  else if (req.guardian === 'BROWNOUT' && route === 'deep') cap *= 0.93;
  const z = SUCCESS_SLOPE * (ROUTE_THETA[route] - h.difficulty) + p.successShift;
  return cap / (1 + Math.exp(-z));
}

const LN = Math.log;

/** The branches of a request under given choices (probabilities sum to 1). */
export function branches(req: SimRequest, c: Choices): Branch[] {
  const h = req.hidden;
  const tail = req.scenario.tailMult;
  if (h.blocked) {
    return [{ p: 1, kind: 'blocked', success: false, toolOk: undefined, cacheHit: false, guard: true, mu: LN(90), sigma: 0.3, tokens: undefined, costUsd: undefined }];
  }
  if (c.cache === 'use') {
    const pGood = h.cacheGood ? 0.99 : 0.04;
    return [
      { p: pGood, kind: 'cache_good', success: true, toolOk: undefined, cacheHit: true, guard: false, mu: LN(35), sigma: 0.4, tokens: undefined, costUsd: undefined },
      { p: 1 - pGood, kind: 'cache_stale', success: false, toolOk: undefined, cacheHit: true, guard: false, mu: LN(70), sigma: 0.4, tokens: undefined, costUsd: undefined },
    ];
  }
  const r = c.route;
  const d = h.difficulty;
  const k = DYNAMICS;
  const busy = 1 + 0.3 * loadAt(req.hour);
  const gm = (req.guardian === 'DEGRADED' ? k.degradedSlowdown : req.guardian === 'BROWNOUT' ? k.brownoutSlowdown : 1) * req.scenario.latencyMult;
  const tools = TOOLS_BY_INTENT[h.intent];
  const chat = tools.length === 0;
  // Per route: median latency and spread of a good answer, of a failed one, and tokens.
  let okMs: number;
  let okSigma: number;
  let failMs: number;
  let failSigma: number;
  let tokens: number;
  if (r === 'micro') {
    okMs = k.microMs * (1 + 0.002 * req.text.length) * req.scenario.latencyMult;
    okSigma = 0.3;
    failMs = okMs * 2;
    failSigma = 0.4;
    tokens = k.microTokens * h.verbosity * (1 + d);
  } else if (r === 'planner') {
    okMs = (chat ? k.plannerChatMs : k.plannerMs * (1 + 0.5 * d)) * busy * gm;
    okSigma = chat ? 0.35 : 0.3;
    // A failed repair on chit-chat gives up sooner than a failed tool plan.
    failMs = okMs * (chat ? 1.3 : 1.8);
    failSigma = 0.4;
    tokens = k.plannerTokens * h.verbosity * (1 + 0.5 * d) * (chat ? k.plannerChatTokens : 1);
  } else {
    okMs = k.deepMs * (1 + d) * busy * gm;
    okSigma = 0.45;
    failMs = okMs * 1.2;
    failSigma = 0.45;
    tokens = k.deepTokens * h.verbosity * (1 + d);
  }
  const pm = modelSuccess(req, r);
  // A failing micro answer is retried once, then falls back; the planner repairs its schema; deep
  // failures are partly timeouts (the heavy tail).
  const pTimeoutGivenFail = r === 'deep' ? Math.min(0.9, k.deepTimeoutShare * tail) : 0;
  const out: Branch[] = [];
  const push = (p: number, kind: BranchKind, success: boolean, toolOk: boolean | undefined, med: number, sg: number, tk: number): void => {
    if (p <= 0) return;
    const t = Math.max(1, Math.round(tk));
    out.push({ p, kind, success, toolOk, cacheHit: false, guard: false, mu: LN(med), sigma: sg, tokens: t, costUsd: (t / 1000) * PRICE_PER_1K[r] });
  };
  const modelBranches = (pBase: number, pOk: number, toolOk: boolean | undefined, addMs: number, tk: number): void => {
    push(pBase * pOk, 'ok', true, toolOk, okMs + addMs, addMs > 0 ? 0.35 : okSigma, tk);
    const pf = pBase * (1 - pOk);
    push(pf * (1 - pTimeoutGivenFail), 'model_fail', false, toolOk, failMs + addMs, failSigma, tk);
    push(pf * pTimeoutGivenFail, 'model_timeout', false, toolOk, k.timeoutMs, 0.15, tk);
  };
  if (c.tool !== undefined && !chat && r !== 'micro') {
    const right = c.tool === tools[0];
    const pTimeout = Math.min(0.5, (right ? k.rightToolTimeout : k.wrongToolTimeout) * tail);
    const pOkTool = Math.max(0, 1 - (1 - (right ? k.rightToolOk : k.wrongToolOk)) * req.scenario.toolFailMult);
    const pErr = Math.max(0, 1 - pOkTool - pTimeout);
    const pOk = 1 - pErr - pTimeout;
    const tk = right ? tokens : tokens * k.wrongToolTokens;
    const extra = right ? okMs * 0.15 : k.wrongToolMs * busy;
    // A wrong tool that returned still did not produce what the request needed: not ok.
    modelBranches(pOk, right ? pm : pm * k.wrongToolSuccess, right, extra, tk);
    push(pErr, 'tool_error', false, false, okMs + k.wrongToolMs * 1.1 * busy, 0.4, tk);
    push(pTimeout, 'tool_timeout', false, false, k.timeoutMs * 0.85 + okMs, 0.15, tk);
  } else {
    modelBranches(1, pm, undefined, 0, tokens);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Normal distribution helpers.

/** Complementary error function (Chebyshev fit, fractional error below 1.2e-7). */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function normCdf(z: number): number {
  if (z === Infinity) return 1;
  if (z === -Infinity) return 0;
  return 0.5 * erfc(-z / Math.SQRT2);
}

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Standard normal density. */
export function normPdf(z: number): number {
  if (!Number.isFinite(z)) return 0;
  return INV_SQRT_2PI * Math.exp(-0.5 * z * z);
}

/** Inverse standard normal CDF (Acklam's rational approximation, relative error below 1.2e-9). */
export function normInv(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const q0 = Math.min(Math.max(p, 1e-300), 1 - 1e-16);
  if (q0 < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(q0));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (q0 > 1 - 0.02425) {
    const q = Math.sqrt(-2 * Math.log(1 - q0));
    return -(((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  const q = q0 - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** E[(α + βX) · 1{l ≤ X < u}] for X ~ Normal(μ, σ). */
function linearPiece(alpha: number, beta: number, l: number, u: number, mu: number, sigma: number): number {
  if (!(u > l)) return 0;
  const zl = (l - mu) / sigma;
  const zu = (u - mu) / sigma;
  const dP = normCdf(zu) - normCdf(zl);
  return (alpha + beta * mu) * dP - beta * sigma * (normPdf(zu) - normPdf(zl));
}

/** E[clip(α + βX, 0, 1) · 1{l ≤ X < u}] for X ~ Normal(μ, σ). */
function clippedPiece(alpha: number, beta: number, l: number, u: number, mu: number, sigma: number): number {
  if (!(u > l)) return 0;
  if (beta === 0) {
    const v = alpha < 0 ? 0 : alpha > 1 ? 1 : alpha;
    return v === 0 ? 0 : v * (normCdf((u - mu) / sigma) - normCdf((l - mu) / sigma));
  }
  // Where the line crosses 0 and 1.
  const x0 = -alpha / beta;
  const x1 = (1 - alpha) / beta;
  const lo = Math.min(x0, x1);
  const hi = Math.max(x0, x1);
  // Below `lo` the line is on one side, above `hi` on the other; between, it is inside [0, 1].
  const valueBelow = beta > 0 ? 0 : 1;
  const valueAbove = beta > 0 ? 1 : 0;
  let e = 0;
  const a1 = l;
  const b1 = Math.min(u, lo);
  if (valueBelow === 1 && b1 > a1) e += normCdf((b1 - mu) / sigma) - normCdf((a1 - mu) / sigma);
  e += linearPiece(alpha, beta, Math.max(l, lo), Math.min(u, hi), mu, sigma);
  const a3 = Math.max(l, hi);
  if (valueAbove === 1 && u > a3) e += normCdf((u - mu) / sigma) - normCdf((a3 - mu) / sigma);
  return e;
}

/**
 * E[clip(C − P(X), 0, 1)] with X ~ Normal(μ, σ) the log-latency and P the reward's latency
 * penalty: 0 below the SLO, linear in log-latency up to the saturation factor, then constant.
 */
export function expectedClipped(C: number, mu: number, sigma: number, rf: RewardFunction): number {
  const pen = rf.penalties;
  const a = Math.log(pen.latency_slo_ms);
  const w = Math.log(pen.latency_saturation_factor);
  const m = pen.latency_max_penalty;
  if (!(sigma > 0)) {
    const x = mu;
    const P = x <= a ? 0 : m * Math.min(1, (x - a) / w);
    const v = C - P;
    return v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return (
    clippedPiece(C, 0, -Infinity, a, mu, sigma) +
    clippedPiece(C + (m * a) / w, -m / w, a, a + w, mu, sigma) +
    clippedPiece(C - m, 0, a + w, Infinity, mu, sigma)
  );
}

/** The reward's value before latency and feedback, for one branch. */
function branchBase(b: Branch, rf: RewardFunction): number {
  const wts = rf.weights;
  const total = wts.success + wts.tool_ok + wts.cache_hit;
  const scale = total > 1 ? 1 / total : 1;
  const s = b.success ? 1 : 0;
  const t = b.toolOk === undefined ? s : b.toolOk ? 1 : 0;
  const c = b.cacheHit ? 1 : 0;
  let base = scale * (wts.success * s + wts.tool_ok * t + wts.cache_hit * c);
  if (b.costUsd !== undefined && b.costUsd > 0) base -= rf.penalties.cost_max_penalty * Math.min(1, b.costUsd / rf.penalties.cost_cap_usd);
  if (b.guard) base -= rf.penalties.guard_penalty;
  return base;
}

/** Exact expected reward of a set of branches under a reward function (feedback included). */
export function expectedReward(bs: readonly Branch[], rf: RewardFunction): number {
  let e = 0;
  for (const b of bs) {
    const base = branchBase(b, rf);
    const fb = b.success ? FEEDBACK.success : FEEDBACK.failure;
    const pUp = FEEDBACK.rate * fb.up;
    const pDown = FEEDBACK.rate * fb.down;
    const pNone = 1 - pUp - pDown;
    let v = pNone * expectedClipped(base, b.mu, b.sigma, rf);
    v += pUp * expectedClipped(base + rf.penalties.feedback_bonus, b.mu, b.sigma, rf);
    v += pDown * expectedClipped(base - rf.penalties.feedback_penalty, b.mu, b.sigma, rf);
    e += b.p * v;
  }
  return e;
}

/** Feedback drawn for a request: none, thumbs up, thumbs down, or given without a thumb (null). */
export type FeedbackDraw = 'none' | 'up' | 'down' | 'null';

/** A sampled outcome: the branch, the latency and the feedback. */
export interface SampledOutcome {
  branch: Branch;
  latencyMs: number;
  feedback: FeedbackDraw;
  /** The canonical outcome signals (what a decision event's `outcome` holds). */
  signals: OutcomeSignals;
}

/**
 * Sample the outcome with the request's fixed draws: `u[0]` picks the branch, `u[1]` the latency
 * within it, `u[2]` and `u[3]` the feedback.
 */
export function sampleOutcome(req: SimRequest, bs: readonly Branch[]): SampledOutcome {
  const [u0, u1, u2, u3] = req.hidden.u;
  let acc = 0;
  let branch = bs[bs.length - 1]!;
  for (const b of bs) {
    acc += b.p;
    if (u0 < acc) {
      branch = b;
      break;
    }
  }
  const latencyMs = Math.max(1, Math.round(Math.exp(branch.mu + branch.sigma * normInv(u1 <= 0 ? 1e-12 : u1))));
  let feedback: FeedbackDraw = 'none';
  if (u2 < FEEDBACK.rate) {
    const fb = branch.success ? FEEDBACK.success : FEEDBACK.failure;
    feedback = u3 < fb.up ? 'up' : u3 < fb.up + fb.down ? 'down' : 'null';
  }
  const signals: OutcomeSignals = { success: branch.success };
  if (branch.toolOk !== undefined) signals.tool_ok = branch.toolOk;
  signals.latency_ms = latencyMs;
  if (branch.costUsd !== undefined) signals.cost_usd = branch.costUsd;
  signals.cache_hit = branch.cacheHit;
  signals.guard_flag = branch.guard;
  if (feedback !== 'none') signals.feedback = feedback === 'up' ? 1 : feedback === 'down' ? -1 : 0;
  return { branch, latencyMs, feedback, signals };
}
