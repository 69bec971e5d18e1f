/**
 * The decision engine behind `POST /v1/decide`: routes each request by sticky key to the champion,
 * the canary candidate or the control slice, asks the right policy within a deadline, logs the
 * decision as a canonical event, and offers it to the shadow. Whatever goes wrong — no policy, an
 * exception, a missed deadline, a full log buffer, a broken store — the caller gets an answer:
 * its own baseline, labelled `fallback` with a counted reason.
 *
 * Every logged event says who served it in its `policy` field: `umbra:<slice>:<how>:<version>`
 * with slice ∈ production|canary|control, how ∈ served|error|timeout|unavailable, followed by
 * `#u=<hash of the sticky key>` when there is one. The canary judge reads the slices (and the
 * randomisation units, for the sample-ratio check) back from the log, so the split survives restarts.
 */
import { randomUUID } from 'node:crypto';
import type { Config } from '../../core/config/index.js';
import { BASELINE_POLICY_VERSION, type DecideRequestParsed, type DecideResponse, type OutcomeRequest, ServedBy } from '../../core/api.js';
import type { DecisionEvent } from '../../core/events.js';
import type { OutcomeUpdate } from '../../core/telemetry/types.js';
import { ErrorCode, UmbraError, isUmbraError } from '../../core/errors.js';
import { drawFor, pickIndex } from '../../core/rng.js';
import { storableContext } from '../../core/text.js';
import type { Context } from '../../core/events.js';
import { fnv1a, murmur3 } from '../../core/hash.js';
import { rolloutStatus, servingFor, shadowCandidate, inFlight, type RolloutState } from '../../core/rollout/index.js';
import type { RecordInsert, WriteBatch } from '../../store/port.js';
import { isoEpochMs } from '../../core/telemetry/timestamps.js';
import { encodeDecision, type EncodedDecision } from '../../store/codec.js';
import { Journal } from '../../platform/journal.js';
import { PolicyHost, type PolicyHostOptions } from '../policy-host/host.js';
import { InlinePolicyHost, type ServingHost } from '../policy-host/inline.js';
import { ShadowScorer } from '../shadow/scorer.js';
import { WriteTracker } from '../../platform/write-tracker.js';
import { servedTag } from '../rollout/served-tag.js';
import { FallbackReason, type DecideOptions, type DecisionEngineOptions, type DecisionPublisher, type EngineStats } from './types.js';

export { FallbackReason, type DecideOptions, type DecisionEngineOptions, type DecisionPublisher, type EngineStats };

/** A policy that failed to load is tried again after this long. */
const LOAD_RETRY_MS = 2000;

interface Pending {
  decisions: EncodedDecision[];
  outcomes: OutcomeUpdate[];
}

/**
 * A journal line: a decision in its stored form (`e`: id, point, ts, action; `b`: the body, whose
 * JSON is the one the store keeps, so a decision is serialised once) or an outcome update.
 */
type JournalLine = { e: [string, string, string, string]; b: unknown } | { o: OutcomeUpdate };

/** Policy slots of a version: `${version}:${point}`. */
function slot(version: string, point: string): string {
  return `${version}:${point}`;
}

export class DecisionEngine {
  private readonly opts: DecisionEngineOptions;
  private readonly config: Config;
  private readonly now: () => number;
  private readonly serving: ServingHost;
  private readonly shadowHost: PolicyHost;
  readonly shadow: ShadowScorer;
  private state: RolloutState | undefined;
  /** Why nothing but the rules may serve (the audit log does not verify), when that is so. */
  private untrusted: string | undefined;
  /** Versions whose bundles are loaded, version → points. */
  private loaded = new Map<string, Set<string>>();
  /** Failed loads with their time: retried after LOAD_RETRY_MS (a worker restart mid-load is not permanent). */
  private loadErrors = new Map<string, { message: string; at: number }>();
  private pending: Pending = { decisions: [], outcomes: [] };
  private flushTimer: NodeJS.Timeout | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  /** Log batches handed to the store and not yet written (they count against `log_buffer`). */
  private readonly writes = new WriteTracker();
  private refreshing: Promise<void> | undefined;
  /** A refresh asked for while one was in flight: it runs once that one ends (see `refresh`). */
  private queuedRefresh: Promise<void> | undefined;
  /** When the rollout state was last read successfully (ms, by the engine's clock). */
  private stateReadAt = 0;
  private readonly exploreStream: number;
  private readonly journal: Journal | undefined;
  private readonly knownPoints: ReadonlySet<string>;
  readonly stats: EngineStats = { decisions: 0, bySlice: {}, byServedBy: {}, fallbacks: {}, outcomes: 0, logged: 0, logDropped: 0, logErrors: 0, latencyUs: [] };

