/**
 * `umbra demo`: one command that shows a newcomer the whole seed strategy on this machine
 * (src/app/demo.ts does the work; this shell chooses the directory, prints and waits).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { kpiTable, runDemo, type DemoSummary } from '../../app/demo.js';
import { emit, note } from '../context.js';
import { globalsOf } from '../run.js';
import { parseIntFlag, parseNumberFlag } from '../flags.js';

/** Bytes under a directory (files only; what deleting it frees). */
function sizeOf(dir: string): number {
  let total = 0;
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) total += statSync(p).size;
    }
  };
  try {
    walk(dir);
  } catch {
    /* gone meanwhile */
  }
  return total;
}

const mb = (bytes: number): string => `${(bytes / 1048576).toFixed(0)} MB`;

/** How the run ends for the data directory and the service (what the closing lines may promise). */
interface Ending {
  /** The data directory stays after the command (given with --data-dir, or --keep). */
  kept: boolean;
  /** Its size at the end. */
  bytes: number;
  /** The service stays up (--keep-running). */
  running: boolean;
}

function closing(s: DemoSummary, end: Ending): string {
  const dd = /\s/.test(s.dataDir) ? `"${s.dataDir}"` : s.dataDir;
  const lines = [
    '',
    '[6/6] KPIs (route decisions; "Umbra after learning" = what production served under the learned champion, read from the store)',
    kpiTable(s.kpis),
    s.kpiWindow > 0 ? `(${s.kpiWindow} production decisions behind the Umbra column)` : '(no production decisions under a learned champion: the Umbra column is empty)',
    '',
    `candidate ${s.candidate.version}: ${s.candidate.outcome} — ${s.candidate.why}`,
    s.bad === null ? 'bad candidate: not run' : `bad candidate ${s.bad.version}: ${s.bad.outcome} — ${s.bad.why}`,
    `traffic: ${s.traffic.requests} live requests; served by ${Object.entries(s.traffic.servedBy)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}; errors ${s.traffic.errors}${s.traffic.errors > 0 ? ` (${Object.entries(s.traffic.errorsByReason).map(([k, v]) => `${k} ${v}`).join(', ')})` : ''}`,
    `finished in ${s.seconds} s`,
    '',
  ];
  if (end.kept) {
    lines.push(`data directory: ${s.dataDir} (${mb(end.bytes)}, kept; remove it when done)`);
    lines.push(`audit log:      npx umbra --data-dir ${dd} rollout history   (verify: rollout verify)`);
    lines.push(`status:         npx umbra --data-dir ${dd} rollout status`);
    lines.push(end.running ? `dashboard:      ${s.url}/  (up until Ctrl-C)` : `dashboard:      npx umbra --data-dir ${dd} serve   (the demo's own service has stopped)`);
  } else {
    lines.push(`data directory: ${s.dataDir} (${mb(end.bytes)}, temporary: removed when the demo ends; keep it with --keep or --data-dir DIR)`);
    lines.push(end.running ? `dashboard:      ${s.url}/  (up until Ctrl-C)` : 'dashboard:      stopped with the demo (see it live with --keep-running)');
  }
  return lines.join('\n');
}

/** Register `umbra demo`. */
export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('run the whole seed strategy in a fresh data directory: bootstrap, train, shadow, canary, production, and a rollback')
    .option('--quick', 'a shortened run (fewer episodes, smaller canary minimums)')
    .option('--episodes <n>', 'bootstrap episodes (default 30000; quick 20000)')
    .option('--rate <r>', 'simulated live requests per second (default 300)')
    .option('--speed <x>', 'simulated seconds per real second of the live traffic (default 60)')
    .option('--seed <s>', 'seed of the simulated world (default 7)')
    .option('--port <port>', 'port of the decision service (default: a free one)')
    .option('--no-shadow-controller', 'do not run the shadow controller on the live telemetry')
    .option('--keep-running', 'leave the decision service and dashboard up until Ctrl-C')
    .option('--keep', 'keep the temporary data directory (a directory given with --data-dir is always kept)')
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const temporary = g.dataDir === undefined;
      const dataDir = temporary ? mkdtempSync(join(tmpdir(), 'umbra-demo-')) : resolve(g.dataDir!);
      const keep = !temporary || opts.keep === true;
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      note(`umbra demo: data directory ${dataDir}`);
      try {
        const { summary, server } = await runDemo({
          dataDir,
          quick: opts.quick === true,
          ...(opts.episodes === undefined ? {} : { episodes: parseIntFlag(opts.episodes, '--episodes', 100) }),
          ...(opts.rate === undefined ? {} : { rate: parseNumberFlag(opts.rate, '--rate', 1, 5000, true) }),
          ...(opts.speed === undefined ? {} : { speedup: parseNumberFlag(opts.speed, '--speed', 1, 1e5, true) }),
          ...(opts.seed === undefined ? {} : { seed: parseIntFlag(opts.seed, '--seed') }),
          ...(opts.port === undefined ? {} : { port: parseIntFlag(opts.port, '--port') }),
          shadowController: opts.shadowController,
          log: note,
          signal: ac.signal,
        });
        const running = opts.keepRunning === true && !ac.signal.aborted;
        const end: Ending = { kept: keep, bytes: sizeOf(dataDir), running };
        if (g.json) emit(g, { ...summary, dataDirKept: keep, dataDirBytes: end.bytes, serviceRunning: running }, () => '');
        else note(closing(summary, end));
        if (running) {
          note(`\nkeeping the decision service up at ${server.url}/ — Ctrl-C to stop`);
          await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
        }
        await server.close();
        if (running) note('the decision service has stopped');
      } finally {
        if (!keep) rmSync(dataDir, { recursive: true, force: true });
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
