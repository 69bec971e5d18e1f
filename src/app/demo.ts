/**
 * `umbra demo`: the whole seed strategy in one run on this machine, so a newcomer can watch it
 * happen — bootstrap data with an exploration floor, conservative training with its offline
 * evaluation, the decision service with a shadow candidate on simulated live traffic, automatic
 * shadow → canary → production, then a deliberately bad candidate and its automatic rollback.
 * Every promotion here is made by the real gates and the real canary judge on real statistics;
 * the demo only chooses settings that make the statistics arrive quickly (documented in
 * `demoConfig`), and reports truthfully when a gate holds a candidate back.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { FetchLike } from '../client/index.js';
import type { ConfigInput } from '../core/config/index.js';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { KPI_NAMES, SEED_BASELINE, SEED_TARGET, type Kpis } from '../core/events.js';
import { inFlight, type AuditRecord } from '../core/rollout/index.js';
import { settingsOf, withConfig, type Settings } from '../core/settings.js';
import { KpiAccumulator } from '../core/telemetry/kpis.js';
import { writeJsonAtomic } from '../platform/fs.js';
import { writePolicyArtifact } from '../services/artifacts/artifacts.js';
import { Bundles } from '../services/artifacts/bundles.js';
import { runBootstrap } from '../services/jobs/bootstrap.js';
import { runPipeline } from '../services/jobs/pipeline.js';
import { runSimulate, type SimulateSummary } from '../services/jobs/simulate.js';
import { readEpisodes } from '../services/learning/episodes.js';
import type { CompactEvaluation } from '../services/learning/evaluate.js';
import { trainPoint } from '../services/learning/trainer.js';
import { runAction } from '../services/rollout/manual.js';
import { registerBundle } from '../services/rollout/register.js';
import { parseServedTag } from '../services/rollout/served-tag.js';
import { StateKey } from '../services/state-keys.js';
import { startServer, type RunningServer } from './serve.js';
import { runShadowController } from './shadow.js';

/** How a demo run is sized. */
export interface DemoOptions {
  /** Fresh (absent or empty) directory for the store, bundles and files. */
  dataDir: string;
  /** Shortened run (integration test): fewer episodes, smaller canary minimums. @default false */
  quick?: boolean;
  /** Bootstrap episodes. @default 30000 (quick: 20000) */
  episodes?: number;
  /** Simulated live requests per real second. @default 300 */
  rate?: number;
  /** Simulated seconds per real second of the live traffic. @default 60 */
  speedup?: number;
  /** Seed of the bootstrap world and the live traffic. @default 7 */
  seed?: number;
  /** Port of the decision service (0 = a free one). @default 0 */
  port?: number;
  /** Run the shadow controller on the live telemetry file. @default true */
  shadowController?: boolean;
  /** Human progress lines. */
  log?: (msg: string) => void;
  /** Stops the run early (Ctrl-C). */
  signal?: AbortSignal;
}

/** One rollout transition as the demo saw it. */
export interface DemoTransition {
  ts: string;
  event: string;
  version: string | null;
  from: string | null;
  to: string | null;
  actor: string;
  trigger: string;
  reason: string;
}

/** A KPI row of the final table. */
export interface DemoKpiRow {
  name: (typeof KPI_NAMES)[number];
  seedBaseline: number;
  rules: number | null;
  umbra: number | null;
  seedTarget: number;
}

/** What a demo run did (`umbra demo --json`). */
export interface DemoSummary {
  dataDir: string;
  url: string;
  seconds: number;
  bootstrap: { episodes: number; file: string; kpis: Kpis };
  offline: Record<string, CompactEvaluation>;
  candidate: { version: string; outcome: 'production' | 'rolled_back' | 'held'; why: string };
  bad: { version: string; outcome: 'rolled_back' | 'not_rolled_back'; why: string } | null;
  transitions: DemoTransition[];
  traffic: { requests: number; servedBy: Record<string, number>; errors: number; errorsByReason: Record<string, number> };
  kpis: DemoKpiRow[];
  /** Production-served route decisions behind the `umbra` column. */
  kpiWindow: number;
}

