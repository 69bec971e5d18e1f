/**
 * `umbra bootstrap`: synthetic telemetry from the Alice world, before any real data exists. Writes
 * Alice's own turn and feedback events (default) or canonical decision events, optionally the
 * ground truth of every decision, atomically and byte-identically for a seed; prints the KPIs.
 * `runBootstrap` is the same run without the command line (the benchmark uses it).
 */
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import type { Command } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { SEED_BASELINE, SEED_TARGET, type Kpis } from '../../core/events.js';
import { compileReward } from '../../core/reward.js';
import {
  AliceStream,
  BUILTIN_POLICIES,
  SCENARIOS,
  createRun,
  decisionLines,
  truthLines,
  type BuiltinPolicyName,
  type Route,
  type ScenarioName,
} from '../../core/sim/index.js';
import { emit, interactive, loadConfig, note } from '../context.js';
import { globalsOf } from '../run.js';

/** Everything a bootstrap run needs. */
export interface BootstrapRunOptions {
  episodes: number;
  out: string;
  /** @default "realistic" */
  scenario?: ScenarioName;
  seed?: number;
  /** Who serves in simulated production. @default "rules" */
  policy?: BuiltinPolicyName;
  /** @default 0 */
  exploration?: number;
  /** @default "alice" */
  format?: 'alice' | 'decisions';
  /** Write the truth of every decision event here. */
  truth?: string;
  /** Exclusive end of the window in ms since the epoch. @default now */
  endMs?: number;
  /** @default 7 */
  days?: number;
  /** @default true */
  dailyPattern?: boolean;
  /** @default 0.9 */
  cacheThreshold?: number;
  /** @default 0.1 */
  duplicateRate?: number;
  /** @default 30 */
  maxFeedbackDelay?: number;
  /** Reward config section (the default reward when absent). */
  reward?: Parameters<typeof compileReward>[0];
}

/** The result of a run (`--json` prints `episodes`, `kpis` and `routeMix` exactly). */
export interface BootstrapSummary {
  episodes: number;
  kpis: Kpis;
  routeMix: Record<Route, number>;
  /** Lines written to `out` (JSON array elements for `.json`). */
  lines: number;
  truthLines: number;
}

/**
 * Lines written to a temporary file beside the target and renamed over it at the end: readers see
 * the old file or the whole new one. `.json` targets get a JSON array, anything else JSON lines.
 */
export class AtomicLineWriter {
  readonly path: string;
  private readonly tmp: string;
  private readonly array: boolean;
  private fd: number | undefined;
  /** Lines are encoded straight into this buffer, which is written whenever it fills up. */
  private readonly buf = Buffer.allocUnsafe(1 << 22);
  private used = 0;
  private count = 0;

