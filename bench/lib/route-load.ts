/**
 * What the decision-service benches share: realistic route request bodies from the simulator, and
 * the load generator run as its own process (`loadgen.ts`), answering with its measurements.
 */
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AliceSim, LiveSessions, drawLangGroup, scenarioAt } from '../../src/core/sim/index.js';
import { Rng } from '../../src/core/rng.js';
import type { LoadResult, LoadSpec } from './loadgen.js';

const LOADGEN = join(dirname(fileURLToPath(import.meta.url)), 'loadgen.js');

/** Realistic route requests from the simulator (raw text included, as Alice sends them). */
export function routeBodies(n: number): string[] {
  const sim = new AliceSim({ seed: 7, scenario: 'realistic', exploration: 0, cacheThreshold: 0.9 });
  const sessions = new LiveSessions(new Rng(7, 3), 'bench', Math.max(20, n / 15), (rng, t) => drawLangGroup(rng, scenarioAt('realistic', t)));
  const out: string[] = [];
  const t0 = Date.UTC(2026, 0, 1) * 1000;
  for (let k = 0; k < n; k++) {
    const req = sim.request(sessions.next(t0 + k * 1e6, k / n), k, k / n);
    const p = sim.routeQuery(req);
    const q = p.query;
    out.push(JSON.stringify({ point: 'route', context: q.context, actions: q.actions, baselineAction: q.baseline, stickyKey: req.userId }));
    sim.complete(p, sim.policies.route.serve(q));
  }
  return out;
}

/** Run the load generator in its own process on `spec`; its measurements. */
export function runLoadgen(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [LOADGEN], { stdio: ['pipe', 'pipe', 'inherit'] });
    c.stdin.end(JSON.stringify(spec));
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    c.on('error', reject);
    c.on('close', (code) => {
      if (code !== 0) reject(new Error(`load generator exited ${code}`));
      else resolve(JSON.parse(out.trim()) as LoadResult);
    });
  });
}
