/**
 * `umbra demo`: one command that shows a newcomer the whole seed strategy on this machine
 * (src/app/demo.ts does the work; this shell chooses the directory, prints and waits).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
import { kpiTable, runDemo, type DemoSummary } from '../../app/demo.js';
import { emit, note } from '../context.js';
import { globalsOf } from '../run.js';
import { parseIntFlag, parseNumberFlag } from '../flags.js';

function closing(s: DemoSummary): string {
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
    `data directory: ${s.dataDir}`,
    `dashboard:      ${s.url}/`,
    `audit log:      umbra --data-dir ${s.dataDir} rollout history   (verify: rollout verify)`,
    `status:         umbra --data-dir ${s.dataDir} rollout status`,
  ];
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
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const dataDir = g.dataDir !== undefined ? resolve(g.dataDir) : mkdtempSync(join(tmpdir(), 'umbra-demo-'));
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
        if (g.json) emit(g, summary, () => '');
        else note(closing(summary));
        if (opts.keepRunning === true && !ac.signal.aborted) {
          note(`\nkeeping the decision service up at ${server.url}/ — Ctrl-C to stop`);
          await new Promise<void>((r) => ac.signal.addEventListener('abort', () => r(), { once: true }));
        }
        await server.close();
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
