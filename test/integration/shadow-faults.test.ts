/**
 * A shadow candidate that throws or never returns: ingestion and production data are unaffected
 * (every line of the telemetry is stored exactly as a controller-free ingestion stores it) and the
 * failure is visible in the controller's published status.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';
import { faultBundle, faultLoaderUrl } from '../helpers/server.js';
import { umbra } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dist = (p: string): string => pathToFileURL(join(projectRoot, 'dist', 'src', p)).href;
const { readControllerState } = (await import(dist('services/shadow/controller.js'))) as typeof import('../../src/services/shadow/controller.js');
const { runShadowController } = (await import(dist('app/shadow.js'))) as typeof import('../../src/app/shadow.js');
const { wire } = (await import(dist('app/context.js'))) as typeof import('../../src/app/context.js');
const { settingsOf } = (await import(dist('core/settings.js'))) as typeof import('../../src/core/settings.js');

const pass = { passed: true, summary: 'test' };

describe.each(['throw', 'hang'])('shadow candidate that does %s', (behaviour) => {
  it('leaves ingestion and production data untouched and shows the failure in status', async () => {
    const dir = tempDir('umbra-shfault-');
    const dataDir = join(dir, 'data');
    const live = join(dir, 'live.jsonl');
    expect(umbra(['bootstrap', '--episodes', '800', '--seed', '9', '--end', '2026-01-01T00:00:00Z', '--out', live]).status).toBe(0);
    const settings = settingsOf({ shadow_mode: { time_budget_ms: 20 }, training: { min_episodes: 100000 } });
    // the failing candidate is in shadow before the controller starts
    const version = faultBundle(dataDir, {}, behaviour);
    {
      const w = wire({ settings, dataDir });
      await w.rollout.apply({ type: 'register', id: version, actor: 'test' });
      await w.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
      await w.close();
    }
    const ac = new AbortController();
    const running = runShadowController({ settings, dataDir, telemetry: live, loaderUrl: faultLoaderUrl, minEpisodes: 100000, intervalHours: 1000, tickMs: 100 }, ac.signal);
    const reader = wire({ settings, dataDir });
    const store = reader.store;
    try {
      let st = await readControllerState(store);
      for (let i = 0; i < 600 && !((st?.shadow.errors ?? 0) + (st?.shadow.timeouts ?? 0) + (st?.shadow.shed ?? 0) >= 800 && st?.ingest.bytesDone === st?.ingest.bytesTotal && (st?.ingest.bytesTotal ?? 0) > 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        st = await readControllerState(store);
      }
      expect(st?.running).toBe(true);
      const failures = (st?.shadow.errors ?? 0) + (st?.shadow.timeouts ?? 0);
      expect(failures).toBeGreaterThan(0);
      // every route decision (the candidate's only point) was either failed by the candidate or shed by the CPU share: none scored, none lost silently
      expect(failures + (st?.shadow.shed ?? 0) + (st?.shadow.dropped ?? 0)).toBe((await store.counts()).byPoint.route);
      expect(st?.shadow.scored).toBe(0);
      if (behaviour === 'throw') expect(st?.shadow.errors).toBeGreaterThan(0);
      else expect(st?.shadow.timeouts).toBeGreaterThan(0);
      // production data: identical to a plain ingestion of the same file
      const plainDir = join(dir, 'plain');
      const plain = JSON.parse(umbra(['--data-dir', plainDir, 'ingest', '--telemetry', live, '--json']).stdout) as { eventsStored: number };
      const counts = await store.counts();
      expect(counts.decisions).toBe(plain.eventsStored);
      expect(counts.quarantined).toBe(0);
    } finally {
      ac.abort();
      await running;
      await reader.close();
    }
    // the failure is visible from another process too
    const status = JSON.parse(umbra(['--data-dir', dataDir, 'shadow', 'status', '--json']).stdout) as { shadowErrors: number; shadowTimeouts: number; running: boolean };
    expect(status.running).toBe(false);
    expect(status.shadowErrors + status.shadowTimeouts).toBeGreaterThan(0);
    if (behaviour === 'throw') {
      // a candidate failing in the shadow raises an alert, visible to monitor from any process
      const mon = JSON.parse(umbra(['--data-dir', dataDir, 'monitor', '--once', '--json']).stdout) as { alerts: { kind: string; message: string }[] };
      expect(mon.alerts.map((a) => a.kind)).toContain('shadow_failure');
    }
  }, 120_000);
});
