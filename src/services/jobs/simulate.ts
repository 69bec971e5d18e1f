/**
 * A live simulation of Alice (`umbra simulate`, the demo): requests arrive at a steady rate on a
 * simulated clock (optionally accelerated); each one is appended to the telemetry file as whole
 * lines. With a decision service, the route of every request is asked of it (the rule choice as
 * `baselineAction`, the simulated user as sticky key) and its outcome reported back, so canary and
 * production stages change what the simulated users get; when the service is down or slow, the
 * client falls back to the rules and the stream goes on.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { createDecisionClient, type DecisionClient, type FetchLike } from '../../client/index.js';
import { BASELINE_POLICY_VERSION } from '../../core/api.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { Kpis } from '../../core/events.js';
import { compileReward } from '../../core/reward.js';
import { Rng } from '../../core/rng.js';
import { AliceSim, AliceStream, LiveSessions, drawLangGroup, scenarioAt, type ScenarioName, type ServeChoice, type SimEpisode, type PendingRoute } from '../../core/sim/index.js';

/** Everything a live simulation needs. */
export interface SimulateOptions {
  telemetry: string;
  /** Requests per real second. */
  rate: number;
  /** Real seconds to run. */
  durationS: number;
  /** Simulated seconds per real second. @default 1 */
  speedup?: number;
  /** Base URL of a decision service to ask for every route decision. */
  server?: string;
  seed?: number;
  scenario?: ScenarioName;
  exploration?: number;
  /** Hard timeout of a decide call (ms). @default 50 */
  timeoutMs?: number;
  /** Most decide calls in flight at once. @default 64 */
  maxInFlight?: number;
  /** Real time the run starts (ms since the epoch). @default now */
  nowMs?: number;
  cacheThreshold?: number;
  duplicateRate?: number;
  maxFeedbackDelay?: number;
  reward?: Parameters<typeof compileReward>[0];
  /** Stops the run early (SIGINT). */
  signal?: AbortSignal;
  /** Injected fetch (tests). */
  fetch?: FetchLike;
}

/** What a run did. */
export interface SimulateSummary {
  requests: number;
  /** Who served the route decisions: `rules` without a server, else the service's `servedBy`. */
  servedBy: Record<string, number>;
  /** Failed calls to the decision service (decides that fell back on an error, failed outcome reports). */
  errors: number;
  errorsByReason: Record<string, number>;
  kpis: Kpis;
  /** Lines appended to the telemetry file. */
  lines: number;
  /** Simulated time covered, ISO-8601. */
  from: string;
  to: string;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Appends whole lines, one write per line, so a tailer never sees a torn line from us. */
class LineAppender {
  private readonly fd: number;
  lines = 0;

