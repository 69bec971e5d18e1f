/**
 * `umbra simulate`: a live writer of Alice telemetry, for shadow mode and the demo, optionally
 * asking a running decision service for every route. Parses the flags, runs the simulation job
 * (src/services/jobs/simulate.ts via the app) and prints what it did.
 */
import type { Command } from '@commander-js/extra-typings';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { runSimulate, type SimulateSummary } from '../../app/jobs.js';
import { emit, loadConfig, note } from '../context.js';
import { parseIntFlag, parseNumberFlag, parseScenario } from '../flags.js';
import { globalsOf } from '../run.js';

function summaryText(s: SimulateSummary, file: string): string {
  const k = s.kpis;
  const pct = (x: number | null): string => (x === null ? '-' : `${(x * 100).toFixed(1)} %`);
  const served = Object.entries(s.servedBy)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  const errs = Object.entries(s.errorsByReason)
    .map(([a, n]) => `${a} ${n}`)
    .join(', ');
  return [
    `umbra simulate: ${s.requests} requests (${s.from} .. ${s.to}) -> ${file} (${s.lines} lines)`,
    `served by: ${served}`,
    `errors: ${s.errors}${errs === '' ? '' : ` (${errs})`}`,
    `KPIs: tool precision ${pct(k.toolPrecision)}, success ${pct(k.successRate)}, p95 ${k.p95LatencyMs === null ? '-' : `${Math.round(k.p95LatencyMs)} ms`}, cache hits ${pct(k.cacheHitRate)}, policy value ${k.policyValue === null ? '-' : k.policyValue.toFixed(3)}`,
  ].join('\n');
}

/** Register `umbra simulate`. */
export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('append live Alice telemetry at a steady rate, optionally asking a decision service')
    .requiredOption('--telemetry <file>', 'telemetry file to append to (JSON lines)')
    .option('--rate <r>', 'requests per second (default: config sim.rate)')
    .option('--duration <s>', 'seconds to run (default: config sim.duration_s)')
    .option('--speedup <x>', 'simulated seconds per real second; the simulated clock ends at now (default: config sim.speedup)')
    .option('--server <url>', 'decision service to ask for every route decision (POST /v1/decide, /v1/outcome)')
    .option('--seed <s>', 'seed of the world (default: config sim.seed)')
    .option('--scenario <name>', 'world scenario (default: config bootstrap.scenario)')
    .option('--exploration <e>', 'exploration floor of the local rules (default: config sim.exploration)')
    .option('--timeout-ms <ms>', 'hard timeout of a decide call (default: config sim.decide_timeout_ms)')
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const cfg = loadConfig(g);
      const rate = opts.rate === undefined ? cfg.sim.rate : parseNumberFlag(opts.rate, '--rate', 1e-6, 100_000, true);
      const durationS = opts.duration === undefined ? cfg.sim.duration_s : parseNumberFlag(opts.duration, '--duration', 1e-3, 366 * 86400, true);
      const speedup = opts.speedup === undefined ? cfg.sim.speedup : parseNumberFlag(opts.speedup, '--speedup', 1e-3, 1e6, true);
      const seed = opts.seed === undefined ? cfg.sim.seed : parseIntFlag(opts.seed, '--seed');
      const scenario = parseScenario(opts.scenario ?? cfg.bootstrap.scenario);
      const exploration = opts.exploration === undefined ? cfg.sim.exploration : parseNumberFlag(opts.exploration, '--exploration', 0, 1);
      const timeoutMs = opts.timeoutMs === undefined ? cfg.sim.decide_timeout_ms : parseIntFlag(opts.timeoutMs, '--timeout-ms', 1);
      if (opts.server !== undefined && !/^https?:\/\/[^\s]+$/.test(opts.server)) throw new UmbraError(ErrorCode.USAGE, `--server must be an http(s) URL, got "${opts.server}"`);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      note(`simulate: ${rate} req/s for ${durationS} s${speedup !== 1 ? ` (x${speedup} simulated time)` : ''} -> ${opts.telemetry}${opts.server === undefined ? '' : ` asking ${opts.server}`}`);
      try {
        const s = await runSimulate({
          telemetry: opts.telemetry,
          rate,
          durationS,
          speedup,
          ...(opts.server === undefined ? {} : { server: opts.server }),
          seed,
          scenario,
          exploration,
          timeoutMs,
          maxInFlight: cfg.sim.max_in_flight,
          cacheThreshold: cfg.sim.cache_threshold,
          duplicateRate: cfg.sim.chat_duplicate_rate,
          maxFeedbackDelay: cfg.sim.max_feedback_delay,
          reward: cfg.reward,
          signal: ac.signal,
        });
        emit(g, { requests: s.requests, servedBy: s.servedBy, errors: s.errors, errorsByReason: s.errorsByReason, kpis: s.kpis, lines: s.lines, from: s.from, to: s.to }, () => summaryText(s, opts.telemetry));
      } finally {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
      }
    });
}