  constructor(opts: DecisionEngineOptions) {
    this.opts = opts;
    this.config = opts.settings.config;
    this.now = opts.now ?? Date.now;
    const hostOpts: PolicyHostOptions = { deadlineMs: opts.settings.config.server.decision_deadline_ms, ...(opts.loaderUrl === undefined ? {} : { loaderUrl: opts.loaderUrl }) };
    // Umbra's own policy kinds serve on the event loop (bounded cost, no thread hops); a custom loader or the config puts them in a worker.
    const inline = opts.loaderUrl === undefined && opts.settings.config.server.serving_thread === 'main';
    this.serving = inline ? new InlinePolicyHost({ deadlineMs: opts.settings.config.server.decision_deadline_ms }) : new PolicyHost(hostOpts);
    this.shadowHost = new PolicyHost({ ...hostOpts, deadlineMs: opts.settings.config.shadow_mode.time_budget_ms, priority: opts.settings.config.server.background_priority });
    this.shadow = new ShadowScorer({
      store: opts.store,
      host: this.shadowHost,
      queueSize: opts.settings.config.shadow_mode.queue_size,
      timeBudgetMs: opts.settings.config.shadow_mode.time_budget_ms,
      cpuShare: opts.settings.config.server.shadow_cpu_share,
    });
    this.exploreStream = murmur3('exploration', 0x5eed) & 0xffff;
    this.journal = opts.journalDir === undefined ? undefined : new Journal(opts.journalDir, opts.journalMode ?? 'write');
    this.knownPoints = new Set(opts.settings.config.server.points);
  }

  /** True when the service answers for decision point `point`: a configured point or one of a loaded policy. */
  knowsPoint(point: string): boolean {
    if (this.knownPoints.has(point)) return true;
    for (const points of this.loaded.values()) if (points.has(point)) return true;
    return false;
  }

  /** The points `knowsPoint` accepts, sorted (for error messages). */
  get points(): string[] {
    const all = new Set(this.knownPoints);
    for (const points of this.loaded.values()) for (const p of points) all.add(p);
    return [...all].sort();
  }

  /**
   * Write what a crash left in the journal to the store, then delete it. Decisions are keyed by id
   * and outcomes merge, so records that had reached the store are stored once. Returns the number
   * of records replayed.
   */
  async replayJournal(): Promise<number> {
    if (this.opts.journalDir === undefined) return 0;
    let replayed = 0;
    for (const seg of Journal.segments(this.opts.journalDir)) {
      let records: RecordInsert[] = [];
      let outcomes: OutcomeUpdate[] = [];
      const write = async (): Promise<void> => {
        if (records.length + outcomes.length === 0) return;
        await this.opts.store.writeBatch({ records, outcomes });
        replayed += records.length + outcomes.length;
        records = [];
        outcomes = [];
      };
      for (const line of Journal.lines(seg.path)) {
        let j: JournalLine;
        try {
          j = JSON.parse(line) as JournalLine;
        } catch {
          continue; // never acknowledged: append returns only after a whole line is written
        }
        if ('e' in j) {
          const [id, point, ts, action] = j.e;
          records.push({ decisions: [{ id, point, ts, tsMs: isoEpochMs(ts), action, body: JSON.stringify(j.b) }] });
        } else if ('o' in j) outcomes.push(j.o);
        if (records.length + outcomes.length >= 1000) await write();
      }
      await write();
      this.journal?.release(seg.seq);
    }
    return replayed;
  }

