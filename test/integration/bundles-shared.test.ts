/**
 * Replicas on several hosts share no directory: a bundle registered on one host reaches another
 * through the PostgreSQL store. Host A saves and registers a candidate and promotes it; a decision
 * service on host B (its own, empty data directory, the same store) fetches the bundle and serves it.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';
import { faultBundle, faultLoaderUrl, post, serverModule, settingsModule } from '../helpers/server.js';
import { scratchDatabase, serviceAvailable } from '../helpers/services.js';
import type { ConfigInput } from '../../src/core/config/index.js';

const up = await serviceAvailable('postgres');
const contextModule = (await import(join(projectRoot, 'dist', 'src', 'app', 'context.js'))) as typeof import('../../src/app/context.js');
const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const f of cleanups.reverse()) await f();
});

describe.skipIf(!up && process.env.CI !== 'true')('policy bundles through the shared store', () => {
  it('a replica on another host (another data directory) serves a version registered elsewhere', async () => {
    const db = await scratchDatabase();
    cleanups.push(() => db.drop());
    const hostA = mkdtempSync(join(tmpdir(), 'umbra-host-a-'));
    const hostB = mkdtempSync(join(tmpdir(), 'umbra-host-b-'));
    cleanups.push(() => rmSync(hostA, { recursive: true, force: true }), () => rmSync(hostB, { recursive: true, force: true }));
    // Generous deadlines: this test is about where the bundle comes from, not a loaded machine's latency.
    const cfg: ConfigInput = { server: { state_poll_ms: 100, decision_deadline_ms: 2000, request_deadline_ms: 4000 } };
    for (const d of [hostA, hostB]) writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    const settings = settingsModule.settingsOf(cfg);
    const saved = process.env.UMBRA_STORE_URL;
    process.env.UMBRA_STORE_URL = db.url;
    cleanups.push(() => {
      if (saved === undefined) delete process.env.UMBRA_STORE_URL;
      else process.env.UMBRA_STORE_URL = saved;
    });

    // Host A: build, publish, register and promote.
    const version = faultBundle(hostA, cfg, 'ok:deep');
    const pass = { passed: true, summary: 'test gates' };
    await contextModule.withWired({ settings, dataDir: hostA }, async (w) => {
      await w.bundles.publish(version);
      await w.rollout.apply({ type: 'register', id: version, actor: 'test' });
      await w.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
      await w.rollout.apply({ type: 'promote', gates: pass, weight: 0.05, actor: 'test' });
      await w.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    });

    // Host B: nothing on disk; the service fetches the bundle from the store and serves it.
    const s = await serverModule.startServer({ settings, dataDir: hostB, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000, loaderUrl: faultLoaderUrl });
    cleanups.push(() => s.close());
    await s.engine.refresh();
    const r = await post(`${s.url}/v1/decide`, { point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'u1' });
    expect(r.status).toBe(200);
    expect(r.body, JSON.stringify({ body: r.body, loadFailures: s.engine.loadFailures })).toMatchObject({ policyVersion: version, action: 'deep', servedBy: 'production' });
    // The copy on host B is byte for byte host A's.
    const dirA = join(hostA, 'shadow_models', version);
    const dirB = join(hostB, 'shadow_models', version);
    const files = readdirSync(dirA).sort();
    expect(readdirSync(dirB).sort()).toEqual(files);
    for (const f of files) expect(readFileSync(join(dirB, f), 'utf8'), f).toBe(readFileSync(join(dirA, f), 'utf8'));
  }, 60_000);
});
