/**
 * Drift watch on a learned champion in production, fed by the simulator through the decision
 * service: the `drift` scenario (a harder mix of requests from the middle of the run on) raises a
 * `drift` alert within a bounded number of production events, seen by the dashboard endpoint and
 * by `umbra monitor --once --json` in another process; a stationary run raises none.
 */
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runSimulate } from '../../src/services/jobs/simulate.js';
import type { ConfigInput } from '../../src/core/config/index.js';
import type { ScenarioName } from '../../src/core/sim/index.js';
import type { RunningServer } from '../../src/app/serve.js';
import { umbra } from '../helpers/cli.js';
import { bundlesModule, configModule, startTestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';

type Server = RunningServer & { dataDir: string };
const pass = { passed: true, summary: 'test gates' };
let server: Server | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/**
 * The simulated clock (hour and weekday are request context): fixed, so that the champion sees the
 * same requests, and the detector the same reward stream, whenever the test runs.
 */
const NOW_MS = Number(process.env.DRIFT_NOW ?? Date.UTC(2025, 8, 4, 12, 0, 0));
/** Events per run; the scenario switches regime at the half. */
const EVENTS = 2400;
/**
 * Page-Hinkley set to catch the drift scenario's drop within 1,000 events while the stationary run
 * of the same length stays quiet, with margin: over the reward streams at four simulated times
 * (01:00, 06:00, 12:00 and 20:00 UTC), δ = 0.02, λ = 12 alarmed 429–467 events after the change
 * and never on the stationary streams, where δ = 0.01 (the earlier setting) alarmed on three of
 * them near their end — the test then passed or failed with the hour it ran at.
 */
const CFG: ConfigInput = {
  // Deadlines far above any answer time, even with the whole suite running: a fallback (the rules'
  // action served instead of the champion's) would change the reward stream the detector is tuned to.
  server: { decision_deadline_ms: 3000, request_deadline_ms: 4000, log_flush_ms: 20 },
  rollout: { drift: { detector: 'page_hinkley', delta: 0.02, lambda: 12, min_samples: 100, direction: 'down' } },
};

let manifest = '';
beforeAll(() => {
  const dir = tempDir('umbra-drift-');
  const boot = join(dir, 'boot.jsonl');
  // A fixed end of the traffic window: the hour and weekday of every logged context, hence the
  // trained champion and the reward stream the detector sees, are then the same on every run.
  expect(umbra(['bootstrap', '--episodes', '3000', '--seed', '8', '--format', 'decisions', '--exploration', '0.2', '--end', new Date(NOW_MS).toISOString(), '--out', boot]).status).toBe(0);
  const r = umbra(['pipeline', '--telemetry', boot, '--out', join(dir, 'pipe')]);
  expect(r.status, r.stderr).toBe(0);
  manifest = join(dir, 'pipe', 'manifest.json');
});

/** A server whose champion is the learned bundle, then `EVENTS` simulated requests of `scenario`. */
async function runScenario(scenario: ScenarioName, seed: number): Promise<{ s: Server; drifts: { n: number }[] }> {
  server = await startTestServer(CFG, { checkIntervalMs: 250 });
  const s = server;
  const v = bundlesModule.Bundles.of(s.dataDir, configModule.compileConfig(CFG)).saveFromPipeline(manifest).version;
  for (const cmd of [{ type: 'register', id: v }, { type: 'start_shadow', gates: pass }, { type: 'promote', gates: pass }, { type: 'promote', gates: pass }] as const) await s.rollout.apply({ ...cmd, actor: 'test' });
  await s.engine.refresh();
  expect((await s.rollout.state()).champion).toBe(v);
  // Keep what the controller hands the alerter: the detector's count of events at the alarm.
  const drifts: { n: number }[] = [];
  const raise = s.alerter.raise.bind(s.alerter);
  s.alerter.raise = (kind, severity, message, details) => {
    if (kind === 'drift') drifts.push(details as { n: number });
    return raise(kind, severity, message, details);
  };
  const summary = await runSimulate({ telemetry: join(s.dataDir, 'sim.jsonl'), server: s.url, rate: 2000, durationS: EVENTS / 2000, speedup: 1, seed, scenario, timeoutMs: 8000, maxInFlight: 1, nowMs: NOW_MS }); // one request at a time: the detector sees the same ordered stream on every run
  expect(summary.requests).toBe(EVENTS);
  expect(summary.servedBy.production ?? 0).toBeGreaterThan(EVENTS * 0.95);
  await s.engine.flush();
  await s.controller.tick(); // the last rewards reach the detector
  await s.alerter.drain();
  const st = (await s.store.getState('rollout.drift'))?.value as { monitor: { events: number } | null } | undefined;
  expect(st?.monitor?.events ?? 0, 'the detector saw the production stream').toBeGreaterThan(EVENTS * 0.9);
  return { s, drifts };
}

interface Snapshot {
  alerts: { kind: string; message: string; ts: string }[];
}

describe('drift on the production reward stream', () => {
  it('the drift scenario raises a drift alert within a bounded number of events', async () => {
    const { s, drifts } = await runScenario('drift', 31);
    expect(drifts.length).toBeGreaterThan(0);
    // the first alarm came after the regime change (half-way) and within 1,000 events of it
    expect(drifts[0]!.n).toBeGreaterThan(EVENTS / 2);
    expect(drifts[0]!.n).toBeLessThanOrEqual(EVENTS / 2 + 1000);
    const snap = (await (await fetch(`${s.url}/api/dashboard`)).json()) as Snapshot;
    const drift = snap.alerts.filter((a) => a.kind === 'drift');
    expect(drift.length, JSON.stringify(snap.alerts)).toBeGreaterThan(0);
    // another process sees it too
    const mon = umbra(['--data-dir', s.dataDir, 'monitor', '--once', '--json']);
    expect(mon.status, mon.stderr).toBe(0);
    const m = JSON.parse(mon.stdout) as Snapshot;
    expect(m.alerts.some((a) => a.kind === 'drift')).toBe(true);
  }, 90_000);

  it('a stationary run raises none', async () => {
    const { s, drifts } = await runScenario('realistic', 32);
    expect(drifts).toEqual([]);
    const snap = (await (await fetch(`${s.url}/api/dashboard`)).json()) as Snapshot;
    expect(snap.alerts.filter((a) => a.kind === 'drift')).toEqual([]);
    const mon = umbra(['--data-dir', s.dataDir, 'monitor', '--once', '--json']);
    expect((JSON.parse(mon.stdout) as Snapshot).alerts.some((a) => a.kind === 'drift')).toBe(false);
  }, 90_000);
});