  /** Load the rollout state and its policies; then keep polling for changes made elsewhere. */
  async start(): Promise<void> {
    await this.replayJournal();
    await this.refresh();
    const cfg = this.config.server;
    this.pollTimer = setInterval(() => void this.refresh().catch(() => undefined), cfg.state_poll_ms);
    this.pollTimer.unref();
    this.flushTimer = setInterval(() => void this.flush(), cfg.log_flush_ms);
    this.flushTimer.unref();
  }

  /** Milliseconds since the rollout state was last read (Infinity before the first read). */
  get stateAgeMs(): number {
    return this.stateReadAt === 0 ? Infinity : Date.now() - this.stateReadAt;
  }

  /** The rollout state the engine serves with (as of the last refresh). */
  get rolloutState(): RolloutState | undefined {
    return this.state;
  }

  /** Policy versions that failed to load, with the reason. */
  get loadFailures(): Record<string, string> {
    return Object.fromEntries([...this.loadErrors].map(([k, v]) => [k, v.message]));
  }

  /**
   * Re-read the rollout state and make the loaded policies match it: the champion and a canary
   * candidate in the serving host, the shadow candidate in the shadow host. A new policy is fully
   * loaded before requests use it; a policy that fails to load is reported and the rules serve.
   */
  refresh(): Promise<void> {
    if (this.refreshing !== undefined) {
      // The refresh in flight may have read the state before this call changed it: the caller is
      // owed a read that starts after its call. Every caller meanwhile shares one queued run.
      this.queuedRefresh ??= this.refreshing
        .catch(() => undefined)
        .then(() => {
          this.queuedRefresh = undefined;
          return this.refresh();
        });
      return this.queuedRefresh;
    }
    this.refreshing = (async () => {
      try {
        const state = await this.opts.rollout.state();
        const wantServing = new Set<string>();
        if (state.champion !== BASELINE_POLICY_VERSION) wantServing.add(state.champion);
        const c = inFlight(state);
        if (c !== null && (c.stage === 'canary' || (c.stage === 'paused' && c.pausedFrom === 'canary'))) wantServing.add(c.id);
        for (const prev of state.previousChampions) if (prev !== BASELINE_POLICY_VERSION) wantServing.add(prev); // kept loaded for instant rollback
        for (const v of wantServing) await this.ensureLoaded(this.serving, v);
        const sc = this.opts.shadow === false ? null : shadowCandidate(state);
        if (sc !== null) {
          const points = await this.ensureLoaded(this.shadowHost, sc, 'shadow');
          this.shadow.setCandidates(points ? [{ version: sc, points }] : []);
        } else this.shadow.setCandidates([]);
        this.state = state; // swap only after the policies it needs are loaded
        // Staleness is measured on the wall clock: an accelerated test clock must not age the state.
        this.stateReadAt = Date.now();
        this.untrusted = this.opts.rollout.trusted ? undefined : 'the audit log does not verify';
      } finally {
        this.refreshing = undefined;
      }
    })();
    return this.refreshing;
  }

  private async ensureLoaded(host: ServingHost, version: string, tag = 'serving'): Promise<Set<string> | undefined> {
    const key = `${tag}:${version}`;
    const have = this.loaded.get(key);
    if (have) return have;
    const failed = this.loadErrors.get(key);
    if (failed !== undefined && Date.now() - failed.at < LOAD_RETRY_MS) return undefined;
    try {
      await this.opts.bundles.ensure(version); // another host may have built it: fetched from the shared store
      const arts = this.opts.bundles.artifacts(version);
      const points = new Set<string>();
      for (const [point, path] of Object.entries(arts)) {
        await host.load(slot(version, point), path);
        points.add(point);
      }
      this.loaded.set(key, points);
      this.loadErrors.delete(key);
      return points;
    } catch (e) {
      this.loadErrors.set(key, { message: (e as Error).message, at: Date.now() });
      return undefined;
    }
  }

