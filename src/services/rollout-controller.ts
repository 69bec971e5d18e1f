/**
 * The automatic side of the rollout, run on a schedule by the decision service: promotes a shadow
 * candidate to canary when the shadow gates pass, judges a running canary against its control
 * slice from the decision log (rolling back, pausing or promoting as the judge says), and watches
 * the production reward stream for drift. Every step reads the store, so it sees what other
 * processes did, and every change goes through the RolloutService (audit log, compare-and-set).
 */
import type { Config } from '../core/config/index.js';
import { BASELINE_POLICY_VERSION } from '../core/api.js';
import { compileReward, type RewardFunction } from '../core/reward.js';
import { QuantileSketch } from '../core/stats/quantile.js';
import {
  commandFromVerdict,
  emptySlice,
  inFlight,
  judgeCanary,
  shadowGates,
  updateDrift,
  type DriftMonitorState,
  type GateReport,
  type JudgeState,
  type JudgeVerdict,
  type SliceAggregates,
  type VersionRecord,
} from '../core/rollout/index.js';
import { isUmbraError } from '../core/errors.js';
import type { Store } from '../store/port.js';
import type { RolloutService } from './rollout-service.js';
import type { Alerter } from './alerts.js';
import { readBundle } from './bundles.js';
import type { CandidateStats } from './shadow-scorer.js';

/** State keys shared with other processes. */
export const StateKey = {
  /** Shadow counters per candidate, one key per scoring process: `shadow.stats.serve`, `shadow.stats.controller`. */
  SHADOW_STATS: 'shadow.stats',
  JUDGE: 'rollout.judge',
  SHADOW_GATES: 'rollout.shadow_gates',
  DRIFT: 'rollout.drift',
} as const;

/** Parsed `policy` field of a logged decision (`umbra:<slice>:<how>:<version>[#u=<key hash>]`). */
export interface ServedTag {
  slice: string;
  how: string;
  version: string;
  /** Hash of the sticky key (the randomisation unit), when the request had one. */
  unit?: string;
}

/** Parse the `policy` field the decision engine writes; undefined for other producers. */
export function parseServedTag(policy: string | undefined): ServedTag | undefined {
  if (policy === undefined || !policy.startsWith('umbra:')) return undefined;
  const hash = policy.indexOf('#u=');
  const head = hash >= 0 ? policy.slice(0, hash) : policy;
  const [, slice, how, ...rest] = head.split(':');
  if (slice === undefined || how === undefined || rest.length === 0) return undefined;
  return { slice, how, version: rest.join(':'), ...(hash >= 0 ? { unit: policy.slice(hash + 3) } : {}) };
}

/** Scoring processes that publish shadow counters. */
export const SHADOW_SOURCES = ['serve', 'controller'] as const;

/** Publish one process's shadow counters. */
export async function writeShadowStats(store: Store, source: (typeof SHADOW_SOURCES)[number], stats: Record<string, CandidateStats>): Promise<void> {
  await store.setState(`${StateKey.SHADOW_STATS}.${source}`, stats);
}

/** Shadow counters per candidate, summed over the scoring processes. */
export async function readShadowStats(store: Store): Promise<Record<string, CandidateStats>> {
  const out: Record<string, CandidateStats> = {};
  for (const src of SHADOW_SOURCES) {
    const v = (await store.getState(`${StateKey.SHADOW_STATS}.${src}`))?.value as Record<string, CandidateStats> | undefined;
    for (const [ver, s] of Object.entries(v ?? {})) {
      const o = (out[ver] ??= { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 });
      o.scored += s.scored;
      o.errors += s.errors;
      o.timeouts += s.timeouts;
      o.agree += s.agree;
      o.compared += s.compared;
      o.latencyUsSum += s.latencyUsSum;
    }
  }
  return out;
}

/** One gate verdict as a bundle may hold it: `{passed}` (a GateReport) or `{pass}` (the pipeline's per-point form). */
function gateVerdict(g: unknown): { passed: boolean; summary: string | undefined } | undefined {
  if (typeof g !== 'object' || g === null) return undefined;
  const o = g as { passed?: unknown; pass?: unknown; summary?: unknown };
  const passed = typeof o.passed === 'boolean' ? o.passed : typeof o.pass === 'boolean' ? o.pass : undefined;
  return passed === undefined ? undefined : { passed, summary: typeof o.summary === 'string' ? o.summary : undefined };
}

/**
 * The offline gate report stored in a candidate's bundle, if any: either one report for the whole
 * bundle (`evaluation.gates`) or, as `umbra pipeline` writes it, one per decision point
 * (`evaluation.<point>.gates`), which pass only when every evaluated point passes.
 */