/** A finished run; `server` is still listening so `--keep-running` can leave it up. */
export interface DemoRun {
  summary: DemoSummary;
  server: RunningServer;
}

/**
 * The demo's config: `examples/config_conservative.json` semantics (conservative LinUCB on the
 * route and cache, Beta-TS per intent for tools) plus settings that let the real gates decide in
 * seconds instead of days. What is relaxed and why:
 * - `shadow_min_duration_s` 2 and `shadow_min_decisions` a few hundred: a shadow hour becomes seconds;
 * - `canary_min_decisions_per_slice` a few hundred with `canary_min_rule: any`: the canary may end
 *   once both slices hold that many decisions (the judge still needs every check to pass);
 * - `noninferiority_margin` 0.05: with a few hundred outcomes per slice the reward interval is
 *   about ±0.04 wide, so the production default of 0.01 could never be shown in a minute;
 * - `check_interval_s` is replaced by a 500 ms judging interval (`checkIntervalMs`).
 * The canary weight stays at the production 5 % and rollbacks stay automatic.
 */
export function demoConfig(quick: boolean): ConfigInput {
  return {
    reward: { preset: 'balanced' },
    features: {
      dim: 128,
      text_keys: ['text'],
      bins: { cache_similarity: 10, cache_age_s: 8 },
      interactions: [
        ['intent', 'cache_age_s'],
        ['intent', 'cache_similarity'],
        ['cache_similarity', 'cache_age_s'],
      ],
    },
    policies: {
      default: { algorithm: 'linucb', alpha: 0.1, lambda: 2, epsilon: 0.02, seed: 7, conservative: { enabled: true, compare: 'upper', z: 1, margin: 0.02, explore: 0.02 } },
      points: { route: { algorithm: 'linucb' }, tool: { algorithm: 'beta_ts', group_by: 'intent', conservative: { z: 2 } }, cache: { algorithm: 'linucb' } },
    },
    training: { validation_fraction: 0.2, seed: 42, min_episodes: 50 },
    // The candidate's lower bound must still reach production's value (min_improvement_pct 0
    // instead of the seed's 5 %, and no absolute 0.65 floor): tens of thousands of episodes with a
    // 5 % floor cannot prove a 5 % gain; the canary judge is the second, live test.
    promotion_criteria: { min_improvement_pct: 0, min_policy_value: 0.5, max_success_drop: 0.05, min_episodes: 0 },
    ope: { gate_interval: 'normal' },
    // Everything shares two cores in one process: deadlines that a busy event loop can meet (a
    // policy worker also loads new candidates while it answers, and three missed deadlines in a
    // row restart it, which would cancel that load).
    server: { exploration_floor: 0.05, state_poll_ms: 100, log_flush_ms: 20, decision_deadline_ms: 300, request_deadline_ms: 600 },
    shadow_mode: { time_budget_ms: 100 },
    rollout: {
      mode: 'auto',
      canary_weight: 0.05,
      shadow_min_duration_s: 2,
      shadow_min_decisions: quick ? 200 : 400,
      canary_min_decisions_per_slice: quick ? 250 : 500,
      canary_min_rule: 'any',
      min_outcomes_per_check: 100,
      noninferiority_margin: quick ? 0.1 : 0.05,
      // A learned router buys success with the bigger models: allow its tail latency and cost to
      // rise by half (the production defaults, 10 %, would roll back any such trade).
      guardrails: { p95_latency_ms: { floor_rel: 0.5 }, cost_per_request: { floor_rel: 0.5 } },
      srm_min_decisions: 200,
      retry_cooldown_s: 0,
    },
  } as ConfigInput;
}

/**
 * A demo-length run has few simulated users with many requests each; bucketing whole users into a
 * 5 % slice would give the sample-ratio check lumpy counts. Each request becomes its own sticky
 * unit, which is what that check assumes (production keeps user-level stickiness).
 */
