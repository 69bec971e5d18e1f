/**
 * The automatic rollout against the real decision service with the simulator as Alice: a learned
 * candidate goes shadow → canary → production on its own, a candidate that lowers success is
 * rolled back with an alert, a trickle of traffic holds instead of rolling back, and a sample-ratio
 * mismatch pauses. Thresholds are set so a canary is decidable in seconds; every assertion reads
 * the audit log and the store, never printed text.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSimulate } from '../../src/services/jobs/simulate.js';
import { assignSlice } from '../../src/core/rollout/bucketing.js';
import type { FetchLike } from '../../src/client/index.js';
import type { ConfigInput } from '../../src/core/config/index.js';
import type { RunningServer } from '../../src/app/serve.js';
import { umbra } from '../helpers/cli.js';
import { bundlesModule, configModule, faultBundle, faultLoaderUrl, post, startTestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import { projectRoot } from '../helpers/shared-data.js';

const shadowStatsModule = (await import(pathToFileURL(join(projectRoot, 'dist', 'src', 'services', 'shadow', 'stats.js')).href)) as typeof import('../../src/services/shadow/stats.js');

type Server = RunningServer & { dataDir: string };
const pass = { passed: true, summary: 'test gates' };
let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Thresholds that make a canary decidable from a few hundred decisions per slice. */
const FAST: ConfigInput = {
  shadow_mode: { time_budget_ms: 100 },
  server: { state_poll_ms: 100, log_flush_ms: 20, decision_deadline_ms: 100, request_deadline_ms: 300 },
  rollout: {
    shadow_min_duration_s: 0,
    shadow_min_decisions: 50,
    canary_weight: 0.3,
    canary_min_decisions_per_slice: 200,
    min_outcomes_per_check: 100,
    noninferiority_margin: 0.08,
    srm_min_decisions: 200,
    guardrails: { p95_latency_ms: { floor_abs: 10_000 }, cost_per_request: { floor_abs: 1 } },
  },
};

/** A config loose enough that `umbra pipeline`'s offline gates pass on a small bootstrap log. */
const LOOSE_GATES = {
  promotion_criteria: { min_improvement_pct: -100, min_policy_value: 0, max_success_drop: 1, min_ess: 0, max_support_deficit: 1, min_episodes: 0 },
  ope: { gate_interval: 'normal' },
};

let pipelineManifest = '';
beforeAll(() => {
  const dir = tempDir('umbra-rsim-');
  const cfg = join(dir, 'config.json');
  writeFileSync(cfg, JSON.stringify(LOOSE_GATES));
  const boot = join(dir, 'boot.jsonl');
  const b = umbra(['bootstrap', '--episodes', '4000', '--seed', '5', '--format', 'decisions', '--exploration', '0.2', '--out', boot]);
  expect(b.status, b.stderr).toBe(0);
  const p = umbra(['pipeline', '--config', cfg, '--telemetry', boot, '--out', join(dir, 'pipe')]);
  expect(p.status, p.stderr).toBe(0);
  pipelineManifest = join(dir, 'pipe', 'manifest.json');
});

/** Drive simulated Alice traffic through the server until `stop` says so (or the time is up). */
async function drive(s: Server, o: { seed: number; seconds: number; rate?: number; stop?: () => Promise<boolean> }): Promise<void> {
  const ac = new AbortController();
  const watcher = (async () => {
    while (!ac.signal.aborted) {
      if (o.stop && (await o.stop())) ac.abort();
      await new Promise((r) => setTimeout(r, 150));
    }
  })();
  const telemetry = join(s.dataDir, `sim-${o.seed}.jsonl`);
  try {
    await runSimulate({ telemetry, server: s.url, rate: o.rate ?? 300, durationS: o.seconds, speedup: 60, seed: o.seed, timeoutMs: 1000, maxInFlight: 16, signal: ac.signal, fetch: perRequestKeys });
  } finally {
    ac.abort();
    await watcher;
  }
}

/**
 * A short simulated run has few users with many requests each, and the sample-ratio check counts
 * decisions: whole users landing in one slice would look like a mismatch. Making each request its
 * own sticky unit keeps the units independent, which is what the check assumes.
 */
