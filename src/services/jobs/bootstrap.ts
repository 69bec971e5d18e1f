/**
 * A bootstrap run: synthetic telemetry from the Alice world (src/core/sim) written atomically to a
 * file — Alice's own turn and feedback events or canonical decision events — with the ground truth
 * of every decision when asked, byte-identical for a seed and end time. `umbra bootstrap`, the demo
 * and the benchmark run it.
 */
import type { Kpis } from '../../core/events.js';
import { compileReward } from '../../core/reward.js';
import { AliceStream, BUILTIN_POLICIES, createRun, decisionLines, truthLines, type BuiltinPolicyName, type Route, type ScenarioName } from '../../core/sim/index.js';
import { AtomicLineWriter } from '../../platform/line-writer.js';

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