export function offlineGates(dataDir: string, config: Config, version: string): GateReport | null {
  try {
    const ev = readBundle(dataDir, config, version).evaluation as Record<string, unknown> | undefined;
    if (typeof ev !== 'object' || ev === null) return null;
    const whole = gateVerdict(ev.gates);
    if (whole) return { passed: whole.passed, summary: whole.summary ?? (whole.passed ? 'offline gates passed' : 'offline gates failed'), details: ev.gates };
    const points: Record<string, { passed: boolean; summary: string | undefined }> = {};
    for (const [point, e] of Object.entries(ev)) {
      const g = gateVerdict((e as { gates?: unknown } | null)?.gates);
      if (g) points[point] = g;
    }
    const names = Object.keys(points);
    if (names.length === 0) return null;
    const failed = names.filter((p) => !points[p]!.passed);
    const summary = failed.length === 0 ? `offline gates passed at ${names.join(', ')}` : failed.map((p) => `${p}: ${points[p]!.summary ?? 'failed'}`).join('; ');
    return { passed: failed.length === 0, summary, details: points };
  } catch {
    return null;
  }
}

/** The shadow → canary gate of a candidate now: offline gates, shadow duration, decisions and failure rates. */
export async function shadowGateReport(o: { store: Store; config: Config; dataDir: string }, cand: VersionRecord, now: number): Promise<GateReport> {
  const s = (await readShadowStats(o.store))[cand.id] ?? { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 };
  return shadowGates({ now, shadowSince: cand.since, decisions: s.scored + s.errors + s.timeouts, errors: s.errors, timeouts: s.timeouts, offline: offlineGates(o.dataDir, o.config, cand.id) }, o.config.rollout);
}

export interface RolloutControllerOptions {
  store: Store;
  rollout: RolloutService;
  config: Config;
  dataDir: string;
  alerter?: Alerter;
  now?: () => number;
}

/** What one tick did. */
export interface TickResult {
  stage: string;
  action: string;
  verdict?: JudgeVerdict;
  shadowGates?: GateReport;
}

export class RolloutController {
  private readonly o: RolloutControllerOptions;
  private readonly now: () => number;
  private readonly reward: RewardFunction;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickResult> | undefined;
  private lastError: string | null = null;

  constructor(o: RolloutControllerOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
    this.reward = compileReward(o.config.reward);
  }