const perRequestKeys: FetchLike = (input, init) => {
  if (!input.endsWith('/v1/decide')) return fetch(input, init);
  const b = JSON.parse(init.body) as { id?: string; stickyKey?: string };
  if (b.id !== undefined) b.stickyKey = `${b.stickyKey ?? ''}/${b.id}`;
  return fetch(input, { ...init, body: JSON.stringify(b) });
};

const stageOf = async (s: Server): Promise<string> => (await s.rollout.status()).stage;

describe('automatic rollout with the simulator', () => {
  it('a learned candidate goes shadow → canary → production on its own', async () => {
    // Deterministic: no judge timer and an injected clock. Traffic comes in rounds of a fixed number
    // of requests; after each round the log and the shadow are drained, the clock moves a minute and
    // the autopilot ticks once. Deadlines are generous so that a loaded machine slows the test down
    // but cannot turn answers into timeouts, and so never changes what the judge sees.
    let clock = Date.UTC(2026, 0, 5, 12);
    const steady: ConfigInput = {
      ...FAST,
      shadow_mode: { time_budget_ms: 5000 },
      server: { ...FAST.server, decision_deadline_ms: 5000, request_deadline_ms: 10_000, shadow_cpu_share: 1 },
    };
    server = await startTestServer(steady, { now: () => clock });
    const s = server;
    const v = bundlesModule.Bundles.of(s.dataDir, configModule.compileConfig(steady)).saveFromPipeline(pipelineManifest).version;
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await s.engine.refresh();
    const telemetry = join(s.dataDir, 'sim-21.jsonl');
    for (let round = 0; round < 40 && (await s.rollout.state()).champion !== v; round++) {
      clock += 1;
      const r = await runSimulate({ telemetry, server: s.url, rate: 4000, durationS: 0.1, seed: 21 + round * 7919, nowMs: clock, timeoutMs: 20_000, maxInFlight: 8, fetch: perRequestKeys });
      expect(r.errors, JSON.stringify(r.errorsByReason)).toBe(0);
      await s.engine.shadow.drain();
      await s.engine.flush();
      await shadowStatsModule.writeShadowStats(s.store, 'serve', s.engine.shadow.stats.byCandidate);
      clock += 60_000;
      await s.controller.tick();
      await s.engine.refresh();
    }
    const hist = await s.rollout.history();
    const moves = hist.filter((r) => r.version === v).map((r) => `${r.from ?? '-'}→${r.to}:${r.trigger}`);
    const gates = JSON.stringify((await s.store.getState('rollout.shadow_gates'))?.value ?? null).slice(0, 1500);
    expect(moves, gates).toContain('shadow→canary:auto');
    // the offline gates were read from the bundle's per-point evaluation that `umbra pipeline` wrote
    const toCanary = hist.find((r) => r.version === v && r.to === 'canary')!;
    expect(JSON.stringify(toCanary.evaluation)).toContain('offline gates passed at cache, route, tool');
    expect(moves).toContain('canary→production:auto');
    expect((await s.rollout.state()).champion, JSON.stringify(hist.slice(-3))).toBe(v);
    const judged = (await s.store.getState('rollout.judge'))?.value as { verdict: { action: string; checks: { name: string; n: { canary: number; control: number } }[] } };
    expect(judged.verdict.action).toBe('promote');
    const min = judged.verdict.checks.find((c) => c.name === 'minimum')!;
    expect(Math.min(min.n.canary, min.n.control)).toBeGreaterThanOrEqual(200);
    // the decision log holds both slices of the canary, tagged with the candidate's version
    await s.engine.flush();
    let canary = 0;
    let control = 0;
    for await (const d of s.store.decisions({})) {
      if (d.event.policy?.startsWith(`umbra:canary:served:${v}#`)) canary++;
      else if (d.event.policy?.startsWith('umbra:control:')) control++;
    }
    expect(canary).toBeGreaterThanOrEqual(200);
    expect(control).toBeGreaterThanOrEqual(200);
  }, 60_000);

  it('a candidate that lowers success is rolled back automatically, with a rolled_back alert', async () => {
    // Deadlines no loaded machine misses: the rollback must come from success, not from the timeout breaker.
    const patient: ConfigInput = { ...FAST, server: { ...FAST.server, decision_deadline_ms: 5000, request_deadline_ms: 10_000 } };
    server = await startTestServer(patient, { loaderUrl: faultLoaderUrl, checkIntervalMs: 300 });
    const s = server;
    const v = faultBundle(s.dataDir, patient, 'ok:micro'); // always the smallest model: fails what needs planning
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await s.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    await s.engine.refresh();
    await drive(s, { seed: 22, seconds: 30, stop: async () => (await stageOf(s)) !== 'canary' });
    const hist = await s.rollout.history();
    const rb = hist.find((r) => r.event === 'rollback' && r.version === v);
    expect(rb, JSON.stringify(hist.slice(-2))).toBeDefined();
    expect(rb!.trigger).toBe('auto');
    expect(rb!.reason).toMatch(/guardrail\.success_rate|primary/);
    expect((await s.rollout.state()).champion).toBe('baseline');
    await s.alerter.drain();
    const alerts = (await (await fetch(`${s.url}/api/dashboard`)).json()) as { alerts: { kind: string }[] };
    expect(alerts.alerts.some((a) => a.kind === 'rolled_back')).toBe(true);
    // one rollback, one critical alert (the service raises it; the judge does not raise a second)
    expect(s.alerter.latest(100).filter((a) => a.kind === 'rolled_back')).toHaveLength(1);
  }, 60_000);

  it('a trickle of traffic holds with INSUFFICIENT_DATA and never rolls back', async () => {
    server = await startTestServer(FAST, { loaderUrl: faultLoaderUrl });
    const s = server;
    const v = faultBundle(s.dataDir, FAST, 'ok:micro');
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await s.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    await s.engine.refresh();
    for (let i = 0; i < 12; i++) {
      const r = await post(`${s.url}/v1/decide`, { context: { text: 'vad är klockan' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: `u${i}`, id: `t${i}` });
      await post(`${s.url}/v1/outcome`, { id: r.body.id, outcome: { success: false, latency_ms: 900 } });
    }
    await s.engine.flush();
    for (let k = 0; k < 6; k++) {
      const t = await s.controller.tick();
      expect(t.verdict?.action, t.verdict?.reason).toBe('hold');
      expect(t.verdict!.checks.find((c) => c.name === 'minimum')!.outcome).toBe('INSUFFICIENT_DATA');
    }
    expect(await stageOf(s)).toBe('canary');
    expect((await s.rollout.history()).some((r) => r.event === 'rollback')).toBe(false);
  }, 30_000);

  it('an induced sample-ratio mismatch pauses the canary', async () => {
    server = await startTestServer(FAST, { loaderUrl: faultLoaderUrl });
    const s = server;
    const v = faultBundle(s.dataDir, FAST, 'ok:planner'); // the same choice as the rules: only the split is wrong
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await s.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    await s.engine.refresh();
    // A broken caller loses three quarters of the control slice's users (their requests never
    // reach Umbra); the canary keeps all of its users. Units (sticky keys), not requests, are compared.
    const weight = 0.3;
    let sent = 0;
    for (let i = 0; sent < 900; i++) {
      const key = `k${i}`;
      const slice = assignSlice(key, { salt: v, canaryWeight: weight });
      const copies = slice === 'control' && i % 4 !== 0 ? 0 : 1 + (i % 3); // users send 1-3 requests each
      for (let c = 0; c < copies; c++) {
        const r = await post(`${s.url}/v1/decide`, { context: { text: 'hej' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: key });
        expect([slice, 'fallback']).toContain(r.body.servedBy);
        sent++;
      }
    }
    await s.engine.flush();
    const t = await s.controller.tick();
    expect(t.verdict?.action, t.verdict?.reason).toBe('pause');
    expect(t.verdict!.checks.find((c) => c.name === 'srm')!.outcome).toBe('FAIL');
    const st = await s.rollout.state();
    expect(st.versions[v]?.stage).toBe('paused');
    const hist = await s.rollout.history();
    expect(hist.some((r) => r.event === 'pause' && r.trigger === 'auto' && r.version === v)).toBe(true);
    expect(hist.some((r) => r.event === 'rollback')).toBe(false);
  }, 30_000);
});