  constructor(path: string) {
    this.path = path;
    this.array = path.endsWith('.json');
    const dir = dirname(path);
    this.tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now().toString(36)}.tmp`);
    try {
      mkdirSync(dir, { recursive: true });
      this.fd = openSync(this.tmp, 'w');
    } catch (e) {
      throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${path}: ${(e as Error).message}`);
    }
  }

  /** Number of lines (array elements) written so far. */
  get lines(): number {
    return this.count;
  }

  /** Append one JSON text (no newline). */
  write(line: string): void {
    if (this.array) this.put(this.count === 0 ? '[\n' : ',\n');
    this.put(line);
    if (!this.array) this.put('\n');
    this.count++;
  }

  private put(s: string): void {
    // A UTF-16 code unit never takes more than 3 bytes in UTF-8.
    if (this.used + s.length * 3 > this.buf.length) {
      this.drain();
      if (s.length * 3 > this.buf.length) {
        this.writeBytes(Buffer.from(s, 'utf8'));
        return;
      }
    }
    this.used += this.buf.write(s, this.used, 'utf8');
  }

  private drain(): void {
    if (this.used === 0) return;
    this.writeBytes(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private writeBytes(data: Uint8Array): void {
    if (this.fd === undefined) return;
    let off = 0;
    try {
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
    } catch (e) {
      this.abort();
      throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Finish: flush, fsync, rename over the target. */
  close(): void {
    if (this.array) this.put(this.count === 0 ? '[]\n' : '\n]\n');
    this.drain();
    if (this.fd === undefined) return;
    try {
      fsyncSync(this.fd);
      closeSync(this.fd);
      this.fd = undefined;
      renameSync(this.tmp, this.path);
    } catch (e) {
      this.abort();
      throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot write ${this.path}: ${(e as Error).message}`);
    }
  }

  /** Give up: remove the temporary file. */
  abort(): void {
    if (this.fd !== undefined) {
      try {
        closeSync(this.fd);
      } catch {
        /* already closed */
      }
      this.fd = undefined;
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      /* already gone */
    }
  }
}

/** Run a bootstrap to files. `onProgress` is called now and then with the episodes done. */
export function runBootstrap(o: BootstrapRunOptions, onProgress?: (done: number, total: number) => void): BootstrapSummary {
  const policy = BUILTIN_POLICIES[o.policy ?? 'rules'];
  const run = createRun({
    seed: o.seed ?? 0,
    scenario: o.scenario ?? 'realistic',
    episodes: o.episodes,
    endUs: (o.endMs ?? Date.now()) * 1000,
    days: o.days ?? 7,
    dailyPattern: o.dailyPattern ?? true,
    exploration: o.exploration ?? 0,
    policies: { route: policy, cache: policy, tool: policy },
    truth: o.truth !== undefined,
    cacheThreshold: o.cacheThreshold ?? 0.9,
    reward: compileReward(o.reward ?? {}),
  });
  const out = new AtomicLineWriter(o.out);
  let truth: AtomicLineWriter | undefined;
  try {
    truth = o.truth === undefined ? undefined : new AtomicLineWriter(o.truth);
    const alice = o.format === 'decisions' ? undefined : new AliceStream({ duplicateRate: o.duplicateRate ?? 0.1, maxFeedbackDelay: o.maxFeedbackDelay ?? 30 });
    const every = Math.max(1, Math.floor(o.episodes / 100));
    let done = 0;
    for (const ep of run.episodes()) {
      for (const line of alice === undefined ? decisionLines(ep) : alice.push(ep)) out.write(line);
      if (truth !== undefined) for (const line of truthLines(ep)) truth.write(line);
      done++;
      if (onProgress !== undefined && done % every === 0) onProgress(done, o.episodes);
    }
    if (alice !== undefined) for (const line of alice.flush()) out.write(line);
    out.close();
    truth?.close();
  } catch (e) {
    out.abort();
    truth?.abort();
    throw e;
  }
  return { episodes: run.sim.completed, kpis: run.sim.kpiSummary(), routeMix: run.sim.routeShares(), lines: out.lines, truthLines: truth?.lines ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// Command line.

function usage(msg: string): UmbraError {
  return new UmbraError(ErrorCode.USAGE, msg);
}

/** A non-negative safe integer (seeds, counts), or a usage error naming the flag. */
export function parseIntFlag(v: string, flag: string, min = 0): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw usage(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** A finite number in [min, max) (or [min, max] with `inclusive`). */
export function parseNumberFlag(v: string, flag: string, min: number, max = Infinity, inclusive = false): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (inclusive ? n > max : n >= max)) {
    throw usage(`${flag} must be a number in [${min}, ${max}${inclusive ? ']' : ')'}, got "${v}"`);
  }
  return n;
}

/** A scenario name. */
export function parseScenario(v: string): ScenarioName {
  if (!(SCENARIOS as readonly string[]).includes(v)) throw usage(`unknown scenario "${v}" (expected ${SCENARIOS.join(', ')})`);
  return v as ScenarioName;
}

/** An ISO-8601 timestamp with an offset (or Z) that is not in the future. */
export function parseEnd(v: string, nowMs: number): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) throw usage(`--end must be an ISO-8601 time with an offset or Z, got "${v}"`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw usage(`--end is not a valid time: "${v}"`);
  if (ms > nowMs) throw usage(`--end ${v} lies in the future: bootstrap never writes future timestamps`);
  return ms;
}

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
      const days = opts.days === undefined ? cfg.sim.days : parseNumberFlag(opts.days, '--days', 1 / 24, 3660, true);
      const exploration = opts.exploration === undefined ? cfg.sim.exploration : parseNumberFlag(opts.exploration, '--exploration', 0, 1);
      if (!(opts.policy in BUILTIN_POLICIES)) throw usage(`unknown policy "${opts.policy}" (expected rules, oracle or random)`);
      if (opts.format !== 'alice' && opts.format !== 'decisions') throw usage(`unknown format "${opts.format}" (expected alice or decisions)`);
      const endMs = opts.end === undefined ? nowMs : parseEnd(opts.end, nowMs);
      const dailyPattern = opts.dailyPattern ?? cfg.bootstrap.daily_patterns;
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