  private count(map: Record<string, number>, key: string): void {
    map[key] = (map[key] ?? 0) + 1;
  }

  /** The rules' own answer, with the configured exploration floor and its exact propensity. */
  private rules(id: string, req: DecideRequestParsed): { action: string; propensity: number; probs: Record<string, number> } {
    const e = this.config.server.exploration_floor;
    const k = req.actions.length;
    if (e <= 0 || k < 2) {
      return { action: req.baselineAction, propensity: 1, probs: Object.fromEntries(req.actions.map((a) => [a, a === req.baselineAction ? 1 : 0])) };
    }
    const probs = req.actions.map((a) => (a === req.baselineAction ? 1 - e : e / (k - 1)));
    const i = pickIndex(probs, drawFor(this.config.server.seed, id, this.exploreStream));
    return { action: req.actions[i]!, propensity: probs[i]!, probs: Object.fromEntries(req.actions.map((a, j) => [a, probs[j]!])) };
  }

  /** Decide. Never rejects: every failure becomes the baseline with `servedBy: "fallback"`. */
  async decide(req: DecideRequestParsed, o: DecideOptions = {}): Promise<DecideResponse> {
    const t0 = performance.now();
    const id = req.id ?? randomUUID();
    // Free text becomes hashed features once, here: the policy, the log and the shadow all get the same storable context.
    const context = storableContext(req.context, this.config.telemetry);
    const state = this.state;
    let stage = 'unknown';
    let slice: string = 'production';
    let how = 'served';
    let version: string = BASELINE_POLICY_VERSION;
    let servedBy: DecideResponse['servedBy'];
    let reason: string | undefined;
    let choice: { action: string; propensity: number; probs: Record<string, number> };
    try {
      if (state === undefined) throw new UmbraError(ErrorCode.NOT_RUNNING, 'rollout state not loaded yet');
      if (this.untrusted !== undefined) throw new UmbraError(ErrorCode.AUDIT_TAMPERED, this.untrusted);
      // A replica cut off from the shared state may be serving a policy the fleet rolled back.
      if (Date.now() - this.stateReadAt > this.config.server.state_staleness_ms) throw new UmbraError(ErrorCode.STORE, 'the rollout state is stale');
      stage = rolloutStatus(state).stage;
      const s = servingFor(state, req.stickyKey);
      slice = s.slice;
      version = s.version;
      servedBy = slice as DecideResponse['servedBy'];
      const points = this.loaded.get(`serving:${version}`);
      if (version === BASELINE_POLICY_VERSION || (points !== undefined && !points.has(req.point))) {
        choice = this.rules(id, req);
        if (version !== BASELINE_POLICY_VERSION) version = BASELINE_POLICY_VERSION; // this point has no learned policy: rules serve
      } else if (points === undefined) {
        throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `policy ${version} is not loaded`);
      } else {
        const d = await this.serving.decide(slot(version, req.point), { id, context, actions: req.actions, baseline: req.baselineAction });
        if (!req.actions.includes(d.action)) throw new UmbraError(ErrorCode.INTERNAL, `policy chose ${d.action}, which is not an eligible action`);
        choice = { action: d.action, propensity: d.propensity, probs: d.probs };
      }
    } catch (e) {
      const code = isUmbraError(e) ? e.code : ErrorCode.INTERNAL;
      reason =
        code === ErrorCode.TIMEOUT ? FallbackReason.TIMEOUT
        : code === ErrorCode.AUDIT_TAMPERED ? FallbackReason.AUDIT_UNTRUSTED
        : code === ErrorCode.STORE ? FallbackReason.STATE_STALE
        : code === ErrorCode.POLICY_NOT_FOUND || code === ErrorCode.NOT_RUNNING ? FallbackReason.NO_POLICY
        : isUmbraError(e) && code === ErrorCode.INTERNAL ? FallbackReason.POLICY_ERROR
        : FallbackReason.ENGINE_ERROR;
      how = reason === FallbackReason.TIMEOUT ? 'timeout' : reason === FallbackReason.NO_POLICY || reason === FallbackReason.AUDIT_UNTRUSTED || reason === FallbackReason.STATE_STALE ? 'unavailable' : 'error';
      servedBy = ServedBy.FALLBACK;
      choice = { action: req.baselineAction, propensity: 1, probs: Object.fromEntries(req.actions.map((a) => [a, a === req.baselineAction ? 1 : 0])) };
      this.count(this.stats.fallbacks, reason);
    }
    const resp: DecideResponse = {
      id,
      action: choice.action,
      propensity: choice.propensity,
      servedBy,
      stage,
      policyVersion: servedBy === ServedBy.FALLBACK ? BASELINE_POLICY_VERSION : version,
      ...(reason === undefined ? {} : { reason }),
    };
    if (o.abandoned?.() === true) return resp; // the caller already answered with the baseline, which was logged instead
    this.stats.decisions++;
    this.count(this.stats.bySlice, slice);
    this.count(this.stats.byServedBy, servedBy);
    const event = this.log(req, context, resp, choice.probs, servedTag({ slice, how, version, ...(req.stickyKey === undefined ? {} : { unit: fnv1a(req.stickyKey).toString(36) }) }));
    if (event !== undefined && this.opts.publisher !== undefined) await this.publish(event); // in the stream before it is answered
    else if (this.journal !== undefined) await this.journal.written().catch(() => undefined); // on disk before it is answered
    const us = Math.round((performance.now() - t0) * 1000);
    this.stats.latencyUs.push(us);
    if (this.stats.latencyUs.length > 10_000) this.stats.latencyUs.splice(0, 5000);
    return resp;
  }

  /** The fallback answer for a request (the server uses it when even `decide` misses its deadline). */
  static fallback(req: DecideRequestParsed, reason: string, stage = 'unknown'): DecideResponse {
    return { id: req.id ?? randomUUID(), action: req.baselineAction, propensity: 1, servedBy: ServedBy.FALLBACK, stage, policyVersion: BASELINE_POLICY_VERSION, reason };
  }

  /**
   * Log a fallback the caller served without the engine (a missed request deadline), so that every
   * answered decision is in the log. Give the request the answer's id, and `decide` the same
   * request with `abandoned` saying so, so the late decision is not logged as well.
   */
  logFallback(req: DecideRequestParsed, resp: DecideResponse): Promise<void> {
    this.stats.decisions++;
    this.count(this.stats.byServedBy, resp.servedBy);
    if (resp.reason !== undefined) this.count(this.stats.fallbacks, resp.reason);
    const probs = Object.fromEntries(req.actions.map((a) => [a, a === resp.action ? 1 : 0]));
    const event = this.log(req, storableContext(req.context, this.config.telemetry), resp, probs, servedTag({ slice: 'production', how: 'timeout', version: BASELINE_POLICY_VERSION, ...(req.stickyKey === undefined ? {} : { unit: fnv1a(req.stickyKey).toString(36) }) }), false);
    if (event !== undefined && this.opts.publisher !== undefined) return this.publish(event);
    return this.journal === undefined ? Promise.resolve() : this.journal.written().catch(() => undefined);
  }

  /** Publish a logged decision; a failure is counted, never thrown (the caller still gets its answer). */
  private async publish(event: DecisionEvent): Promise<void> {
    try {
      await this.opts.publisher!.publishDecision(event);
      this.stats.logged++;
    } catch {
      this.stats.logErrors++;
    }
  }

  /**
   * Build the decision's event; journal and buffer it for the store (unless a publisher takes it);
   * offer it to the shadow.
   */
  private log(req: DecideRequestParsed, context: Context, resp: DecideResponse, probs: Record<string, number>, policy: string, shadow = true): DecisionEvent | undefined {
    try {
      const ts = new Date(this.now()).toISOString();
      const event: DecisionEvent = {
        v: 1,
        id: resp.id,
        ts,
        point: req.point,
        context,
        actions: [...req.actions],
        action: resp.action,
        propensity: resp.propensity,
        probs,
        policy,
        baseline: req.baselineAction,
      };
      if (this.opts.publisher === undefined) {
        const enc = encodeDecision(event);
        this.journal?.append(`{"e":[${JSON.stringify(enc.id)},${JSON.stringify(enc.point)},${JSON.stringify(enc.ts)},${JSON.stringify(enc.action)}],"b":${enc.body}}`);
        if (this.buffered() >= this.config.server.log_buffer) this.drop();
        else this.pending.decisions.push(enc);
      }
      if (shadow) this.shadow.offer({ id: resp.id, point: req.point, context, actions: req.actions, baseline: req.baselineAction, served: resp.action, ts });
      return event;
    } catch {
      this.stats.logErrors++;
      return undefined;
    }
  }

  /**
   * Record an outcome (late and repeated outcomes merge in the store). Never rejects. Resolves once
   * the stream holds it (with a publisher) or once it is journaled.
   */
  async outcome(req: OutcomeRequest): Promise<void> {
    this.stats.outcomes++;
    const update: OutcomeUpdate = { id: req.id, ts: new Date(this.now()).toISOString(), ...(req.reward === undefined ? {} : { reward: req.reward }), ...(req.outcome === undefined ? {} : { outcome: req.outcome }) };
    if (this.opts.publisher !== undefined) {
      try {
        await this.opts.publisher.publishOutcome(update);
      } catch {
        this.stats.logErrors++;
      }
      return;
    }
    this.journal?.append(JSON.stringify({ o: update }));
    if (this.buffered() >= this.config.server.log_buffer) this.drop();
    else this.pending.outcomes.push(update);
    if (this.journal !== undefined) await this.journal.written().catch(() => undefined);
  }

  /** A record the buffer has no room for: counted, and its journal segment kept for the next start. */
  private drop(): void {
    this.stats.logDropped++;
    this.journal?.keepOpenSegment();
  }

  /** Records not yet written: buffered here or handed to the store. */
  private buffered(): number {
    return this.pending.decisions.length + this.pending.outcomes.length + this.writes.unwritten;
  }

  /**
   * Hand buffered decisions and outcomes to the store as one batch, without waiting for earlier
   * ones (the store commits them in groups, in order); a store failure is counted, never thrown.
   * Resolves when everything handed over so far is written.
   */
  flush(): Promise<void> {
    const batch = this.pending;
    const n = batch.decisions.length + batch.outcomes.length;
    // The journal segment holds exactly the records of this batch (and any dropped ones).
    const segment = this.journal?.seal();
    if (n === 0) return this.writes.written;
    this.pending = { decisions: [], outcomes: [] };
    const decisions = batch.decisions.length;
    return this.writes.track(n, this.writeLog(batch), (ok) => {
      if (ok) {
        this.stats.logged += decisions;
        if (segment !== undefined) this.journal?.release(segment);
      } else this.stats.logErrors += n; // the segment stays: replayed at the next start
    });
  }

  /** Start writing a log batch (in a scope of its own: no closure that outlives it sees the records). */
  private writeLog(batch: Pending): Promise<unknown> {
    const write: WriteBatch = {
      records: batch.decisions.map((event) => ({ decisions: [event] })),
      outcomes: batch.outcomes,
      group: true,
    };
    return WriteTracker.attempt(() => this.opts.store.writeBatch(write));
  }

  /** Stop timers, write what is buffered, stop the policy workers. */
  async close(): Promise<void> {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.flushTimer) clearInterval(this.flushTimer);
    await this.flush();
    this.journal?.close();
    await this.shadow.close();
    await this.serving.close();
    await this.shadowHost.close();
  }
}
