/**
 * The shadow controller's schedule under steady traffic: with the default settings it trains once
 * (the first training) and then waits for `--interval`, however fast episodes arrive (it used to
 * retrain every few seconds at 100 requests/s because three times `min_new_episodes` retrained
 * "early"); the optional early trigger respects its minimum gap; and a failing offline gate raises
 * one `gate_failed` alert per distinct failure, not one per retraining.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';
import { umbra } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';
import type { ConfigInput } from '../../src/core/config/index.js';
import type { RetrainResult } from '../../src/services/shadow/retrain.js';

const dist = (p: string): string => pathToFileURL(join(projectRoot, 'dist', 'src', p)).href;
const { runShadowController } = (await import(dist('app/shadow.js'))) as typeof import('../../src/app/shadow.js');
const { wire } = (await import(dist('app/context.js'))) as typeof import('../../src/app/context.js');
const { settingsOf } = (await import(dist('core/settings.js'))) as typeof import('../../src/core/settings.js');
const { recentAlerts } = (await import(dist('services/monitoring/alerts.js'))) as typeof import('../../src/services/monitoring/alerts.js');

/** Run a controller for `seconds` while decisions arrive at about 100/s; count retrainings and alerts. */
async function run(cfg: ConfigInput, seconds: number): Promise<{ retrains: number; gateAlerts: string[] }> {
  const dir = tempDir('umbra-sched-');
  const dataDir = join(dir, 'data');
  const src = join(dir, 'src.jsonl');
  const live = join(dir, 'live.jsonl');
  expect(umbra(['bootstrap', '--episodes', String(100 * seconds + 200), '--seed', '5', '--format', 'decisions', '--out', src]).status).toBe(0);
  const lines = readFileSync(src, 'utf8').split('\n').filter(Boolean);
  const routeLines = lines.filter((l) => l.includes('"point":"route"'));
  const other = lines.filter((l) => !l.includes('"point":"route"'));
  writeFileSync(live, `${routeLines.slice(0, 200).join('\n')}\n${other.join('\n')}\n`);
  const settings = settingsOf(cfg);
  let retrains = 0;
  const reader = wire({ settings, dataDir });
  // A stand-in for the child retrainer: instant, its gates fail for the same reason each time
  // (with different numbers), and it trained on everything stored so far.
  const retrain = async (): Promise<RetrainResult> => {
    retrains++;
    const lastSeq = (await reader.store.counts()).decisions;
    const version = `cand-sched${retrains}`;
    const lo = (0.5 + Math.random() / 10).toFixed(4);
    return { version, bundle: { version, createdAt: new Date().toISOString(), policies: {} }, episodes: lastSeq, newEpisodes: 0, lastSeq, challengers: [], chosen: 'eps-0.05', gates: { passed: false, summary: `route: HOLD: 1 of 8 gates fail — min_policy_value: lower bound ${lo} < 0.65` } };
  };
  const ac = new AbortController();
  const done = runShadowController({ settings, dataDir, telemetry: live, retrain, tickMs: 50 }, ac.signal);
  try {
    // about 100 route decisions a second
    for (let i = 0; i < seconds * 4; i++) {
      await new Promise((r) => setTimeout(r, 250));
      const chunk = routeLines.slice(200 + i * 25, 200 + (i + 1) * 25);
      if (chunk.length > 0) appendFileSync(live, `${chunk.join('\n')}\n`);
    }
  } finally {
    ac.abort();
    await done;
  }
  const alerts = (await recentAlerts(reader.store)).filter((a) => a.kind === 'gate_failed').map((a) => a.message);
  await reader.close();
  return { retrains, gateAlerts: alerts };
}

describe('the shadow controller’s retraining schedule', () => {
  it('with the defaults (interval 6 h): one first training, no retraining every few seconds, one alert', async () => {
    const r = await run({}, 6);
    expect(r.retrains).toBe(1);
    expect(r.gateAlerts).toHaveLength(1);
  }, 90_000);

  it('the optional early trigger retrains on new episodes, and the same failure alerts once', async () => {
    const r = await run({ shadow_mode: { early_retrain_episodes: 100, min_retrain_gap_minutes: 0 } }, 6);
    expect(r.retrains).toBeGreaterThanOrEqual(3);
    expect(r.gateAlerts).toHaveLength(1);
  }, 90_000);

  it('the early trigger waits out its minimum gap', async () => {
    const r = await run({ shadow_mode: { early_retrain_episodes: 100, min_retrain_gap_minutes: 30 } }, 4);
    expect(r.retrains).toBe(1);
  }, 90_000);
});
