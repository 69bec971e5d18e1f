/**
 * Runs policies off the caller's thread. A policy is our code, but a bug (an exception, an endless
 * loop, a slow artifact) must never delay or break a production answer: every call has a deadline,
 * a worker that stops answering is replaced, and the caller always gets either a decision or a
 * typed error in time to fall back to the baseline.
 *
 * A slot ("champion", "candidate", "shadow:<id>") holds one loaded policy. Loading happens
 * entirely inside the worker before the slot is swapped, so no call sees a half-loaded model.
 */
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import type { BackgroundPriority } from '../../platform/thread-priority.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { Context } from '../../core/events.js';

/** A decision from a hosted policy. */
export interface HostedDecision {
  action: string;
  propensity: number;
  probs: Record<string, number>;
  /** Policy version (artifact id) that decided. */
  version: string;
  /** Time spent inside the policy, microseconds. */
  latencyUs: number;
}

/** What a decision needs. */
export interface HostedRequest {
  id: string;
  context: Context;
  actions: readonly string[];
  baseline?: string;
}

export interface PolicyHostOptions {
  /**
   * URL of a module exporting `loadPolicy(path: string): Promise<LoadedPolicy> | LoadedPolicy`.
   * @default the artifact loader of src/services/artifacts.js (`loadPolicy`)
   */
  loaderUrl?: string;
  /** Deadline of one decision, milliseconds. @default 5 */
  deadlineMs?: number;
  /** Replace the worker after this many consecutive timeouts... @default 3 */
  maxConsecutiveTimeouts?: number;
  /**
   * ...once it has also been silent this long: a worker that is only slow because the machine is
   * busy still answers, and replacing it would only add a cold start to the load. @default 250
   */
  stuckMs?: number;
  /**
   * Scheduling of the worker thread (thread-priority.ts). Shadow scoring runs as a background
   * thread so that it takes CPU only when the service's own threads do not need it. @default 'normal'
   */
  priority?: BackgroundPriority;
}

interface Pending {
  resolve: (d: HostedDecision | BatchResult[]) => void;
  reject: (e: UmbraError) => void;
  timer: NodeJS.Timeout | undefined;
}

/** One result of a batch: a decision, or the error of that one request. */
export type BatchResult = { ok: true; decision: HostedDecision } | { ok: false; message: string };

/** One answer of a `many` message: a decision or the error of that one request. */
type ManyResult = { rid: number; ok: true; action: string; propensity: number; probs: Record<string, number>; version: string; us: number } | { rid: number; ok: false; message: string; code?: string };

type FromWorker =
  | { t: 'decided'; rid: number; action: string; propensity: number; probs: Record<string, number>; version: string; us: number }
  | { t: 'many'; results: ManyResult[] }
  | { t: 'batch'; rid: number; results: ({ ok: true; action: string; propensity: number; probs: Record<string, number>; version: string; us: number } | { ok: false; message: string })[] }
  | { t: 'failed'; rid: number; message: string; code?: string }
  | { t: 'loaded'; rid: number; version: string }
  | { t: 'ready' };

const WORKER_URL = new URL('./worker.main.js', import.meta.url);
const DEFAULT_LOADER = new URL('../artifacts/artifacts.js', import.meta.url).href;

/**
 * A worker thread hosting named policy slots, with per-call deadlines and self-healing.
 *
 * Single decisions are sent in groups: every `decide` of one turn of the event loop goes to the
 * worker in one message (fewer messages and thread wake-ups under load). The worker answers on a
 * port of its own, which the deadline timer drains synchronously before it declares a timeout, so
 * an answer that arrived while the event loop was busy elsewhere is never mistaken for a late one.
 * After a restart the host is warming until every slot is loaded again; calls meanwhile fall back
 * at once and do not count as the new worker's timeouts (else one slow start restarts it again).
 */
export class PolicyHost {
  private worker: Worker;
  private port!: MessagePort;
  private warming = false;
  private queued: { rid: number; slot: string; req: HostedRequest; deadlineMs: number }[] = [];
  private flushScheduled = false;
  /** When the worker last sent anything (performance.now()). */
  private lastHeard = performance.now();
  private readonly stuckMs: number;
  private watchdog: NodeJS.Timeout | undefined;
  private readonly loaderUrl: string;
  private readonly deadlineMs: number;
  private readonly maxTimeouts: number;
  private readonly priority: BackgroundPriority;
  private nextRid = 1;
  private pending = new Map<number, Pending>();
  private loads = new Map<number, { resolve: (v: string) => void; reject: (e: UmbraError) => void }>();
  private slots = new Map<string, { path: string; version: string }>();
  private consecutiveTimeouts = 0;
  private closed = false;
  /** Counters for status and metrics. */
  readonly stats = { decided: 0, failed: 0, timedOut: 0, restarts: 0 };

