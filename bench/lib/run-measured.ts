/**
 * Run a command as a child process the way a user runs it and measure it from outside: wall time,
 * and the peak resident set size of the process tree's main process (its threads included), read
 * from `process.resourceUsage().maxRSS` by a preloaded hook that writes it to a file at exit.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** What one measured run gave. */
export interface Measured {
  wallS: number;
  peakRssMb: number;
  status: number;
  stdout: string;
  stderr: string;
}

const HOOK = `process.on('exit', () => { try { require('node:fs').writeFileSync(process.env.UMBRA_BENCH_RSS_FILE, String(process.resourceUsage().maxRSS)); } catch {} });\n`;

/** Run `node <args>` (a script and its arguments) and measure it. */
export function runMeasured(args: readonly string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Measured {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-run-'));
  try {
    const hook = join(dir, 'rss-hook.cjs');
    const rssFile = join(dir, 'rss');
    writeFileSync(hook, HOOK);
    const t0 = performance.now();
    const r = spawnSync(process.execPath, ['--require', hook, ...args], {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env, UMBRA_BENCH_RSS_FILE: rssFile },
      encoding: 'utf8',
      maxBuffer: 64 << 20,
      timeout: opts.timeoutMs ?? 600_000,
    });
    const wallS = (performance.now() - t0) / 1000;
    let peakRssMb = NaN;
    try {
      peakRssMb = Number(readFileSync(rssFile, 'utf8')) / 1024;
    } catch {
      /* the process died before its exit hook */
    }
    return { wallS, peakRssMb, status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
