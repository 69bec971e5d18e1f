/**
 * The simulated production loop. For each request: the rule router and the route policy choose a
 * route, the cache policy decides whether a cached answer is served, and (when the model path runs
 * with a tool) the tool policy picks the tool; then the world samples the outcome. The loop is split
 * into `routeQuery` and `complete` so that an asynchronous server (the decision service) can answer
 * the route point between the two; `step` runs both with a synchronous policy.
 */
import type { Context } from '../events.js';
import { compileReward, type RewardFunction } from '../reward.js';
import { Rng, drawFor } from '../rng.js';
import { KpiAccumulator, type KpiRow } from './kpis.js';
import { branches, callsTool, expectedReward, sampleOutcome, type Choices, type SampledOutcome } from './outcome.js';
import { CACHE_THRESHOLD, MicroQuota, ruleCache, ruleRoute, ruleTool, type QuotaOptions } from './router.js';
import { rulesPolicy, withExploration, type PointQuery, type PolicySet, type ServeChoice, type ServingPolicy } from './serving.js';
import { buildSchedule, type Schedule } from './clock.js';
import { drawLangGroup, drawRequest, scenarioAt, type SimRequest, type Slot } from './world.js';
import { CACHE_ACTIONS, ROUTES, TOOLS_BY_INTENT, type CacheAction, type DecisionPoint, type Route, type ScenarioName } from './vocabulary.js';

/** Options of a simulated production. */
export interface SimOptions {
  seed: number;
  /** @default "realistic" */
  scenario?: ScenarioName;
  /** The reward used for `reward`, the KPI policy value and the truth. @default compileReward() */
  reward?: RewardFunction;
  /** Who serves each point. @default Alice's rules everywhere */
  policies?: Partial<Record<DecisionPoint, ServingPolicy>>;
  /** Exploration floor applied to every point's policy. @default 0 */
  exploration?: number;
  /** Compute the per-decision truth (expected reward of every action). @default false */
  truth?: boolean;
  quota?: Partial<QuotaOptions>;
  /** Alice's fixed cache threshold. @default 0.93 */
  cacheThreshold?: number;
}

/** One logged decision. */
export interface DecisionRecord {
  point: DecisionPoint;
  id: string;
  context: Context;
  actions: readonly string[];
  action: string;
  propensity: number;
  probs: Record<string, number>;
  policy: string;
  baseline: string;
  /**
   * Truth: expected reward of each action, holding the other points at what production did (on a
   * path production did not take, at what its policy would have done there, in expectation).
   */
  expected?: Record<string, number> | undefined;
}

/** One simulated request with its decisions and outcome. */
export interface SimEpisode {
  request: SimRequest;
  route: DecisionRecord;
  cache: DecisionRecord;
  tool: DecisionRecord | undefined;
  choices: Choices;
  outcome: SampledOutcome;
  /** Reward of the sampled outcome under the configured reward. */
  reward: number;
  kpi: KpiRow;
  /** The micro quota pushed the rule choice from micro to planner. */
  quotaPushed: boolean;
}

/** Where a route query came from: kept until `complete`. */
export interface PendingRoute {
  request: SimRequest;
  query: PointQuery;
  pushed: boolean;
  /** @internal memoised expected rewards of this request. */
  values: ValueCache;
}

/** A simulated Alice production with a seeded world. */
export class AliceSim {
  readonly seed: number;
  readonly scenario: ScenarioName;
  readonly reward: RewardFunction;
  readonly policies: PolicySet;
  readonly exploration: number;
  private readonly truth: boolean;
  private readonly worldRng: Rng;
  private readonly quota: MicroQuota;
  private readonly threshold: number;
  private readonly kpis = new KpiAccumulator();
  private readonly routeMix: Record<Route, number> = { micro: 0, planner: 0, deep: 0 };

