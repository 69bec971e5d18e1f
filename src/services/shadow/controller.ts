/**
 * The shadow controller (`umbra shadow start`): one long-running process per data directory that
 * follows the telemetry into the store, scores every new decision with the shadow candidate(s)
 * off the ingest path, retrains on a schedule in a child process, and registers each new
 * candidate with the rollout. Its state lives in the store, so `status`, `compare`, `promote`
 * and `stop` from any other process see and act on the same truth.
 *
 * Isolation: ingestion never waits for shadow work. New decisions are read back from the store
 * by a separate loop and offered to a bounded scorer whose policies run in a worker thread with a
 * per-event budget; a candidate that throws or never returns is counted and shed, never felt by
 * ingestion or production data.
 */
import type { Settings } from '../../core/settings.js';
import { toUmbraError } from '../../core/errors.js';
import { shadowCandidate } from '../../core/rollout/index.js';
import type { Store, StateStore } from '../../store/port.js';
import { ingest } from '../../ingest/ingest.js';
import { PolicyHost } from '../policy-host/host.js';
import type { RolloutService } from '../rollout/state.js';
import { StateKey } from '../state-keys.js';
import { ShadowScorer } from './scorer.js';
import type { Bundles } from '../artifacts/bundles.js';
import { writeShadowStats } from './stats.js';
import type { RetrainResult } from './retrain.js';
import { registerBundle } from '../rollout/register.js';
import type { Alerter } from '../monitoring/alerts.js';
import { inFlight } from '../../core/rollout/index.js';

/** How often the published store-wide counts are refreshed. */
/** A candidate that failed to load is tried again after this long. */
const LOAD_RETRY_MS = 30_000;
const COUNTS_EVERY_MS = 2000;

/** Lock file name in the data directory (one controller per data directory). */
export const LOCK_FILE = 'shadow.lock';

/** What the controller publishes (read by `shadow status`). */
export interface ControllerState {
  running: boolean;
  pid: number | null;
  startedAt: string | null;
  heartbeatAt: string | null;
  stoppedAt: string | null;
  telemetry: string;
  intervalHours: number;
  minEpisodes: number;
  lastRetrainAt: string | null;
  lastRetrainReason: string | null;
  lastRetrain: { version: string; chosen: string; gates: { passed: boolean; summary: string }; episodes: number; challengers: unknown[] } | null;
  lastRetrainError: string | null;
  retraining: boolean;
  nextRetrainAt: string | null;
  nextRetrainWhy: string;
  lastTrainSeq: number;
  newEpisodes: number;
  shadowCursor: number;
  /** Store-wide counts and the tailer's position (bytes of the followed files consumed). */
  ingest: { decisions: number; turns: number; quarantined: number; bytesDone: number; bytesTotal: number; error: string | null };
  shadow: { scored: number; dropped: number; shed: number; errors: number; timeouts: number; queueDepth: number; candidates: string[] };
  lastEvent: string | null;
}

export interface ShadowControllerOptions {
  /** The store (the controller ingests into it, reads decisions back and publishes its state). */
  store: Store;
  rollout: RolloutService;
  alerter: Alerter;
  bundles: Bundles;
  settings: Settings;
  /**
   * One retraining on the store's episodes, isolated from this process (the composition root runs
   * it in a child process): resolves with the new candidate bundle, rejects when it failed.
   */
  retrain: (newEpisodes: number, signal: AbortSignal) => Promise<RetrainResult>;
  telemetry: string;
  /**
   * Read the events from here instead of following `telemetry`: the fleet's event stream, read
   * with its durable consumer into the store (acknowledged after each commit) until the signal
   * aborts. The controller then scores what the stream brought, as it does with telemetry.
   */
  follow?: (store: Store, signal: AbortSignal, onError: (e: Error) => void) => Promise<unknown>;
  /** Hours between retrainings. @default config.shadow_mode.retrain_interval_hours */
  intervalHours?: number;
  /** New episodes needed for a retraining. @default config.shadow_mode.min_new_episodes */
  minEpisodes?: number;
  /** Loader module for the shadow policies (tests inject failing ones). */
  loaderUrl?: string;
  /** Human log lines. */
  log?: (msg: string) => void;
  /** Milliseconds between scheduling ticks. @default 250 */
  tickMs?: number;
}

