/**
 * The decision service as a user runs it: `umbra serve` in a child process with a learned champion
 * serving (bootstrap → pipeline → registered → shadow → canary → production) and the decision log
 * on, a bare fastify route answering the same JSON in another child process (the in-run baseline),
 * and the load generator in a third (bench/lib/loadgen.ts, plain sockets, requests prepared in
 * advance). Measures:
 *
 * - open-loop latency at 1,000, 3,000 and 5,000 decisions/s, from each request's scheduled time
 *   (targets: p99 < 5 ms and p99.9 < 20 ms at 1,000/s; p99 < 10 ms at 3,000/s; p99 < 3 ms at 5,000/s);
 * - the event loop's delay inside the server during each phase (`umbra_event_loop_delay_seconds`);
 * - decisions/s at 16 keep-alive connections back to back, beside the bare route (target ≥ 0.6×);
 * - the acknowledgement journal's cost: the same open-loop phases with `server.journal: "off"`;
 * - deadline fallbacks of `umbra simulate --server` at 100 requests/s against the idle service with
 *   its 50 ms client timeout (target: none).
 *
 * Phases alternate between the servers and repeat (medians reported), since the machine is shared.
 * `quick`: short phases, one repetition.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config/index.js';
import { startServer } from '../src/app/serve.js';
import { Bundles } from '../src/services/artifacts/bundles.js';
import { compileSettings } from '../src/core/settings.js';
import type { LoadResult } from './lib/loadgen.js';
import { routeBodies, runLoadgen } from './lib/route-load.js';
import { median, type BenchFn, type BenchMetric } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'main.js');
const BARE = join(here, 'lib', 'bare-server.js');

function cli(args: string[]): string {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`umbra ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Start a child that prints `listening <url>` (on stdout or stderr); resolves with the URL. */
function startChild(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`did not start: ${text}`)), 60_000);
    const on = (d: Buffer): void => {
      text += d.toString('utf8');
      const m = /listening (?:on )?(http:\/\/[^\s]+)/.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1]! });
      }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.on('exit', (code) => reject(new Error(`exited ${code}: ${text}`)));
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const exited = new Promise<void>((r) => c.once('exit', () => r()));
  c.kill('SIGTERM');
  const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(t);
}

/** The event-loop delay quantiles the server saw since the previous scrape, in ms. */
async function loopDelay(url: string): Promise<{ p99: number; max: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const get = (q: string): number => Number(new RegExp(`umbra_event_loop_delay_seconds\\{quantile="${q.replace('.', '\\.')}"\\} (\\S+)`).exec(text)?.[1] ?? NaN) * 1000;
  return { p99: get('0.99'), max: get('max') };
}