  constructor(path: string) {
    try {
      mkdirSync(dirname(path), { recursive: true });
      this.fd = openSync(path, 'a');
    } catch (e) {
      throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot append to ${path}: ${(e as Error).message}`);
    }
  }

  append(line: string): void {
    const data = Buffer.from(`${line}\n`, 'utf8');
    const n = writeSync(this.fd, data, 0, data.length);
    // A short write on a regular file means the disk is full: say so rather than tear the line.
    if (n !== data.length) throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `short write (${n} of ${data.length} bytes): disk full?`);
    this.lines++;
  }

  close(): void {
    closeSync(this.fd);
  }
}

/** Run a live simulation to its end (or until `signal` aborts). */
export async function runSimulate(o: SimulateOptions): Promise<SimulateSummary> {
  const seed = o.seed ?? 0;
  const scenario = o.scenario ?? 'realistic';
  const speedup = o.speedup ?? 1;
  const total = Math.max(1, Math.round(o.rate * o.durationS));
  const nowMs = o.nowMs ?? Date.now();
  // The simulated clock ends where the real one does: accelerated runs never write future times.
  const startUs = (nowMs - o.durationS * 1000 * Math.max(0, speedup - 1)) * 1000;
  const sim = new AliceSim({ seed, scenario, exploration: o.exploration ?? 0, cacheThreshold: o.cacheThreshold ?? 0.9, reward: compileReward(o.reward ?? {}) });
  const sessions = new LiveSessions(new Rng(seed, 3), `l${seed.toString(36)}-${Math.floor(startUs / 1000).toString(36)}`, Math.max(20, total / 15), (rng, t) =>
    drawLangGroup(rng, scenarioAt(scenario, t)),
  );
  const alice = new AliceStream({ duplicateRate: o.duplicateRate ?? 0.1, maxFeedbackDelay: o.maxFeedbackDelay ?? 30 });
  const out = new LineAppender(o.telemetry);
  const client: DecisionClient | undefined =
    o.server === undefined ? undefined : createDecisionClient({ baseUrl: o.server, timeoutMs: o.timeoutMs ?? 50, outcomeTimeoutMs: Math.max(2000, 5 * (o.timeoutMs ?? 50)), ...(o.fetch === undefined ? {} : { fetch: o.fetch }) }); // outcomes are off the serving path: wait longer for them
  const servedBy: Record<string, number> = {};
  const errorsByReason: Record<string, number> = {};
  const maxInFlight = Math.max(1, o.maxInFlight ?? 64);
  const outcomes: Promise<void>[] = [];
  const queue: { p: PendingRoute; choice: Promise<ServeChoice> }[] = [];
  let firstUs = startUs;
  let lastUs = startUs;

  const finish = (p: PendingRoute, choice: ServeChoice): void => {
    const ep: SimEpisode = sim.complete(p, choice);
    for (const line of alice.push(ep)) out.append(line);
    if (client !== undefined) {
      const report = client.outcome({ id: ep.request.id, outcome: ep.outcome.signals }).then((r) => {
        if (!r.ok) errorsByReason[`outcome_${r.reason ?? 'failed'}`] = (errorsByReason[`outcome_${r.reason ?? 'failed'}`] ?? 0) + 1;
      });
      outcomes.push(report);
    }
  };
  const drainHead = async (): Promise<void> => {
    const head = queue.shift();
    if (head !== undefined) finish(head.p, await head.choice);
  };

  await client?.warmUp();
  const t0 = performance.now();
  let done = 0;
  try {
    for (let k = 0; k < total; k++) {
      const dueMs = (k / o.rate) * 1000;
      if (dueMs - (performance.now() - t0) >= 1) {
        // Finish what the service has answered while we wait for the next arrival.
        while (queue.length > 0) await drainHead();
        const wait = dueMs - (performance.now() - t0);
        if (wait > 0) await sleep(wait, o.signal);
      }
      if (o.signal?.aborted) break;
      const tsUs = startUs + (k / o.rate) * speedup * 1e6;
      if (k === 0) firstUs = tsUs;
      lastUs = tsUs;
      const req = sim.request(sessions.next(tsUs, k / total), k, k / total);
      const p = sim.routeQuery(req);
      if (client === undefined) {
        servedBy.rules = (servedBy.rules ?? 0) + 1;
        finish(p, sim.policies.route.serve(p.query));
      } else {
        const q = p.query;
        const choice = client
          .decide({ point: 'route', context: q.context, actions: [...q.actions], baselineAction: q.baseline, stickyKey: req.userId, id: req.id })
          .then((r): ServeChoice => {
            servedBy[r.servedBy] = (servedBy[r.servedBy] ?? 0) + 1;
            if (r.servedBy === 'fallback' && r.reason !== undefined) errorsByReason[`decide_${r.reason}`] = (errorsByReason[`decide_${r.reason}`] ?? 0) + 1;
            return { action: r.action, probs: { [r.action]: r.propensity }, policy: r.policyVersion === BASELINE_POLICY_VERSION ? 'rules@alice' : r.policyVersion };
          });
        queue.push({ p, choice });
        if (queue.length >= maxInFlight) await drainHead();
      }
      done++;
      if (outcomes.length > maxInFlight * 4) await Promise.all(outcomes.splice(0, outcomes.length));
    }
    while (queue.length > 0) await drainHead();
    for (const line of alice.flush()) out.append(line);
    await Promise.all(outcomes);
  } finally {
    out.close();
  }
  let errors = 0;
  for (const v of Object.values(errorsByReason)) errors += v;
  const iso = (us: number): string => new Date(Math.floor(us / 1000)).toISOString();
  return { requests: done, servedBy, errors, errorsByReason, kpis: sim.kpiSummary(), lines: out.lines, from: iso(firstUs), to: iso(lastUs) };
}