/** Read the controller state (any process). */
export async function readControllerState(store: StateStore): Promise<ControllerState | undefined> {
  return (await store.getState(StateKey.CONTROLLER))?.value as ControllerState | undefined;
}

export class ShadowController {
  private readonly o: ShadowControllerOptions;
  private readonly log: (m: string) => void;
  private readonly store: Store;
  private readonly rollout: RolloutService;
  private readonly alerter: Alerter;
  private host!: PolicyHost;
  private scorer!: ShadowScorer;
  private state!: ControllerState;
  private retrainAbort: AbortController | undefined;
  private retrainTask: Promise<void> | undefined;
  private countsAt = 0;
  /** Candidates already alerted for failing in the shadow. */
  private failureAlerted = new Set<string>();
  /** The last offline gate failure alerted (one alert per distinct failure). */
  private lastGateFailure: string | undefined;
  /** Store counts at the start of the current ingest-error window. */
  private ingestWindow: { at: number; quarantined: number; items: number } | undefined;
  private loaded = new Map<string, Set<string>>();
  /** Candidates that failed to load, with the time: tried again after LOAD_RETRY_MS (the store may have been away). */
  private failedLoads = new Map<string, number>();

  constructor(o: ShadowControllerOptions) {
    this.o = o;
    this.store = o.store;
    this.rollout = o.rollout;
    this.alerter = o.alerter;
    this.log = o.log ?? (() => undefined);
  }