  constructor(o: SimOptions) {
    if (!Number.isSafeInteger(o.seed) || o.seed < 0) throw new RangeError(`seed must be a non-negative integer, got ${o.seed}`);
    this.seed = o.seed;
    this.scenario = o.scenario ?? 'realistic';
    this.reward = o.reward ?? compileReward();
    this.exploration = o.exploration ?? 0;
    const wrap = (p: ServingPolicy | undefined): ServingPolicy => withExploration(p ?? rulesPolicy, this.exploration);
    this.policies = { route: wrap(o.policies?.route), cache: wrap(o.policies?.cache), tool: wrap(o.policies?.tool) };
    this.truth = o.truth ?? false;
    this.worldRng = new Rng(o.seed, 1);
    this.quota = new MicroQuota(o.quota);
    this.threshold = o.cacheThreshold ?? CACHE_THRESHOLD;
  }

  /** A generator for the schedule (sessions and times), independent of the world's stream. */
  scheduleRng(): Rng {
    return new Rng(this.seed, 2);
  }

  /** Draw the request of a slot; `position` in [0, 1] is where it sits in the run (for `drift`). */
  request(slot: Slot, index: number, position: number): SimRequest {
    return drawRequest(this.worldRng, scenarioAt(this.scenario, position), slot, index);
  }

  /** The route decision's query (the rule choice, after the micro quota, is its baseline). */
  routeQuery(req: SimRequest): PendingRoute {
    const rule = ruleRoute(req.text, this.quota, req.tsUs);
    const values = new ValueCache(req, this.reward);
    const query = new Query('route', req.id, ROUTES, rule.route, this.seed, req, values, 'micro');
    return { request: req, query, pushed: rule.pushed, values };
  }

  /** The tool decision's query on the model path with route `r`, or undefined when no tool is called. */
  private toolQuery(req: SimRequest, values: ValueCache, r: Route): Query | undefined {
    if (!callsTool(req, r, 'bypass')) return undefined;
    const catalog = TOOLS_BY_INTENT[req.hidden.intent];
    return new Query('tool', `${req.id}#tool`, catalog, ruleTool(req.text, catalog), this.seed, req, values, r);
  }

  /** Finish a request whose route was served by `routeChoice` (from any server). */
  complete(p: PendingRoute, routeChoice: ServeChoice): SimEpisode {
    const req = p.request;
    const route = (ROUTES as readonly string[]).includes(routeChoice.action) ? (routeChoice.action as Route) : (p.query.baseline as Route);
    this.quota.record(req.tsUs, route);
    const values = p.values;

    // Cache: decided after routing, before the model runs.
    const cacheQuery = new Query('cache', `${req.id}#cache`, CACHE_ACTIONS, ruleCache(req.cacheSimilarity, this.threshold), this.seed, req, values, route);
    const cacheChoice = this.policies.cache.serve(cacheQuery);
    const cache: CacheAction = cacheChoice.action === 'use' ? 'use' : 'bypass';

    // Tool: only when the model path runs on a route with tools and the intent needs one.
    let toolRec: DecisionRecord | undefined;
    let tool: string | undefined;
    const toolQuery = cache === 'bypass' ? this.toolQuery(req, values, route) : undefined;
    if (toolQuery !== undefined) {
      const c = this.policies.tool.serve(toolQuery);
      tool = toolQuery.actions.includes(c.action) ? c.action : toolQuery.baseline;
      toolRec = record(toolQuery, c, tool);
    }
    const choices: Choices = { route, cache, tool };
    const outcome = sampleOutcome(req, branches(req, choices));
    const reward = this.reward.compute(outcome.signals);

    const routeRec = record(p.query, routeChoice, route);
    const cacheRec = record(cacheQuery, cacheChoice, cache);
    if (this.truth) this.addTruth(req, values, choices, routeRec, cacheRec, toolRec);
    const kpi: KpiRow = {
      success: outcome.branch.success,
      latencyMs: outcome.latencyMs,
      cacheHit: outcome.branch.cacheHit,
      toolCalled: tool !== undefined,
      toolRight: tool !== undefined && tool === TOOLS_BY_INTENT[req.hidden.intent][0],
      toolOk: tool !== undefined && outcome.branch.toolOk === true,
      reward,
    };
    this.kpis.add(kpi);
    this.routeMix[route]++;
    return { request: req, route: routeRec, cache: cacheRec, tool: toolRec, choices, outcome, reward, kpi, quotaPushed: p.pushed };
  }

