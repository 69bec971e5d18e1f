/**
 * Bootstrap throughput: 1,000,000 episodes of the realistic Alice world written as Alice telemetry
 * (turns, /api/chat duplicates, feedback) to a file, atomically, as `umbra bootstrap` does. Each
 * run happens in a child process so its own peak RSS can be reported. In-run baselines: the world
 * alone (simulate, format nothing) and a bare loop writing the same number of bytes of ready-made
 * lines through the same buffered writer. Target (issue 3): under 20 s for 1,000,000 episodes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { median, type BenchFn } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const END_MS = Date.UTC(2025, 8, 4, 12);

interface ChildResult {
  ms: number;
  maxRssMb: number;
  lines: number;
  bytes: number;
}

/** Run one measured task in a fresh process (bootstrap, world only, or bare write). */
function inChild(task: 'bootstrap' | 'decisions' | 'world' | 'bare', n: number, out: string, bytes = 0): ChildResult {
  const boot = pathToFileURL(join(here, '..', 'src', 'services', 'jobs', 'bootstrap.js')).href;
  const writer = pathToFileURL(join(here, '..', 'src', 'platform', 'line-writer.js')).href;
  const sim = pathToFileURL(join(here, '..', 'src', 'core', 'sim', 'index.js')).href;
  const script = `
    import { runBootstrap } from ${JSON.stringify(boot)};
    import { AtomicLineWriter } from ${JSON.stringify(writer)};
    import { createRun } from ${JSON.stringify(sim)};
    import { statSync } from 'node:fs';
    const task = ${JSON.stringify(task)}, n = ${n}, out = ${JSON.stringify(out)}, bytes = ${bytes};
    const t0 = performance.now();
    let lines = 0;
    if (task === 'bootstrap' || task === 'decisions') {
      lines = runBootstrap({ episodes: n, out, seed: 1, endMs: ${END_MS}, format: task === 'decisions' ? 'decisions' : 'alice' }).lines;
    } else if (task === 'world') {
      const run = createRun({ seed: 1, episodes: n, endUs: ${END_MS} * 1000 });
      for (const ep of run.episodes()) lines++;
    } else {
      const line = JSON.stringify({ v: '1', ts: '2025-09-04T10:15:42.123456Z', trace_id: '0b6c7d1e-2f4a-4c59-9e61-7a3d2b8c9f10', input_text: 'Vad blir vädret i Göteborg imorgon?', pad: 'x'.repeat(600) });
      const w = new AtomicLineWriter(out);
      for (let b = 0; b < bytes; b += line.length + 1) { w.write(line); lines++; }
      w.close();
    }
    const ms = performance.now() - t0;
    const size = task === 'world' ? 0 : statSync(out).size;
    process.stdout.write(JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, lines, bytes: size }));
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`bench child (${task}) failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildResult;
}

export const run: BenchFn = async ({ quick }) => {
  const n = quick ? 20_000 : 1_000_000;
  const reps = quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-bootstrap-'));
  try {
    const boot: ChildResult[] = [];
    const world: ChildResult[] = [];
    const bare: ChildResult[] = [];
    for (let i = 0; i < reps; i++) {
      const out = join(dir, `alice${i}.jsonl`);
      const b = inChild('bootstrap', n, out);
      boot.push(b);
      world.push(inChild('world', n, ''));
      bare.push(inChild('bare', 0, join(dir, `bare${i}.jsonl`), statSync(out).size));
      rmSync(out, { force: true });
      rmSync(join(dir, `bare${i}.jsonl`), { force: true });
    }
    const dn = Math.max(1000, Math.floor(n / 5));
    const dec = inChild('decisions', dn, join(dir, 'decisions.jsonl'));
    const bootMs = median(boot.map((r) => r.ms));
    const worldMs = median(world.map((r) => r.ms));
    const bareMs = median(bare.map((r) => r.ms));
    const last = boot[boot.length - 1]!;
    return {
      name: 'bootstrap',
      description: `umbra bootstrap of ${n.toLocaleString('en-US')} realistic episodes as Alice telemetry (${(last.bytes / 1048576).toFixed(0)} MiB, ${last.lines.toLocaleString('en-US')} lines), written atomically; baselines: the world alone, and writing the same bytes of ready-made lines`,
      metrics: [
        { name: 'bootstrap_seconds', value: bootMs / 1000, unit: 's', better: 'lower', samples: boot.map((r) => r.ms / 1000), ...(quick ? {} : { target: 20 }) },
        { name: 'bootstrap_episodes_per_s', value: n / (bootMs / 1000), unit: 'episodes/s', better: 'higher', samples: boot.map((r) => n / (r.ms / 1000)) },
        { name: 'bootstrap_peak_rss_mb', value: median(boot.map((r) => r.maxRssMb)), unit: 'MB', better: 'lower', samples: boot.map((r) => r.maxRssMb) },
        { name: 'world_only_episodes_per_s', value: n / (worldMs / 1000), unit: 'episodes/s', better: 'higher', samples: world.map((r) => n / (r.ms / 1000)) },
        { name: 'bare_write_mib_per_s', value: last.bytes / 1048576 / (bareMs / 1000), unit: 'MiB/s', better: 'higher', samples: bare.map((r) => r.bytes / 1048576 / (r.ms / 1000)) },
        { name: 'decisions_format_episodes_per_s', value: dn / (dec.ms / 1000), unit: 'episodes/s', better: 'higher' },
      ],
      ratios: [
        { name: 'bootstrap_over_world_only', value: bootMs / worldMs, better: 'lower' },
        { name: 'bootstrap_over_bare_write', value: bootMs / bareMs, better: 'lower' },
      ],
      notes: [`${reps} runs each in child processes, medians; decisions format measured once on ${dn.toLocaleString('en-US')} episodes (${(dec.bytes / 1048576).toFixed(0)} MiB)`],
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