export const run: BenchFn = async ({ quick }) => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-decide-'));
  const children: ChildProcess[] = [];
  try {
    // A learned champion: bootstrap log with exploration → pipeline → bundle → production.
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
      await s.rollout.apply({ type: 'promote', gates: pass, actor: 'bench' });
      await s.rollout.apply({ type: 'promote', gates: pass, actor: 'bench' });
      await s.close();
    }
    const noJournal = join(dir, 'no-journal.json');
    writeFileSync(noJournal, JSON.stringify({ server: { journal: 'off' } }));
    const reqBodies = routeBodies(quick ? 500 : 4000);
    const reps = quick ? 1 : 3;
    const durationMs = quick ? 1500 : 5000;
    const warmupMs = quick ? 500 : 1500;
    const RATES = [1000, 3000, 5000] as const;

    const serve = await startChild([CLI, '--data-dir', dataDir, 'serve', '--port', '0']);
    children.push(serve.child);
    const bare = await startChild([BARE]);
    children.push(bare.child);
    await runLoadgen({ url: serve.url, concurrency: 16, durationMs: 1000, warmupMs: 1000, bodies: reqBodies }); // JIT warm-up
    await runLoadgen({ url: bare.url, concurrency: 16, durationMs: 1000, warmupMs: 1000, bodies: reqBodies });

    const closed: Record<'serve' | 'bare', LoadResult[]> = { serve: [], bare: [] };
    const open: Record<number, LoadResult[]> = {};
    const delay: Record<number, { p99: number; max: number }[]> = {};
    for (let r = 0; r < reps; r++) {
      closed.serve.push(await runLoadgen({ url: serve.url, concurrency: 16, durationMs, warmupMs, bodies: reqBodies }));
      closed.bare.push(await runLoadgen({ url: bare.url, concurrency: 16, durationMs, warmupMs, bodies: reqBodies }));
      for (const rate of RATES) {
        await loopDelay(serve.url); // reset the window
        (open[rate] ??= []).push(await runLoadgen({ url: serve.url, concurrency: 16, durationMs, warmupMs, bodies: reqBodies, rate, open: true }));
        (delay[rate] ??= []).push(await loopDelay(serve.url));
      }
    }
    // Idle service, the issue's own terms: `umbra simulate --server` at 100/s with a 50 ms client timeout.
    const simOut = cli(['--json', '--data-dir', join(dir, 'sim'), 'simulate', '--telemetry', join(dir, 'sim.jsonl'), '--rate', '100', '--duration', quick ? '5' : '15', '--server', serve.url, '--timeout-ms', '50']);
    const sim = JSON.parse(simOut) as { requests: number; errorsByReason: Record<string, number> };
    const simFallbacks = Object.entries(sim.errorsByReason).filter(([k]) => k.startsWith('decide_')).reduce((a, [, v]) => a + v, 0);
    await stop(serve.child);

    // The journal's cost: the same open-loop phases with the journal off.
    const serveOff = await startChild([CLI, '--data-dir', dataDir, '--config', noJournal, 'serve', '--port', '0']);
    children.push(serveOff.child);
    await runLoadgen({ url: serveOff.url, concurrency: 16, durationMs: 1000, warmupMs: 1000, bodies: reqBodies });
    const off: Record<number, LoadResult[]> = {};
    for (let r = 0; r < reps; r++) for (const rate of [1000, 5000]) (off[rate] ??= []).push(await runLoadgen({ url: serveOff.url, concurrency: 16, durationMs, warmupMs, bodies: reqBodies, rate, open: true }));
    await stop(serveOff.child);
    await stop(bare.child);

    const med = (xs: LoadResult[], f: (x: LoadResult) => number): number => median(xs.map(f));
    const serveRate = med(closed.serve, (x) => x.perSecond);
    const bareRate = med(closed.bare, (x) => x.perSecond);
    const TARGET_P99: Record<number, number> = { 1000: 5, 3000: 10, 5000: 3 };
    const metrics: BenchMetric[] = [];
    for (const rate of RATES) {
      const xs = open[rate]!;
      metrics.push({ name: `p99 at ${rate}/s open loop`, value: med(xs, (x) => x.p99), unit: 'ms', better: 'lower', samples: xs.map((x) => x.p99), target: TARGET_P99[rate]! });
      metrics.push({ name: `p99.9 at ${rate}/s open loop`, value: med(xs, (x) => x.p999), unit: 'ms', better: 'lower', samples: xs.map((x) => x.p999), ...(rate === 1000 ? { target: 20 } : {}) });
      metrics.push({ name: `p50 at ${rate}/s open loop`, value: med(xs, (x) => x.p50), unit: 'ms', better: 'lower', samples: xs.map((x) => x.p50) });
      metrics.push({ name: `answered/s at ${rate}/s offered`, value: med(xs, (x) => x.perSecond), unit: '1/s', better: 'higher', samples: xs.map((x) => x.perSecond), target: rate * 0.98 });
      metrics.push({ name: `event-loop delay max at ${rate}/s`, value: median(delay[rate]!.map((d) => d.max)), unit: 'ms', better: 'lower', samples: delay[rate]!.map((d) => d.max) });
    }
    for (const rate of [1000, 5000]) metrics.push({ name: `p99 at ${rate}/s open loop, journal off`, value: med(off[rate]!, (x) => x.p99), unit: 'ms', better: 'lower', samples: off[rate]!.map((x) => x.p99) });
    metrics.push(
      { name: 'decisions/s, 16 connections back to back (umbra serve)', value: serveRate, unit: '1/s', better: 'higher', samples: closed.serve.map((x) => x.perSecond) },
      { name: 'answers/s, 16 connections back to back (bare fastify)', value: bareRate, unit: '1/s', better: 'higher', samples: closed.bare.map((x) => x.perSecond) },
      { name: 'p99 at 16 connections back to back (umbra serve)', value: med(closed.serve, (x) => x.p99), unit: 'ms', better: 'lower', samples: closed.serve.map((x) => x.p99) },
      { name: 'p99 at 16 connections back to back (bare fastify)', value: med(closed.bare, (x) => x.p99), unit: 'ms', better: 'lower', samples: closed.bare.map((x) => x.p99) },
      { name: `deadline fallbacks of umbra simulate --server at 100/s (${sim.requests} requests, 50 ms timeout)`, value: simFallbacks, unit: 'requests', better: 'lower', target: 0 },
      { name: 'non-200 answers', value: [...closed.serve, ...Object.values(open).flat(), ...Object.values(off).flat()].reduce((a, x) => a + x.errors, 0), unit: 'requests', better: 'lower', target: 0 },
    );
    return {
      name: 'decide',
      description: `POST /v1/decide against \`umbra serve\` in a child process (learned champion in production, decision log and acknowledgement journal on) beside a bare fastify route in another child process; load generator in a third process. Open loop: requests sent at their scheduled times on as many keep-alive connections as needed, latency from the scheduled time. ${durationMs / 1000} s per phase after ${warmupMs / 1000} s warm-up, ${reps} repetitions, phases alternating.`,
      metrics,
      ratios: [
        { name: 'decisions/s umbra serve / bare fastify (16 connections)', value: serveRate / bareRate, better: 'higher', target: 0.6 },
        { name: 'p99 at 1000/s journal on / off', value: med(open[1000]!, (x) => x.p99) / med(off[1000]!, (x) => x.p99), better: 'lower' },
        { name: 'p99 at 5000/s journal on / off', value: med(open[5000]!, (x) => x.p99) / med(off[5000]!, (x) => x.p99), better: 'lower' },
      ],
      notes: [
        ...RATES.map((rate) => `open loop ${rate}/s per repetition (p50/p99/p99.9/max ms, connections): ${open[rate]!.map((x) => `${[x.p50, x.p99, x.p999, x.max].map((v) => v.toFixed(2)).join('/')} (${x.connections})`).join('; ')}`),
        `served by (last 1000/s phase): ${JSON.stringify(open[1000]!.at(-1)?.servedBy ?? {})}`,
        `umbra simulate at 100/s: ${JSON.stringify(sim.errorsByReason)}`,
      ] };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
};