function perRequestKeys(answered: { n: number }): FetchLike {
  return async (input, init) => {
    if (!input.endsWith('/v1/decide')) return fetch(input, init);
    const b = JSON.parse(init.body) as { id?: string; stickyKey?: string };
    if (b.id !== undefined) b.stickyKey = `${b.stickyKey ?? ''}/${b.id}`;
    const r = await fetch(input, { ...init, body: JSON.stringify(b) });
    answered.n++;
    return r;
  };
}

/**
 * How long a phase waits for its verdict. The judge needs decisions, not seconds: a phase ends at
 * its nominal length only once the traffic has also delivered what that length delivers at the
 * nominal rate, so a loaded machine (fewer requests per second) waits longer, up to a hard cap.
 */
export class PhaseBudget {
  private readonly t0 = Date.now();
  private readonly n0: number;
  private readonly answered: { n: number };
  private readonly nominalMs: number;
  private readonly decisions: number;
  private readonly capMs: number;

  constructor(answered: { n: number }, nominalMs: number, decisions: number, capMs: number) {
    this.answered = answered;
    this.nominalMs = nominalMs;
    this.decisions = decisions;
    this.capMs = capMs;
    this.n0 = answered.n;
  }

  spent(now = Date.now()): boolean {
    const ms = now - this.t0;
    if (ms >= this.capMs) return true;
    return ms >= this.nominalMs && this.answered.n - this.n0 >= this.decisions;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '-' : `${(x * 100).toFixed(1)} %`;
}

function kpiText(name: string, x: number | null): string {
  if (x === null) return '-';
  if (name === 'p95LatencyMs') return `${Math.round(x)} ms`;
  if (name === 'policyValue') return x.toFixed(3);
  return pct(x);
}

/** The KPI table as text. */
export function kpiTable(rows: readonly DemoKpiRow[]): string {
  const head = ['KPI', 'seed baseline', 'rules (bootstrap)', 'Umbra after learning', 'seed target'];
  const body = rows.map((r) => [r.name, kpiText(r.name, r.seedBaseline), kpiText(r.name, r.rules), kpiText(r.name, r.umbra), kpiText(r.name, r.seedTarget)]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function assertFresh(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    throw new UmbraError(ErrorCode.USAGE, `the demo needs a fresh data directory, and ${dir} is not empty: give --data-dir a new or empty folder (or leave it out for a temporary one)`);
  }
  mkdirSync(dir, { recursive: true });
}

function fmtEval(point: string, e: CompactEvaluation): string {
  const ests = Object.entries(e.estimates)
    .filter(([, v]) => v.value !== null)
    .map(([k, v]) => `${k} ${v.value!.toFixed(3)}${v.ci ? ` [${v.ci[0].toFixed(3)}, ${v.ci[1].toFixed(3)}]` : ''}`)
    .join(', ');
  const gate = e.gates === null ? 'no gate report' : `${e.gates.pass ? 'PASS' : 'FAIL'} (${e.gates.summary})`;
  return `  ${point}: n=${e.n}, logger ${e.loggerValue.toFixed(3)}; ${ests}\n    gates: ${gate}`;
}

/** Run the demo to its end; the caller closes `server` (or keeps it up). */
export async function runDemo(o: DemoOptions): Promise<DemoRun> {
  const t0 = Date.now();
  const log = o.log ?? (() => undefined);
  const quick = o.quick ?? false;
  const seed = o.seed ?? 7;
  const dataDir = o.dataDir;
  assertFresh(dataDir);
  const cfgInput = demoConfig(quick);
  const settings = settingsOf(cfgInput, 'demo config');
  const config = settings.config;
  // Written so that `umbra --data-dir DIR ...` in another terminal sees the same settings.
  writeJsonAtomic(join(dataDir, 'config.json'), cfgInput);
  const aborted = (): boolean => o.signal?.aborted === true;

  // 1. Bootstrap.
  const episodes = o.episodes ?? (quick ? 20_000 : 30_000);
  const bootFile = join(dataDir, 'bootstrap.jsonl');
  log(`[1/6] bootstrap: ${episodes} episodes of simulated Alice traffic served by the rules with a 5 % exploration floor (seed ${seed})`);
  const boot = runBootstrap({ episodes, out: bootFile, format: 'decisions', exploration: 0.05, seed, reward: config.reward });
  log(`      ${boot.lines} decision lines -> ${bootFile}; rules: success ${pct(boot.kpis.successRate)}, tool precision ${pct(boot.kpis.toolPrecision)}, policy value ${boot.kpis.policyValue?.toFixed(3) ?? '-'}`);

  // 2. Train conservative policies and evaluate them off-policy.
  log('[2/6] training conservative policies (LinUCB route/cache, Beta-TS tools) and evaluating them off-policy');
  const pipeOut = join(dataDir, 'pipeline');
  const pipe = await runPipeline({ telemetry: bootFile, settings, out: pipeOut });
  const offline = pipe.evaluation ?? {};
  for (const [p, e] of Object.entries(offline)) log(fmtEval(p, e));
  // The candidate takes over the route decision (what the KPI table reads); tools and cache keep
  // their rules, whose logs hold too little exploration for their gates in a demo-sized run.
  const routeFile = pipe.policies?.route;
  const routeEval = offline.route;
  if (routeFile === undefined || routeEval === undefined) throw new UmbraError(ErrorCode.NO_DATA, 'the pipeline trained no route policy');
  const bundle = Bundles.of(dataDir, config).save({ route: join(pipeOut, routeFile) }, { evaluation: { route: routeEval }, origin: 'demo-bootstrap' });
  const offlinePass = routeEval.gates === null || routeEval.gates.pass;
  log(`      packaged as ${bundle.version}; offline gates ${offlinePass ? 'passed' : 'did NOT pass (the shadow gate will hold it)'}`);

  // 3. Serve, register the candidate, shadow.
  log('[3/6] starting the decision service with the candidate in the shadow');
  const server = await startServer({ settings, dataDir, port: o.port ?? 0, host: '127.0.0.1', checkIntervalMs: 500 });
  const transitions: DemoTransition[] = [];
  let seen = 0;
  const pollTransitions = async (): Promise<AuditRecord[]> => {
    const h = await server.rollout.history();
    const fresh = h.slice(seen);
    seen = h.length;
    for (const r of fresh) {
      if (r.event === 'init') continue;
      const t: DemoTransition = { ts: r.ts, event: r.event, version: r.version, from: r.from, to: r.to, actor: r.actor, trigger: r.trigger, reason: r.reason };
      transitions.push(t);
      log(`      rollout: ${t.event} ${t.version ?? '-'} ${t.from ?? '-'} -> ${t.to ?? '-'} by ${t.actor} (${t.trigger}): ${t.reason}`);
    }
    return fresh;
  };
  let simSummary: SimulateSummary | undefined;
  let shadowCtl: Promise<void> | undefined;
  const live = new AbortController();
  const ctlStop = new AbortController();
  // The controller's wait loop adds one listener per tick to its signal; a private signal with no
  // listener cap keeps Node's leak warning out of the demo's output.
  setMaxListeners(0, ctlStop.signal);
  live.signal.addEventListener('abort', () => ctlStop.abort(), { once: true });
  const stopLive = (): void => live.abort();
  o.signal?.addEventListener('abort', stopLive, { once: true });
  try {
    log(`      dashboard: ${server.url}/  (API ${server.url}/v1/status)`);
    await registerBundle(server, bundle, { actor: 'demo', reason: 'trained on the bootstrap data (conservative config)' });
    await server.engine.refresh();
    await pollTransitions();

    const telemetry = join(dataDir, 'live.jsonl');
    const rate = o.rate ?? 300;
    const answered = { n: 0 };
    const speedup = o.speedup ?? 60;
    if (o.shadowController ?? true) {
      // Follows the telemetry file the traffic writes; retraining is left to its schedule (hours),
      // so the demo's candidate is the bootstrap-trained one and the controller scores it live.
      shadowCtl = runShadowController({ settings, dataDir, telemetry, intervalHours: 24, minEpisodes: 10_000_000, log: (m) => log(`      shadow controller: ${m}`) }, ctlStop.signal).catch((e: unknown) => log(`      shadow controller stopped: ${(e as Error).message}`));
    }
    log(`[4/6] live traffic: ${rate} req/s through ${server.url}/v1/decide, x${speedup} simulated clock, telemetry -> ${telemetry}`);
    // The traffic must outlast every phase that needs it (each phase may stretch to four times its
    // nominal length on a loaded machine, and training the bad candidate takes a while too); it is
    // stopped explicitly once the last phase ends.
    const phaseMs = quick ? 50_000 : 90_000;
    const badMs = quick ? 40_000 : 35_000;
    const traffic = runSimulate({ telemetry, rate, durationS: (4 * (phaseMs + badMs)) / 1000 + 300, speedup, server: server.url, seed: seed + 1, exploration: 0.05, timeoutMs: 1000, maxInFlight: 16, reward: config.reward, signal: live.signal, fetch: perRequestKeys(answered) }).then(
      (s) => {
        simSummary = s;
      },
      // Awaited only at the end: a failure must not become an unhandled rejection meanwhile.
      (e: unknown) => log(`      live traffic stopped: ${(e as Error).message}`),
    );

    // 4. Wait for shadow → canary → production (or a rollback, or a hold until the budget ends).
    const budget = new PhaseBudget(answered, phaseMs, (rate * phaseMs) / 1000, 4 * phaseMs);
    let outcome: DemoSummary['candidate']['outcome'] = 'held';
    let why = 'the gates did not pass within the demo budget';
    let promotedAt: string | null = null;
    while (!aborted() && !budget.spent()) {
      await sleep(250);
      for (const r of await pollTransitions()) {
        if (r.version !== bundle.version) continue;
        if (r.to === 'production') {
          outcome = 'production';
          why = r.reason;
          promotedAt = r.ts;
        } else if (r.event === 'rollback') {
          outcome = 'rolled_back';
          why = r.reason;
        }
      }
      if (outcome !== 'held') break;
    }
    if (outcome === 'held') {
      const st = await server.rollout.state();
      const cand = inFlight(st);
      const gates = (await server.store.getState(StateKey.SHADOW_GATES))?.value as { report?: { summary?: string } } | undefined;
      const judge = (await server.store.getState(StateKey.JUDGE))?.value as { verdict?: { reason?: string } } | undefined;
      why = cand?.stage === 'canary' ? `canary not promoted yet: ${judge?.verdict?.reason ?? 'no verdict'}` : `still in ${cand?.stage ?? 'none'}: ${gates?.report?.summary ?? 'no gate report'}`;
      log(`      the candidate was NOT promoted: ${why}`);
    } else log(`      candidate ${bundle.version}: ${outcome === 'production' ? 'promoted to production by the canary judge' : 'rolled back by the canary judge'}`);

    // Production traffic under the learned champion, for the KPI table.
    if (outcome === 'production') await sleep(quick ? 3000 : 8000);
    const kpiFrom = promotedAt;

    // 5. A deliberately bad candidate.
    let bad: DemoSummary['bad'] = null;
    if (!aborted()) {
      log('[5/6] a deliberately bad candidate: a route policy trained on inverted rewards (it prefers what failed)');
      const cur = inFlight(await server.rollout.state());
      if (cur !== null) {
        await server.rollout.apply({ type: 'abort', actor: 'demo', trigger: 'manual', reason: `demo: make room for the bad candidate (${cur.id} was still in ${cur.stage})` });
        await pollTransitions();
      }
      const badVersion = await registerBadCandidate(settings, dataDir, bootFile, server);
      await pollTransitions();
      await runAction('promote', { store: server.store, rollout: server.rollout, settings, bundles: server.bundles, actor: 'demo', force: true, reason: 'demo: show the automatic rollback of a bad candidate' });
      await pollTransitions();
      log('      forced into the 5 % canary (recorded in the audit log); the judge watches canary vs control');
      const badBudget = new PhaseBudget(answered, badMs, (rate * badMs) / 1000, 4 * badMs);
      bad = { version: badVersion, outcome: 'not_rolled_back', why: 'the judge did not roll it back within the demo budget' };
      while (!aborted() && !badBudget.spent()) {
        await sleep(250);
        const done = (await pollTransitions()).find((r) => r.version === badVersion && r.event === 'rollback');
        if (done) {
          bad = { version: badVersion, outcome: 'rolled_back', why: done.reason };
          break;
        }
      }
      log(bad.outcome === 'rolled_back' ? `      verdict: ROLLED BACK automatically: ${bad.why}` : `      verdict: ${bad.why}`);
    }

    live.abort();
    await traffic;
    await shadowCtl;
    await pollTransitions();

    // 6. KPIs.
    const { kpis: umbraKpis, n } = await productionKpis(server, kpiFrom, bundle.version);
    const rows: DemoKpiRow[] = KPI_NAMES.map((k) => ({ name: k, seedBaseline: SEED_BASELINE[k], rules: boot.kpis[k], umbra: umbraKpis === null ? null : umbraKpis[k], seedTarget: SEED_TARGET[k] }));
    const s = simSummary;
    const summary: DemoSummary = {
      dataDir,
      url: server.url,
      seconds: Math.round((Date.now() - t0) / 100) / 10,
      bootstrap: { episodes: boot.episodes, file: bootFile, kpis: boot.kpis },
      offline,
      candidate: { version: bundle.version, outcome, why },
      bad,
      transitions,
      traffic: { requests: s?.requests ?? 0, servedBy: s?.servedBy ?? {}, errors: s?.errors ?? 0, errorsByReason: s?.errorsByReason ?? {} },
      kpis: rows,
      kpiWindow: n,
    };
    return { summary, server };
  } catch (e) {
    live.abort();
    await server.close().catch(() => undefined);
    throw e;
  } finally {
    o.signal?.removeEventListener('abort', stopLive);
  }
}

/** Train the route policy on inverted rewards and register it as a shadow candidate. */
async function registerBadCandidate(settings: Settings, dataDir: string, bootFile: string, server: RunningServer): Promise<string> {
  // No conservative fallback and no epsilon: the policy acts on what it learned, which is wrong.
  const badConfig = withConfig(settings, (config) => ({ ...config, policies: { ...config.policies, default: { ...config.policies.default, conservative: { ...config.policies.default.conservative, enabled: false }, epsilon: 0 }, points: {} } }));
  const read = await readEpisodes(bootFile, badConfig);
  const route = read.episodes.filter((e) => e.point === 'route').map((e) => ({ ...e, reward: 1 - e.reward }));
  if (route.length === 0) throw new UmbraError(ErrorCode.NO_DATA, 'no route episodes in the bootstrap data');
  const trained = trainPoint('route', route, badConfig, { demo: 'trained on inverted rewards' });
  const dir = join(dataDir, 'bad-candidate');
  mkdirSync(dir, { recursive: true });
  const { path } = writePolicyArtifact(dir, trained.artifact);
  const m = server.bundles.save({ route: path }, { origin: 'demo-bad', prefix: 'bad', evaluation: { gates: { passed: false, summary: 'trained on inverted rewards on purpose' } } });
  await registerBundle(server, m, { actor: 'demo', reason: 'deliberately bad: trained on inverted rewards' });
  await server.engine.refresh();
  return m.version;
}

/** KPIs of the route decisions production served under the learned champion (from the store). */
async function productionKpis(server: RunningServer, from: string | null, champion: string): Promise<{ kpis: Kpis | null; n: number }> {
  if (from === null) return { kpis: null, n: 0 };
  const reward = server.settings.reward;
  const acc = new KpiAccumulator(reward);
  let n = 0;
  for await (const ep of server.store.episodes({ point: 'route', from, now: Date.now(), reward })) {
    const t = parseServedTag(ep.event.policy);
    if (t === undefined || t.slice !== 'production' || t.version !== champion || ep.defaulted) continue;
    acc.add({ outcome: ep.event.outcome ?? {}, reward: ep.reward });
    n++;
  }
  return { kpis: n === 0 ? null : acc.result().kpis, n };
}