  constructor(opts: PolicyHostOptions = {}) {
    this.loaderUrl = opts.loaderUrl ?? DEFAULT_LOADER;
    this.deadlineMs = opts.deadlineMs ?? 5;
    this.maxTimeouts = opts.maxConsecutiveTimeouts ?? 3;
    this.stuckMs = opts.stuckMs ?? 250;
    this.priority = opts.priority ?? 'normal';
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const { port1, port2 } = new MessageChannel();
    const w = new Worker(WORKER_URL, { workerData: { loaderUrl: this.loaderUrl, priority: this.priority, port: port2 }, transferList: [port2] });
    w.unref();
    port1.unref();
    port1.on('message', (m: FromWorker) => {
      if (this.worker === w) this.onMessage(m);
    });
    this.port = port1;
    w.on('error', () => this.restart());
    w.on('exit', () => {
      if (!this.closed && this.worker === w) this.restart();
    });
    return w;
  }

  /** Handle every answer the worker has already sent (called by deadline timers before they fire). */
  private drain(): void {
    for (let m = receiveMessageOnPort(this.port); m !== undefined; m = receiveMessageOnPort(this.port)) this.onMessage(m.message as FromWorker);
  }

  private onMessage(m: FromWorker): void {
    this.lastHeard = performance.now();
    if (m.t === 'ready') return;
    if (m.t === 'many') {
      for (const r of m.results) {
        const p = this.pending.get(r.rid);
        if (!p) continue; // answered after its deadline: already fell back
        this.pending.delete(r.rid);
        clearTimeout(p.timer);
        this.consecutiveTimeouts = 0;
        if (r.ok) {
          this.stats.decided++;
          p.resolve({ action: r.action, propensity: r.propensity, probs: r.probs, version: r.version, latencyUs: r.us });
        } else {
          this.stats.failed++;
          p.reject(new UmbraError(r.code === ErrorCode.POLICY_NOT_FOUND ? ErrorCode.POLICY_NOT_FOUND : ErrorCode.INTERNAL, `policy failed: ${r.message}`));
        }
      }
      return;
    }
    if (m.t === 'loaded') {
      const l = this.loads.get(m.rid);
      this.loads.delete(m.rid);
      l?.resolve(m.version);
      return;
    }
    if (m.t === 'failed' && this.loads.has(m.rid)) {
      const l = this.loads.get(m.rid)!;
      this.loads.delete(m.rid);
      l.reject(new UmbraError(m.code === ErrorCode.POLICY_NOT_FOUND ? ErrorCode.POLICY_NOT_FOUND : ErrorCode.ARTIFACT_INVALID, m.message));
      return;
    }
    const p = this.pending.get(m.rid);
    if (!p) return; // answered after its deadline: already fell back
    this.pending.delete(m.rid);
    clearTimeout(p.timer);
    this.consecutiveTimeouts = 0;
    if (m.t === 'decided') {
      this.stats.decided++;
      p.resolve({ action: m.action, propensity: m.propensity, probs: m.probs, version: m.version, latencyUs: m.us });
    } else if (m.t === 'batch') {
      this.stats.decided += m.results.length;
      p.resolve(m.results.map((r) => (r.ok ? { ok: true, decision: { action: r.action, propensity: r.propensity, probs: r.probs, version: r.version, latencyUs: r.us } } : { ok: false, message: r.message })));
    } else {
      this.stats.failed++;
      p.reject(new UmbraError(ErrorCode.INTERNAL, `policy failed: ${m.message}`));
    }
  }

  /** A call missed its deadline: after enough in a row from a silent worker, replace it. */
  private timedOut(): void {
    if (++this.consecutiveTimeouts < this.maxTimeouts) return;
    const silent = performance.now() - this.lastHeard;
    if (silent >= this.stuckMs) {
      this.restart();
      return;
    }
    if (this.watchdog !== undefined) return;
    const heard = this.lastHeard;
    this.watchdog = setTimeout(() => {
      this.watchdog = undefined;
      this.drain();
      if (this.lastHeard === heard && this.consecutiveTimeouts >= this.maxTimeouts) this.restart();
    }, this.stuckMs - silent);
    this.watchdog.unref();
  }

  /** Replace a stuck or dead worker and reload every slot into the new one. */
  private restart(): void {
    if (this.closed) return;
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.watchdog = undefined;
    this.lastHeard = performance.now();
    this.stats.restarts++;
    const old = this.worker;
    const oldPort = this.port;
    this.worker = this.spawn();
    oldPort.close();
    void old.terminate().catch(() => undefined);
    for (const [rid, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new UmbraError(ErrorCode.TIMEOUT, 'policy worker restarted'));
      this.pending.delete(rid);
    }
    for (const [rid, l] of this.loads) {
      l.reject(new UmbraError(ErrorCode.INTERNAL, 'policy worker restarted during load'));
      this.loads.delete(rid);
    }
    for (const q of this.queued) {
      const p = this.pending.get(q.rid);
      if (p) {
        clearTimeout(p.timer);
        this.pending.delete(q.rid);
        p.reject(new UmbraError(ErrorCode.TIMEOUT, 'policy worker restarted'));
      }
    }
    this.queued = [];
    this.consecutiveTimeouts = 0;
    let left = this.slots.size;
    this.warming = left > 0;
    const done = (): void => {
      if (--left === 0) this.warming = false;
    };
    for (const [slot, s] of this.slots) {
      const rid = this.nextRid++;
      this.loads.set(rid, { resolve: done, reject: done });
      this.worker.postMessage({ t: 'load', rid, slot, path: s.path });
    }
  }