  /**
   * The truth of each decision: expected reward of every action, holding the other points at what
   * production did; on a path production did not take (another route on the model path), its
   * tool policy's own distribution there.
   */
  private addTruth(req: SimRequest, values: ValueCache, choices: Choices, routeRec: DecisionRecord, cacheRec: DecisionRecord, toolRec: DecisionRecord | undefined): void {
    const { route, cache } = choices;
    const bypassValue = (r: Route): number => {
      if (r === route && cache === 'bypass') return values.value(choices);
      const q = this.toolQuery(req, values, r);
      if (q === undefined) return values.value({ route: r, cache: 'bypass', tool: undefined });
      const probs = this.policies.tool.serve(q).probs;
      let v = 0;
      for (const t of q.actions) {
        const pt = probs[t] ?? 0;
        if (pt > 0) v += pt * values.value({ route: r, cache: 'bypass', tool: t });
      }
      return v;
    };
    const useValue = values.value({ route, cache: 'use', tool: undefined });
    const re: Record<string, number> = {};
    for (const r of ROUTES) re[r] = round6(cache === 'use' ? useValue : bypassValue(r));
    routeRec.expected = re;
    cacheRec.expected = { use: round6(useValue), bypass: round6(bypassValue(route)) };
    if (toolRec !== undefined) {
      const te: Record<string, number> = {};
      for (const t of toolRec.actions) te[t] = round6(values.value({ route, cache: 'bypass', tool: t }));
      toolRec.expected = te;
    }
  }

  /** Route, cache and tool with the synchronous policies. */
  step(req: SimRequest): SimEpisode {
    const p = this.routeQuery(req);
    return this.complete(p, this.policies.route.serve(p.query));
  }

  /** KPIs of every completed request so far. */
  kpiSummary(): ReturnType<KpiAccumulator['result']> {
    return this.kpis.result();
  }

  /** Share of completed requests per served route. */
  routeShares(): Record<Route, number> {
    const n = this.kpis.count;
    return {
      micro: n === 0 ? 0 : this.routeMix.micro / n,
      planner: n === 0 ? 0 : this.routeMix.planner / n,
      deep: n === 0 ? 0 : this.routeMix.deep / n,
    };
  }

  /** Number of completed requests. */
  get completed(): number {
    return this.kpis.count;
  }
}

/** The route decision's context: the request only, never an outcome. */
export function routeContext(req: SimRequest): Context {
  return {
    text: req.text,
    lang: req.lang,
    guardian_state: req.guardian,
    hour: req.hour,
    weekday: req.weekday,
    session_depth: req.sessionDepth,
    intent: req.hidden.intent,
  };
}

/**
 * A decision record; its context is built only when someone reads it. (A class with a prototype
 * getter: an object literal with its own getter closure would give every record its own hidden
 * class, which keeps whole episodes alive until the next full garbage collection.)
 */
class Record_ implements DecisionRecord {
  readonly point: DecisionPoint;
  readonly id: string;
  readonly actions: readonly string[];
  readonly action: string;
  readonly propensity: number;
  readonly probs: Record<string, number>;
  readonly policy: string;
  readonly baseline: string;
  expected: Record<string, number> | undefined;
  private readonly q: PointQuery;

  constructor(q: PointQuery, c: ServeChoice, action: string) {
    const probs: Record<string, number> = {};
    for (const a of q.actions) probs[a] = c.probs[a] ?? 0;
    this.point = q.point;
    this.id = q.id;
    this.actions = q.actions;
    this.action = action;
    this.propensity = probs[action] ?? 0;
    this.probs = probs;
    this.policy = c.policy;
    this.baseline = q.baseline;
    this.expected = undefined;
    this.q = q;
  }

  get context(): Context {
    return this.q.context;
  }
}

function record(q: PointQuery, c: ServeChoice, action: string): DecisionRecord {
  return new Record_(q, c, action);
}

/** A point query whose context, draw and oracle values are computed on first use. */
class Query implements PointQuery {
  readonly point: DecisionPoint;
  readonly id: string;
  readonly actions: readonly string[];
  readonly baseline: string;
  private readonly seed: number;
  private readonly req: SimRequest;
  private readonly values: ValueCache;
  /** The served route (cache and tool queries). */
  private readonly route: Route;
  private ctx: Context | undefined;
  private u: number | undefined;

