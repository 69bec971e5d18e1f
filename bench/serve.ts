/**
 * The decision service over loopback HTTP: decisions per second and p50/p99 latency of
 * `POST /v1/decide` with a learned candidate in shadow, scoring ON versus OFF in the same run (the
 * in-run baseline). The server runs in this process as `umbra serve` would (store, decision log,
 * policy workers, judge); the load generator runs in its own process with keep-alive connections
 * at a fixed concurrency, speaking HTTP over plain sockets (bench/lib/loadgen.ts) so that it takes
 * as little of the 2 cores from the server as it can. Targets: ≥ 5,000 decisions/s and p99 < 5 ms with shadow ON.
 * `quick`: short phases, one repetition.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config/index.js';
import { startServer } from '../src/app/serve.js';
import { Bundles } from '../src/services/artifacts/bundles.js';
import { compileSettings } from '../src/core/settings.js';
import type { LoadResult } from './lib/loadgen.js';
import { routeBodies, runLoadgen } from './lib/route-load.js';
import { median, type BenchFn } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'main.js');

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umbra ${args.join(' ')} failed: ${r.stderr}`);
}

export const run: BenchFn = async ({ quick }) => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-serve-'));
  try {
    // A learned candidate: bootstrap log with exploration → pipeline → bundle.
    const boot = join(dir, 'boot.jsonl');
    cli(['bootstrap', '--episodes', quick ? '1500' : '4000', '--seed', '5', '--format', 'decisions', '--exploration', '0.2', '--out', boot]);
    cli(['pipeline', '--telemetry', boot, '--out', join(dir, 'pipe')]);
    const config = compileConfig({});
    const dataDir = join(dir, 'data');
    const version = Bundles.of(dataDir, config).saveFromPipeline(join(dir, 'pipe', 'manifest.json')).version;
    const pass = { passed: true, summary: 'bench' };
    {
      const s = await startServer({ settings: compileSettings(config), dataDir, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000 });
      await s.rollout.apply({ type: 'register', id: version, actor: 'bench' });
      await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'bench' });
      await s.close();
    }
    const reqBodies = routeBodies(quick ? 500 : 4000);
    const concurrency = 16;
    const reps = quick ? 1 : 3;
    const durationMs = quick ? 1000 : 5000;
    const warmupMs = quick ? 300 : 1500;
    const samples: Record<'on' | 'off', LoadResult[]> = { on: [], off: [] };
    const paced: Record<'on' | 'off', LoadResult[]> = { on: [], off: [] };
    const RATE = 5000;
    const shadowScored: number[] = [];
    for (let r = 0; r < reps; r++) {
      for (const mode of ['off', 'on'] as const) {
        const s = await startServer({ settings: compileSettings(config), dataDir, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000, shadow: mode === 'on' });
        try {
          const before = s.engine.shadow.stats.scored;
          samples[mode].push(await runLoadgen({ url: s.url, concurrency, durationMs, warmupMs, bodies: reqBodies }));
          if (mode === 'on') shadowScored.push(s.engine.shadow.stats.scored - before);
          // the target's own terms: latency at an offered 5,000 decisions/s (not at saturation)
          paced[mode].push(await runLoadgen({ url: s.url, concurrency, durationMs, warmupMs, bodies: reqBodies, rate: RATE }));
        } finally {
          await s.close();
        }
      }
    }
    const m = (mode: 'on' | 'off', f: (x: LoadResult) => number): number => median(samples[mode].map(f));
    const pm = (mode: 'on' | 'off', f: (x: LoadResult) => number): number => median(paced[mode].map(f));
    const errors = [...samples.on, ...samples.off, ...paced.on, ...paced.off].reduce((a, x) => a + x.errors, 0);
    const onRate = m('on', (x) => x.perSecond);
    const offRate = m('off', (x) => x.perSecond);
    return {
      name: 'serve',
      description: `POST /v1/decide over loopback HTTP, ${concurrency} keep-alive connections from a separate load-generator process (plain sockets, requests prepared in advance), ${durationMs / 1000} s per phase after ${warmupMs / 1000} s warm-up, ${reps} repetitions; champion = rules, a pipeline-trained candidate in shadow; decision log to SQLite on.`,
      metrics: [
        { name: `decisions/s at ${RATE}/s offered (shadow on)`, value: pm('on', (x) => x.perSecond), unit: '1/s', better: 'higher', samples: paced.on.map((x) => x.perSecond), target: RATE * 0.98 },
        { name: `p99 latency at ${RATE}/s (shadow on)`, value: pm('on', (x) => x.p99), unit: 'ms', better: 'lower', samples: paced.on.map((x) => x.p99), target: 5 },
        { name: `p50 latency at ${RATE}/s (shadow on)`, value: pm('on', (x) => x.p50), unit: 'ms', better: 'lower', samples: paced.on.map((x) => x.p50) },
        { name: `p99 latency at ${RATE}/s (shadow off)`, value: pm('off', (x) => x.p99), unit: 'ms', better: 'lower', samples: paced.off.map((x) => x.p99) },
        { name: 'max decisions/s (shadow on, back to back)', value: onRate, unit: '1/s', better: 'higher', samples: samples.on.map((x) => x.perSecond), target: 5000 },
        { name: 'p50 latency at max (shadow on)', value: m('on', (x) => x.p50), unit: 'ms', better: 'lower', samples: samples.on.map((x) => x.p50) },
        { name: 'p99 latency at max (shadow on)', value: m('on', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.on.map((x) => x.p99) },
        { name: 'max decisions/s (shadow off)', value: offRate, unit: '1/s', better: 'higher', samples: samples.off.map((x) => x.perSecond) },
        { name: 'p50 latency at max (shadow off)', value: m('off', (x) => x.p50), unit: 'ms', better: 'lower', samples: samples.off.map((x) => x.p50) },
        { name: 'p99 latency at max (shadow off)', value: m('off', (x) => x.p99), unit: 'ms', better: 'lower', samples: samples.off.map((x) => x.p99) },
        { name: 'shadow decisions scored per phase', value: median(shadowScored), unit: 'decisions', better: 'higher', samples: shadowScored },
        { name: 'non-200 answers', value: errors, unit: 'requests', better: 'lower', target: 0 },
      ],
      ratios: [
        { name: 'throughput shadow on / off', value: onRate / offRate, better: 'higher' },
        { name: `p99 shadow on / off at ${RATE}/s`, value: pm('on', (x) => x.p99) / pm('off', (x) => x.p99), better: 'lower' },
      ],
      notes: [
        `served by (last shadow-on phase): ${JSON.stringify(samples.on.at(-1)?.servedBy ?? {})}`,
        `latency at ${RATE}/s, shadow on, per repetition (p50/p90/p99/p99.9/max ms): ${paced.on.map((x) => [x.p50, x.p90, x.p99, x.p999, x.max].map((v) => v.toFixed(2)).join('/')).join('; ')}`,
        `latency at ${RATE}/s, shadow off, per repetition (p50/p90/p99/p99.9/max ms): ${paced.off.map((x) => [x.p50, x.p90, x.p99, x.p999, x.max].map((v) => v.toFixed(2)).join('/')).join('; ')}`,
      ] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
