/**
 * The automatic side of the rollout, run on a schedule by the decision service: promotes a shadow
 * candidate to canary when the shadow gates pass, judges a running canary against its control
 * slice from the decision log (rolling back, pausing or promoting as the judge says), and watches
 * the production reward stream for drift. Every step reads the store, so it sees what other
 * processes did, and every change goes through the RolloutService (audit log, compare-and-set).
 */
import { ErrorCode, isUmbraError } from '../../core/errors.js';
import { Stage, commandFromVerdict, inFlight, judgeCanary, type JudgeState, type JudgeVerdict } from '../../core/rollout/index.js';
import type { GateReport } from '../../core/gates/index.js';
import type { Settings } from '../../core/settings.js';
import type { EventReader, StateStore } from '../../store/port.js';
import type { Bundles } from '../artifacts/bundles.js';
import type { Alerter } from '../monitoring/alerts.js';
import { StateKey } from '../state-keys.js';
import { canarySlices } from './canary-slices.js';
import { watchDrift } from './drift-watch.js';
import { shadowGateReport } from './gates.js';
import type { RolloutService } from './state.js';

export interface RolloutControllerOptions {
  store: EventReader & StateStore;
  rollout: RolloutService;
  settings: Settings;
  bundles: Bundles;
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
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<TickResult> | undefined;
  private lastError: string | null = null;

  constructor(o: RolloutControllerOptions) {
    this.o = o;
    this.now = o.now ?? Date.now;
  }

  /** Tick every `rollout.check_interval_s` (or `intervalMs`). */
  start(intervalMs = this.o.settings.config.rollout.check_interval_s * 1000): void {
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
    const { rollout, store, settings } = this.o;
    const config = settings.config;
    const state = await rollout.state();
    const cand = inFlight(state);
    const now = this.now();
    for (const a of await watchDrift(store, settings, state.champion, now)) this.o.alerter?.raise('drift', 'warning', a.message, a);
    if (cand?.stage === 'shadow') {
      const report = await shadowGateReport(this.o, cand, now);
      await store.setState(StateKey.SHADOW_GATES, { version: cand.id, at: new Date(now).toISOString(), report });
      if (report.passed && config.rollout.mode === 'auto') {
        try {
          await rollout.apply({ type: 'promote', actor: 'judge', trigger: 'auto', target: cand.id, from: Stage.SHADOW, reason: 'shadow gates passed', gates: report });
        } catch (e) {
          // another replica's judge (or a person) moved the candidate first: nothing to do on this verdict
          if (!(isUmbraError(e) && e.code === ErrorCode.TRANSITION_INVALID)) throw e;
          return { stage: 'shadow', action: 'hold', shadowGates: report };
        }
        this.o.alerter?.raise('stage_changed', 'info', `${cand.id}: shadow → canary (${Math.round(config.rollout.canary_weight * 100)} %)`);
        return { stage: 'canary', action: 'promote', shadowGates: report };
      }
      return { stage: 'shadow', action: 'hold', shadowGates: report };
    }
    if (cand?.stage === 'canary' && cand.canaryStartedAt !== null) {
      const { canary, control } = await canarySlices(store, settings, cand.canaryStartedAt, cand.id, this.now());
      const prev = (await store.getState(StateKey.JUDGE))?.value as { version: string; state: JudgeState } | undefined;
      const { verdict, state: js } = judgeCanary({ now, startedAt: cand.canaryStartedAt, stepStartedAt: cand.since, canaryWeight: cand.canaryWeight, canary, control }, prev?.version === cand.id ? prev.state : null, config.rollout);
      await store.setState(StateKey.JUDGE, { version: cand.id, state: js, verdict });
      const cmd = commandFromVerdict(verdict, cand.id);
      if (cmd !== null) {
        try {
          await rollout.apply(cmd);
          // A rollback's critical alert is raised by the service for every rollback it applies (the judge's or a person's).
          if (cmd.type !== 'rollback') this.o.alerter?.raise('stage_changed', cmd.type === 'pause' ? 'warning' : 'info', `${cand.id}: canary ${cmd.type === 'promote' ? '→ production' : 'paused'}: ${verdict.reason}`);
        } catch (e) {
          // manual mode refuses automatic promotions: the verdict stays visible in status
          if (!isUmbraError(e)) throw e;
        }
      }
      return { stage: 'canary', action: verdict.action, verdict };
    }
    return { stage: cand?.stage ?? 'production', action: 'none' };
  }
}