  constructor(point: DecisionPoint, id: string, actions: readonly string[], baseline: string, seed: number, req: SimRequest, values: ValueCache, route: Route) {
    this.point = point;
    this.id = id;
    this.actions = actions;
    this.baseline = baseline;
    this.seed = seed;
    this.req = req;
    this.values = values;
    this.route = route;
    this.ctx = undefined;
    this.u = undefined;
  }

  get context(): Context {
    if (this.ctx === undefined) {
      const base = routeContext(this.req);
      if (this.point === 'cache') {
        base.route = this.route;
        base.cache_similarity = this.req.cacheSimilarity;
        base.cache_age_s = this.req.cacheAgeS;
      } else if (this.point === 'tool') base.route = this.route;
      this.ctx = base;
    }
    return this.ctx;
  }

  get draw(): number {
    return (this.u ??= drawFor(this.seed, this.id));
  }

  oracle(): Readonly<Record<string, number>> {
    const out: Record<string, number> = {};
    const v = this.values;
    if (this.point === 'route') for (const r of ROUTES) out[r] = v.bestBypass(r);
    else if (this.point === 'cache') {
      out.use = v.value({ route: this.route, cache: 'use', tool: undefined });
      out.bypass = v.bestBypass(this.route);
    } else for (const t of this.actions) out[t] = v.value({ route: this.route, cache: 'bypass', tool: t });
    return out;
  }
}

function round6(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

/** Expected rewards (the truth) of one request under various choices, memoised. */
export class ValueCache {
  private memo: Map<string, number> | undefined;
  private readonly req: SimRequest;
  private readonly rf: RewardFunction;
  constructor(req: SimRequest, rf: RewardFunction) {
    this.req = req;
    this.rf = rf;
  }

  /** Exact expected reward of the request under these choices. */
  value(c: Choices): number {
    const key = c.cache === 'use' ? 'use' : `${c.route}|${c.tool ?? ''}`;
    this.memo ??= new Map();
    let v = this.memo.get(key);
    if (v === undefined) {
      v = expectedReward(branches(this.req, c), this.rf);
      this.memo.set(key, v);
    }
    return v;
  }

  /** Best expected reward on the model path with route r (best tool when one is called). */
  bestBypass(r: Route): number {
    if (!callsTool(this.req, r, 'bypass')) return this.value({ route: r, cache: 'bypass', tool: undefined });
    let best = -Infinity;
    for (const t of TOOLS_BY_INTENT[this.req.hidden.intent]) best = Math.max(best, this.value({ route: r, cache: 'bypass', tool: t }));
    return best;
  }
}

/** Options of a whole run: a simulated production over a window of time. */
export interface RunOptions extends SimOptions {
  /** Number of requests. */
  episodes: number;
  /** End of the window (exclusive), microseconds since the epoch; no timestamp reaches it. */
  endUs: number;
  /** Window length in days. @default 7 */
  days?: number;
  /** Hour-of-day and weekday traffic pattern. @default true */
  dailyPattern?: boolean;
}

/** A prepared run: the simulator, its schedule, and its episodes in time order. */
export interface SimRun {
  sim: AliceSim;
  schedule: Schedule;
  episodes(): Generator<SimEpisode>;
}

/** Prepare a run: the same options give the same episodes, byte for byte once formatted. */
export function createRun(o: RunOptions): SimRun {
  if (!Number.isSafeInteger(o.episodes) || o.episodes < 1) throw new RangeError(`episodes must be a positive integer, got ${o.episodes}`);
  const sim = new AliceSim(o);
  const scenario = sim.scenario;
  const schedule = buildSchedule(sim.scheduleRng(), {
    n: o.episodes,
    endUs: o.endUs,
    days: o.days ?? 7,
    dailyPattern: o.dailyPattern ?? true,
    sessionPrefix: `s${o.seed.toString(36)}`,
    langOf: (rng, t) => drawLangGroup(rng, scenarioAt(scenario, t)),
  });
  return {
    sim,
    schedule,
    *episodes() {
      for (let i = 0; i < schedule.n; i++) yield sim.step(sim.request(schedule.slot(i), i, schedule.position(i)));
    },
  };
}
