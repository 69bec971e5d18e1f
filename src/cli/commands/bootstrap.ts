/**
 * `umbra bootstrap`: synthetic telemetry from the Alice world, before any real data exists. Parses
 * the flags, runs the bootstrap job (src/services/jobs/bootstrap.ts via the app) and prints the KPIs.
 */
import type { Command } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { SEED_BASELINE, SEED_TARGET } from '../../core/events.js';
import { BUILTIN_POLICIES, SCENARIOS, type BuiltinPolicyName } from '../../core/sim/index.js';
import { runBootstrap, type BootstrapSummary } from '../../app/jobs.js';
import { emit, interactive, loadConfig, note } from '../context.js';
import { parseEnd, parseIntFlag, parseNumberFlag, parseScenario, usage } from '../flags.js';
import { globalsOf } from '../run.js';
import { requireOutputParent } from '../../platform/fs.js';

function pct(x: number | null): string {
  return x === null ? '-' : `${(x * 100).toFixed(1)} %`;
}

function kpiText(name: string, x: number | null): string {
  if (x === null) return '-';
  if (name === 'p95LatencyMs') return `${Math.round(x)} ms`;
  if (name === 'policyValue') return x.toFixed(3);
  return pct(x);
}

/** The human summary table. */
export function summaryTable(s: BootstrapSummary, what: string): string {
  const names = ['toolPrecision', 'successRate', 'p95LatencyMs', 'cacheHitRate', 'policyValue'] as const;
  const rows = names.map((k) => [k, kpiText(k, s.kpis[k]), kpiText(k, SEED_BASELINE[k]), kpiText(k, SEED_TARGET[k])]);
  const head = ['KPI', 'value', 'seed baseline', 'seed target'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]): string => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ');
  const mix = (['micro', 'planner', 'deep'] as const).map((r) => `${r} ${pct(s.routeMix[r])}`).join('  ');
  return [what, '', fmt(head), ...rows.map(fmt), '', `route mix: ${mix}`].join('\n');
}

/** Register `umbra bootstrap`. */
export function registerBootstrap(program: Command): void {
  program
    .command('bootstrap')
    .description('write synthetic Alice telemetry with a known ground truth (the Alice world)')
    .requiredOption('--out <file>', 'output file (.json: a JSON array; anything else: JSON lines)')
    .option('--episodes <n>', 'number of requests (default: config bootstrap.episodes)')
    .option('--scenario <name>', `world scenario: ${SCENARIOS.join(', ')} (default: config bootstrap.scenario)`)
    .option('--scenarios <name>', 'the same as --scenario (the seed spells it so)')
    .option('--daily-pattern', 'follow the hour-of-day and weekday traffic weights (default: config bootstrap.daily_patterns)')
    .option('--no-daily-pattern', 'spread requests uniformly in time')
    .option('--days <d>', 'days of traffic, ending at --end (default: config sim.days)')
    .option('--seed <s>', 'seed of the world; the same seed and --end give the same bytes (default: config sim.seed)')
    .option('--exploration <e>', 'exploration floor of production: serve the rule choice with 1 - e (default: config sim.exploration)')
    .option('--policy <name>', 'who serves in simulated production: rules, oracle or random', 'rules')
    .option('--format <fmt>', 'alice (turn and feedback events) or decisions (canonical decision events)', 'alice')
    .option('--truth <file>', 'also write the expected reward of every action of every decision event')
    .option('--end <iso>', 'end of the window (default: now); no timestamp is at or after it')
    .action((opts, cmd) => {
      const g = globalsOf(cmd);
      const cfg = loadConfig(g);
      const nowMs = Date.now();
      if (opts.scenario !== undefined && opts.scenarios !== undefined && opts.scenario !== opts.scenarios) throw usage('--scenario and --scenarios disagree');
      const scenario = parseScenario(opts.scenario ?? opts.scenarios ?? cfg.bootstrap.scenario);
      const episodes = opts.episodes === undefined ? cfg.bootstrap.episodes : parseIntFlag(opts.episodes, '--episodes', 1);
      const seed = opts.seed === undefined ? cfg.sim.seed : parseIntFlag(opts.seed, '--seed');
      const days = opts.days === undefined ? cfg.sim.days : parseNumberFlag(opts.days, '--days', 1 / 24, 3660, true, 'a number of days from 1/24 (one hour) to 3660');
      const exploration = opts.exploration === undefined ? cfg.sim.exploration : parseNumberFlag(opts.exploration, '--exploration', 0, 1);
      if (!(opts.policy in BUILTIN_POLICIES)) throw usage(`unknown policy "${opts.policy}" (expected rules, oracle or random)`);
      if (opts.format !== 'alice' && opts.format !== 'decisions') throw usage(`unknown format "${opts.format}" (expected alice or decisions)`);
      const endMs = opts.end === undefined ? nowMs : parseEnd(opts.end, nowMs);
      const dailyPattern = opts.dailyPattern ?? cfg.bootstrap.daily_patterns;
      requireOutputParent(opts.out, '--out');
      if (opts.truth !== undefined) requireOutputParent(opts.truth, '--truth');
      let bar: cliProgress.SingleBar | undefined;
      let lastNote = 0;
      const onProgress = (done: number, total: number): void => {
        if (total < 100_000) return;
        if (interactive(g)) {
          if (bar === undefined) {
            bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'bootstrap [{bar}] {percentage}% | {value}/{total} episodes | eta {eta}s', hideCursor: true }, cliProgress.Presets.shades_classic);
            bar.start(total, 0);
          }
          bar.update(done);
        } else if (done - lastNote >= total / 4) {
          lastNote = done;
          note(`bootstrap: ${done}/${total} episodes`);
        }
      };
      let summary: BootstrapSummary;
      try {
        summary = runBootstrap(
          {
            episodes,
            out: opts.out,
            scenario,
            seed,
            policy: opts.policy as BuiltinPolicyName,
            exploration,
            format: opts.format,
            ...(opts.truth === undefined ? {} : { truth: opts.truth }),
            endMs,
            days,
            dailyPattern,
            cacheThreshold: cfg.sim.cache_threshold,
            duplicateRate: cfg.sim.chat_duplicate_rate,
            maxFeedbackDelay: cfg.sim.max_feedback_delay,
            reward: cfg.reward,
          },
          onProgress,
        );
      } finally {
        bar?.stop();
      }
      const what = `umbra bootstrap: ${summary.episodes} episodes (${scenario}, seed ${seed}, policy ${opts.policy}${exploration > 0 ? `, exploration ${exploration}` : ''}) -> ${opts.out} (${opts.format}, ${summary.lines} ${opts.out.endsWith('.json') ? 'records' : 'lines'})${opts.truth === undefined ? '' : `; truth -> ${opts.truth} (${summary.truthLines} lines)`}`;
      emit(g, { episodes: summary.episodes, kpis: summary.kpis, routeMix: summary.routeMix }, () => summaryTable(summary, what));
    });
}