  /** Load an artifact into a slot; resolves with its version once the slot serves it. */
  load(slot: string, path: string, timeoutMs = 30_000): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      const rid = this.nextRid++;
      const timer = setTimeout(() => {
        this.loads.delete(rid);
        reject(new UmbraError(ErrorCode.TIMEOUT, `loading ${path} took longer than ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      this.loads.set(rid, {
        resolve: (version) => {
          clearTimeout(timer);
          this.slots.set(slot, { path, version });
          resolve(version);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.worker.postMessage({ t: 'load', rid, slot, path });
    });
  }

  /** Empty a slot. */
  unload(slot: string): void {
    this.slots.delete(slot);
    this.worker.postMessage({ t: 'unload', slot });
  }

  /** The version loaded in a slot, if any. */
  versionOf(slot: string): string | undefined {
    return this.slots.get(slot)?.version;
  }

  /** Decide with the policy in `slot`, or reject (E_TIMEOUT, E_POLICY_NOT_FOUND, E_INTERNAL) in time. */
  decide(slot: string, req: HostedRequest, deadlineMs = this.deadlineMs): Promise<HostedDecision> {
    if (!this.slots.has(slot)) return Promise.reject(new UmbraError(ErrorCode.POLICY_NOT_FOUND, `no policy loaded in slot ${slot}`));
    if (this.warming) return Promise.reject(new UmbraError(ErrorCode.TIMEOUT, `policy worker of ${slot} is restarting`));
    return new Promise<HostedDecision>((resolve, reject) => {
      const rid = this.nextRid++;
      this.pending.set(rid, { resolve: resolve as (d: HostedDecision | BatchResult[]) => void, reject, timer: undefined });
      this.queued.push({ rid, slot, req, deadlineMs });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flushQueued());
      }
    });
  }

  /** Send every decision queued in this turn of the event loop in one message. */
  private flushQueued(): void {
    this.flushScheduled = false;
    const q = this.queued;
    if (q.length === 0) return;
    this.queued = [];
    // The deadline runs from the hand-over: time the event loop spent before it is not the policy's.
    for (const x of q) {
      const p = this.pending.get(x.rid);
      if (p === undefined) continue;
      p.timer = setTimeout(() => {
        if (!this.pending.has(x.rid)) return;
        this.drain(); // an answer that is already here is not late
        const late = this.pending.get(x.rid);
        if (late === undefined) return;
        this.pending.delete(x.rid);
        this.stats.timedOut++;
        late.reject(new UmbraError(ErrorCode.TIMEOUT, `policy in ${x.slot} missed its ${x.deadlineMs} ms deadline`));
        this.timedOut();
      }, x.deadlineMs);
    }
    this.worker.postMessage({ t: 'many', items: q.map((x) => ({ rid: x.rid, slot: x.slot, id: x.req.id, context: x.req.context, actions: x.req.actions, baseline: x.req.baseline })) });
  }

  /**
   * Decide many requests with one policy in one message (shadow scoring: fewer round trips). Each
   * result carries its own compute time; the deadline covers the whole batch.
   */
  decideBatch(slot: string, reqs: readonly HostedRequest[], deadlineMs: number): Promise<BatchResult[]> {
    if (!this.slots.has(slot)) return Promise.reject(new UmbraError(ErrorCode.POLICY_NOT_FOUND, `no policy loaded in slot ${slot}`));
    return new Promise<BatchResult[]>((resolve, reject) => {
      const rid = this.nextRid++;
      const timer = setTimeout(() => {
        this.drain(); // an answer that is already here is not late
        if (!this.pending.delete(rid)) return;
        this.stats.timedOut++;
        reject(new UmbraError(ErrorCode.TIMEOUT, `policy in ${slot} missed its ${deadlineMs} ms deadline for a batch of ${reqs.length}`));
        this.timedOut();
      }, deadlineMs);
      this.pending.set(rid, { resolve: resolve as (d: HostedDecision | BatchResult[]) => void, reject, timer });
      this.worker.postMessage({ t: 'batch', rid, slot, reqs: reqs.map((r) => ({ id: r.id, context: r.context, actions: r.actions, baseline: r.baseline })) });
    });
  }

  /** Stop the worker; pending calls reject. */
  async close(): Promise<void> {
    this.closed = true;
    this.queued = [];
    if (this.watchdog !== undefined) clearTimeout(this.watchdog);
    this.port.close();
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new UmbraError(ErrorCode.INTERNAL, 'policy host closed'));
    }
    this.pending.clear();
    await this.worker.terminate();
  }
}