  /**
   * Run until `signal` aborts. The caller owns the store and the data directory's lock (src/app
   * takes both before and releases them after).
   */
  async run(signal: AbortSignal): Promise<void> {
    const cfg = this.o.settings.config;
    this.host = new PolicyHost({ deadlineMs: cfg.shadow_mode.time_budget_ms, ...(this.o.loaderUrl === undefined ? {} : { loaderUrl: this.o.loaderUrl }) });
    this.scorer = new ShadowScorer({ store: this.store, host: this.host, queueSize: cfg.shadow_mode.queue_size, timeBudgetMs: cfg.shadow_mode.time_budget_ms, cpuShare: cfg.server.shadow_cpu_share });
    const prev = await readControllerState(this.store);
    const now = new Date().toISOString();
    this.state = {
      running: true,
      pid: process.pid,
      startedAt: now,
      heartbeatAt: now,
      stoppedAt: null,
      telemetry: this.o.telemetry,
      intervalHours: this.o.intervalHours ?? cfg.shadow_mode.retrain_interval_hours,
      minEpisodes: this.o.minEpisodes ?? cfg.shadow_mode.min_new_episodes,
      lastRetrainAt: prev?.lastRetrainAt ?? null,
      lastRetrainReason: prev?.lastRetrainReason ?? null,
      lastRetrain: prev?.lastRetrain ?? null,
      lastRetrainError: null,
      retraining: false,
      nextRetrainAt: null,
      nextRetrainWhy: 'waiting for episodes',
      lastTrainSeq: prev?.lastTrainSeq ?? 0,
      newEpisodes: 0,
      shadowCursor: prev?.shadowCursor ?? 0,
      ingest: { decisions: 0, turns: 0, quarantined: 0, bytesDone: 0, bytesTotal: 0, error: null },
      shadow: { scored: 0, dropped: 0, shed: 0, errors: 0, timeouts: 0, queueDepth: 0, candidates: [] },
      lastEvent: 'started',
    };
    await this.publish();
    this.log(`shadow controller started (pid ${process.pid}); following ${this.o.follow === undefined ? this.o.telemetry : 'the event stream'}; retrain every ${this.state.intervalHours} h when ≥ ${this.state.minEpisodes} new episodes`);
    const ingestAbort = new AbortController();
    signal.addEventListener('abort', () => ingestAbort.abort(), { once: true });
    const ingesting = this.followTelemetry(ingestAbort.signal);
    const tickMs = this.o.tickMs ?? 250;
    while (!signal.aborted) {
      try {
        await this.tick();
      } catch (e) {
        this.state.lastEvent = `tick error: ${toUmbraError(e).message}`;
      }
      await new Promise<void>((r) => {
        const done = (): void => {
          clearTimeout(t);
          signal.removeEventListener('abort', done);
          r();
        };
        const t = setTimeout(done, tickMs);
        signal.addEventListener('abort', done, { once: true });
      });
    }
    ingestAbort.abort();
    await ingesting;
    await this.alerter.drain();
    this.retrainAbort?.abort();
    // Wait (briefly) for an aborted retraining to end, so its child and scratch files go with us.
    if (this.retrainTask !== undefined) await Promise.race([this.retrainTask, new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.scorer.drain(2000);
    await this.scorer.close();
    await this.host.close();
    this.state.running = false;
    this.state.stoppedAt = new Date().toISOString();
    this.countsAt = 0; // the last published state carries fresh counts
    this.state.lastEvent = 'stopped';
    await this.publish();
    this.log('shadow controller stopped');
  }

  /** Ingest the telemetry until aborted; a failure is recorded and retried, never fatal. */
  private async followTelemetry(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        if (this.o.follow !== undefined) {
          await this.o.follow(this.store, signal, (e) => {
            this.state.ingest.error = toUmbraError(e).message;
          });
          this.state.ingest.error = null;
          continue;
        }
        await ingest({
          store: this.store,
          path: this.o.telemetry,
          config: this.o.settings.config,
          follow: true,
          signal,
          onNote: (m) => this.log(m),
          onProgress: (p) => {
            this.state.ingest.bytesDone = p.bytesDone;
            this.state.ingest.bytesTotal = p.bytesTotal;
          },
        });
        this.state.ingest.error = null;
      } catch (e) {
        this.state.ingest.error = toUmbraError(e).message;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  private async publish(): Promise<void> {
    const s = this.scorer?.stats;
    if (s) {
      this.state.shadow = { scored: s.scored, dropped: s.dropped, shed: s.shed, errors: s.errors, timeouts: s.timeouts, queueDepth: s.queueDepth, candidates: this.scorer.active.map((c) => c.version) };
      await writeShadowStats(this.store, 'controller', s.byCandidate);
    }
    // Whole-store counts scan tables: refresh them every few seconds, not on every tick.
    if (Date.now() - this.countsAt >= COUNTS_EVERY_MS) {
      this.countsAt = Date.now();
      const c = await this.store.counts();
      this.state.ingest = { ...this.state.ingest, decisions: c.decisions, turns: c.turns, quarantined: c.quarantined };
      this.checkAlerts(c);
    }
    this.state.heartbeatAt = new Date().toISOString();
    await this.store.setState(StateKey.CONTROLLER, this.state);
  }

  /** Ingest errors above the configured rate, and a candidate failing in the shadow, raise alerts. */
  private checkAlerts(c: { decisions: number; turns: number; quarantined: number }): void {
    const a = this.o.settings.config.alerts;
    const items = Math.max(c.turns, c.decisions);
    const now = Date.now();
    const w = this.ingestWindow;
    if (w === undefined) this.ingestWindow = { at: now, quarantined: c.quarantined, items };
    else {
      const dq = c.quarantined - w.quarantined;
      const lines = dq + (items - w.items);
      if (lines >= a.ingest_min_lines) {
        if (dq / lines > a.ingest_error_rate) {
          this.alerter.raise('ingest_errors', 'warning', `${dq} of ${lines} telemetry lines quarantined (${((100 * dq) / lines).toFixed(1)} % > ${(100 * a.ingest_error_rate).toFixed(1)} %); see umbra ingest --json for the reasons`);
        }
        this.ingestWindow = { at: now, quarantined: c.quarantined, items };
      }
    }
    const s = this.scorer?.stats;
    for (const cand of this.scorer?.active ?? []) {
      const cs = s?.byCandidate[cand.version];
      if (!cs || this.failureAlerted.has(cand.version)) continue;
      const failed = cs.errors + cs.timeouts;
      const total = failed + cs.scored;
      if (failed >= 20 && failed / total > this.o.settings.config.rollout.hard_breakers.max_error_rate) {
        this.failureAlerted.add(cand.version);
        this.alerter.raise('shadow_failure', 'critical', `candidate ${cand.version} fails in the shadow: ${cs.errors} errors and ${cs.timeouts} timeouts in ${total} decisions; production is unaffected`);
      }
    }
  }

  /** One scheduling step: candidates, shadow scoring, retraining, heartbeat. */
  private async tick(): Promise<void> {
    await this.syncCandidates();
    await this.offerNewDecisions();
    await this.maybeRetrain();
    await this.publish();
  }

  private async syncCandidates(): Promise<void> {
    const state = await this.rollout.state();
    const v = shadowCandidate(state);
    if (v === null) {
      this.scorer.setCandidates([]);
      return;
    }
    let points = this.loaded.get(v);
    const failedAt = this.failedLoads.get(v);
    if (!points && (failedAt === undefined || Date.now() - failedAt >= LOAD_RETRY_MS)) {
      try {
        points = new Set<string>();
        await this.o.bundles.ensure(v);
        for (const [point, path] of Object.entries(this.o.bundles.artifacts(v))) {
          await this.host.load(`${v}:${point}`, path);
          points.add(point);
        }
        this.loaded.set(v, points);
        this.failedLoads.delete(v);
        this.log(`scoring live decisions with ${v} (${[...points].join(', ')})`);
      } catch (e) {
        this.failedLoads.set(v, Date.now());
        this.state.lastEvent = `cannot load candidate ${v}: ${toUmbraError(e).message}`;
        points = undefined;
      }
    }
    this.scorer.setCandidates(points ? [{ version: v, points }] : []);
  }

  /** Offer decisions stored since the cursor to the scorer (never blocks ingestion: it reads the store). */
  private async offerNewDecisions(): Promise<void> {
    if (this.scorer.active.length === 0) {
      // Nothing to score: move the cursor so a new candidate starts with live traffic.
      for await (const d of this.store.decisions({ afterSeq: this.state.shadowCursor })) this.state.shadowCursor = d.seq;
      return;
    }
    let offered = 0;
    for await (const d of this.store.decisions({ afterSeq: this.state.shadowCursor, limit: 5000 })) {
      this.state.shadowCursor = d.seq;
      const e = d.event;
      this.scorer.offer({ id: e.id, point: e.point, context: e.context, actions: e.actions, ...(e.baseline === undefined ? {} : { baseline: e.baseline }), served: e.action, ts: e.ts });
      offered++;
    }
    if (offered > 0) await this.scorer.flush();
  }

  private async countNew(): Promise<number> {
    const route = await this.store.countDecisions({ point: 'route', afterSeq: this.state.lastTrainSeq });
    if (route > 0) return route;
    const anyRoute = await this.store.countDecisions({ point: 'route' });
    return anyRoute > 0 ? 0 : this.store.countDecisions({ afterSeq: this.state.lastTrainSeq });
  }

  private async maybeRetrain(): Promise<void> {
    if (this.state.retraining) return;
    const n = await this.countNew();
    this.state.newEpisodes = n;
    const min = this.state.minEpisodes;
    const intervalMs = this.state.intervalHours * 3_600_000;
    const last = this.state.lastRetrainAt === null ? null : Date.parse(this.state.lastRetrainAt);
    const now = Date.now();
    const dueAt = last === null ? now : last + intervalMs;
    this.state.nextRetrainAt = new Date(dueAt).toISOString();
    let reason: string | null = null;
    // The early trigger (off by default) never retrains sooner than the minimum gap after the last one.
    const sm = this.o.settings.config.shadow_mode;
    const gapOk = last === null || now - last >= sm.min_retrain_gap_minutes * 60_000;
    if (sm.early_retrain_episodes > 0 && n >= sm.early_retrain_episodes && n >= min && gapOk && last !== null && now < dueAt) reason = `${n} new episodes ≥ shadow_mode.early_retrain_episodes = ${sm.early_retrain_episodes}: retraining early`;
    else if (now >= dueAt && n >= min) reason = last === null ? `first training: ${n} episodes ≥ ${min}` : `interval of ${this.state.intervalHours} h elapsed and ${n} new episodes ≥ ${min}`;
    if (reason === null) {
      this.state.nextRetrainWhy = n < min ? `waiting for ${min - n} more new episodes (${n}/${min})` : `next scheduled at ${this.state.nextRetrainAt}`;
      return;
    }
    this.state.retraining = true;
    this.state.lastRetrainReason = reason;
    this.state.nextRetrainWhy = 'retraining now';
    this.log(`retraining: ${reason}`);
    try {
      await this.publish();
    } catch (e) {
      // the store is away: no retraining started, so none may be reported as running (the next tick tries again)
      this.state.retraining = false;
      throw e;
    }
    this.retrainTask = this.retrainIsolated(n).finally(() => {
      this.retrainAbort = undefined;
      this.retrainTask = undefined;
      this.state.retraining = false;
    });
  }

  private async retrainIsolated(newEpisodes: number): Promise<void> {
    const started = Date.now();
    const ac = new AbortController();
    this.retrainAbort = ac;
    try {
      const r = await this.o.retrain(newEpisodes, ac.signal);
      this.state.lastRetrainAt = new Date().toISOString();
      this.state.lastTrainSeq = r.lastSeq;
      this.state.lastRetrainError = null;
      this.state.lastRetrain = { version: r.version, chosen: r.chosen, gates: r.gates, episodes: r.episodes, challengers: r.challengers };
      this.log(`retrained in ${((Date.now() - started) / 1000).toFixed(1)} s on ${r.episodes} episodes: ${r.version} (${r.chosen}); offline gates ${r.gates.passed ? 'pass' : 'fail'}`);
      // One alert per distinct failure: the same gates failing for the same reason again is not news.
      const failure = r.gates.passed ? undefined : r.gates.summary.replace(/[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?/gi, '#');
      if (failure !== undefined && failure !== this.lastGateFailure) this.alerter.raise('gate_failed', 'warning', `candidate ${r.version}: offline gates fail: ${r.gates.summary.length > 300 ? `${r.gates.summary.slice(0, 300)}…` : r.gates.summary}`);
      this.lastGateFailure = failure;
      await this.register(r);
    } catch (e) {
      this.state.lastRetrainError = toUmbraError(e).message;
      this.state.lastRetrainAt = new Date().toISOString();
      this.log(`retraining failed, previous candidate kept: ${this.state.lastRetrainError}`);
    }
    await this.publish().catch(() => undefined);
  }

  /** Register a new candidate and put it in shadow, unless a canary is running or it is known already. */
  private async register(r: RetrainResult): Promise<void> {
    const state = await this.rollout.state();
    if (state.versions[r.version] !== undefined) {
      this.state.lastEvent = `retraining produced ${r.version} again (already ${state.versions[r.version]!.stage})`;
      return;
    }
    const cur = inFlight(state);
    if (cur !== null && (cur.stage === 'canary' || (cur.stage === 'paused' && cur.pausedFrom === 'canary'))) {
      this.state.lastEvent = `candidate ${r.version} kept back: ${cur.id} is in canary`;
      return;
    }
    // The same path as `umbra rollout register`: artifacts checked against this config, then
    // register → shadow with the offline evaluation carried, in the audit log.
    try {
      await registerBundle({ rollout: this.rollout, bundles: this.o.bundles, settings: this.o.settings }, r.bundle, { actor: 'shadow-controller', trigger: 'auto', reason: this.state.lastRetrainReason ?? 'retrained' });
    } catch (e) {
      this.state.lastEvent = `candidate ${r.version} not registered: ${toUmbraError(e).message}`;
      this.log(this.state.lastEvent);
      return;
    }
    this.state.lastEvent = `candidate ${r.version} in shadow`;
    this.log(`candidate ${r.version} registered and scoring in the shadow`);
  }
}
