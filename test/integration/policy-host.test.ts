import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from '../helpers/shared-data.js';
import type { PolicyHost as PolicyHostT } from '../../src/services/policy-host/host.js';

// The host spawns a worker from compiled JS, so the test uses the build.
const { PolicyHost } = (await import(pathToFileURL(join(projectRoot, 'dist', 'src', 'services', 'policy-host', 'host.js')).href)) as typeof import('../../src/services/policy-host/host.js');
const loaderUrl = pathToFileURL(join(projectRoot, 'test', 'fixtures', 'fault-loader.mjs')).href;
const req = { id: 'r1', context: { lang: 'sv' }, actions: ['micro', 'planner', 'deep'], baseline: 'micro' };

let host: PolicyHostT | undefined;
afterEach(async () => {
  await host?.close();
  host = undefined;
});

describe('PolicyHost', () => {
  it('decides with a loaded policy and reports its version', async () => {
    host = new PolicyHost({ loaderUrl, deadlineMs: 200 });
    expect(await host.load('champion', 'ok:deep')).toBe('fixture-ok:deep');
    const d = await host.decide('champion', req);
    expect(d.action).toBe('deep');
    expect(d.probs).toEqual({ micro: 0, planner: 0, deep: 1 });
  });
  it('rejects with E_POLICY_NOT_FOUND for an empty slot and E_ARTIFACT_INVALID for a failing load', async () => {
    host = new PolicyHost({ loaderUrl, deadlineMs: 200 });
    await expect(host.decide('nope', req)).rejects.toMatchObject({ code: 'E_POLICY_NOT_FOUND' });
    await expect(host.load('x', 'loadfail')).rejects.toMatchObject({ code: 'E_ARTIFACT_INVALID' });
  });
  it('turns a throwing policy into a typed error, and keeps serving', async () => {
    host = new PolicyHost({ loaderUrl, deadlineMs: 200 });
    await host.load('bad', 'throw');
    await host.load('good', 'ok:planner');
    await expect(host.decide('bad', req)).rejects.toMatchObject({ code: 'E_INTERNAL' });
    expect((await host.decide('good', req)).action).toBe('planner');
  });
  it('meets the deadline when a policy hangs, then replaces the stuck worker and reloads its slots', async () => {
    host = new PolicyHost({ loaderUrl, deadlineMs: 30, maxConsecutiveTimeouts: 2 });
    await host.load('hang', 'hang');
    await host.load('good', 'ok:deep');
    const t0 = Date.now();
    const results = await Promise.allSettled([host.decide('hang', req), host.decide('good', req)]);
    expect(Date.now() - t0).toBeLessThan(2000); // both settled; the bound only guards against a stuck test
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
    // replaced once it has also been silent for stuckMs (a worker that is merely slow keeps its place)
    for (let i = 0; i < 100 && host.stats.restarts === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(host.stats.restarts).toBe(1);
    // After the restart, the good slot serves again (reloaded into the new worker).
    let ok = false;
    for (let i = 0; i < 50 && !ok; i++) {
      try {
        ok = (await host.decide('good', req, 200)).action === 'deep';
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
    expect(ok).toBe(true);
  });
});