  /** Tick every `rollout.check_interval_s` (or `intervalMs`). */
  start(intervalMs = this.o.config.rollout.check_interval_s * 1000): void {
    this.timer = setInterval(() => void this.tick().catch((e: unknown) => (this.lastError = String((e as Error).message ?? e))), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** The last error a scheduled tick hit (a tick never crashes the service). */
  get error(): string | null {
    return this.lastError;
  }

  /** One step of the automatic rollout (ticks never overlap). */
  tick(): Promise<TickResult> {
    this.running ??= this.step().finally(() => (this.running = undefined));
    return this.running;
  }

  private async step(): Promise<TickResult> {
    const { rollout, store, config } = this.o;
    const state = await rollout.state();
    const cand = inFlight(state);
    const now = this.now();
    await this.watchDrift(state.champion);
    if (cand?.stage === 'shadow') {
      const report = await shadowGateReport(this.o, cand, now);
      await store.setState(StateKey.SHADOW_GATES, { version: cand.id, at: new Date(now).toISOString(), report });
      if (report.passed && config.rollout.mode === 'auto') {
        await rollout.apply({ type: 'promote', actor: 'judge', trigger: 'auto', target: cand.id, reason: 'shadow gates passed', gates: report });
        this.o.alerter?.raise('stage_changed', 'info', `${cand.id}: shadow → canary (${Math.round(config.rollout.canary_weight * 100)} %)`);
        return { stage: 'canary', action: 'promote', shadowGates: report };
      }
      return { stage: 'shadow', action: 'hold', shadowGates: report };
    }
    if (cand?.stage === 'canary' && cand.canaryStartedAt !== null) {
      const { canary, control } = await this.aggregate(cand.canaryStartedAt, cand.id);
      const prev = (await store.getState(StateKey.JUDGE))?.value as { version: string; state: JudgeState } | undefined;
      const { verdict, state: js } = judgeCanary({ now, startedAt: cand.canaryStartedAt, stepStartedAt: cand.since, canaryWeight: cand.canaryWeight, canary, control }, prev?.version === cand.id ? prev.state : null, config.rollout);
      await store.setState(StateKey.JUDGE, { version: cand.id, state: js, verdict });
      const cmd = commandFromVerdict(verdict, cand.id);
      if (cmd !== null) {
        try {
          await rollout.apply(cmd);
          const sev = cmd.type === 'rollback' ? 'critical' : cmd.type === 'pause' ? 'warning' : 'info';
          const kind = cmd.type === 'rollback' ? 'rolled_back' : 'stage_changed';
          this.o.alerter?.raise(kind, sev, `${cand.id}: canary ${cmd.type === 'promote' ? '→ production' : cmd.type === 'rollback' ? 'rolled back' : 'paused'}: ${verdict.reason}`);
        } catch (e) {
          // manual mode refuses automatic promotions: the verdict stays visible in status
          if (!isUmbraError(e)) throw e;
        }
      }
      return { stage: 'canary', action: verdict.action, verdict };
    }
    return { stage: cand?.stage ?? 'production', action: 'none' };
  }

  /** Canary and control aggregates from the decision log since the canary started. */
  async aggregate(since: string, candidate: string): Promise<{ canary: SliceAggregates; control: SliceAggregates }> {
    const acc = { canary: emptySlice(), control: emptySlice() };
    const sketches = { canary: new QuantileSketch(this.o.config.rollout.latency_sketch_accuracy), control: new QuantileSketch(this.o.config.rollout.latency_sketch_accuracy) };
    const sliceOf = (policy: string | undefined): 'canary' | 'control' | undefined => {
      const t = parseServedTag(policy);
      if (t === undefined) return undefined;
      if (t.slice === 'canary' && t.version === candidate) return 'canary';
      if (t.slice === 'control') return 'control';
      return undefined;
    };
    const units = { canary: new Set<string>(), control: new Set<string>() };
    let allKeyed = true;
    for await (const d of this.o.store.decisions({ from: since })) {
      const s = sliceOf(d.event.policy);
      if (s === undefined) continue;
      const a = acc[s];
      a.decisions++;
      const tag = parseServedTag(d.event.policy)!;
      if (tag.unit === undefined) allKeyed = false;
      else units[s].add(tag.unit);
      const how = tag.how;
      if (how === 'error') a.policyErrors++;
      else if (how === 'timeout') a.policyTimeouts++;
    }
    for await (const ep of this.o.store.episodes({ from: since, now: this.now(), reward: this.reward })) {
      const s = sliceOf(ep.event.policy);
      if (s === undefined || ep.defaulted) continue;
      const a = acc[s];
      const o = ep.event.outcome ?? {};
      a.outcomes++;
      if (o.success === true) a.successes++;
      if (parseServedTag(ep.event.policy)!.how !== 'served') a.errorOutcomes++;
      a.reward.n++;
      a.reward.sum += ep.reward;
      a.reward.sumSq += ep.reward * ep.reward;
      if (o.cost_usd !== undefined) {
        a.cost.n++;
        a.cost.sum += o.cost_usd;
        a.cost.sumSq += o.cost_usd * o.cost_usd;
      }
      if (o.latency_ms !== undefined) sketches[s].add(o.latency_ms);
    }
    if (allKeyed) {
      acc.canary.units = units.canary.size;
      acc.control.units = units.control.size;
    }
    acc.canary.latency = sketches.canary.count > 0 ? sketches.canary.toJSON() : null;
    acc.control.latency = sketches.control.count > 0 ? sketches.control.toJSON() : null;
    return acc;
  }

  /** Feed new production rewards of the champion to the drift detector; alert on drift. */
  private async watchDrift(champion: string): Promise<void> {
    if (champion === BASELINE_POLICY_VERSION) return;
    const { store, config } = this.o;
    const prev = (await store.getState(StateKey.DRIFT))?.value as { cursor: number; monitor: DriftMonitorState | null; version: string } | undefined;
    const same = prev?.version === champion;
    let cursor = same ? prev.cursor : 0;
    const rewards: number[] = [];
    // Feed rewards in decision order, waiting at the first decision whose outcome has not arrived
    // yet (up to the reward function's default wait), so the detector sees the stream as it was.
    const now = this.now();
    const rewardsBySeq = new Map<number, { reward: number; defaulted: boolean }>();
    for await (const ep of store.episodes({ afterSeq: cursor, now, reward: this.reward })) rewardsBySeq.set(ep.seq, { reward: ep.reward, defaulted: ep.defaulted });
    const waitMs = Math.min(30_000, this.reward.defaultAfterS * 1000);
    for await (const d of store.decisions({ afterSeq: cursor })) {
      const r = rewardsBySeq.get(d.seq);
      if (r === undefined && now - Date.parse(d.event.ts) < waitMs) break;
      cursor = d.seq;
      const t = parseServedTag(d.event.policy);
      if (r !== undefined && !r.defaulted && t && t.slice === 'production' && t.version === champion) rewards.push(r.reward);
    }
    if (!same && prev === undefined && rewards.length === 0) return;
    const { state: monitor, alerts } = updateDrift(same ? prev.monitor : null, rewards, { now: this.now(), version: champion }, config.rollout);
    await store.setState(StateKey.DRIFT, { cursor, monitor, version: champion });
    for (const a of alerts) this.o.alerter?.raise('drift', 'warning', a.message, a);
  }
}
