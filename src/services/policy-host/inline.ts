/**
 * Serving policies on the event loop itself, for the policy kinds Umbra builds (LinUCB, Thompson
 * sampling, Beta-Bernoulli, sparse, constant). Their cost per decision is bounded by construction
 * (a fixed feature dimension, text featurised up to MAX_TEXT_CHARS and MAX_WORDS) and measured in
 * microseconds, while a round trip to a worker thread costs two thread wake-ups: on a busy machine
 * with fewer cores than threads each can wait milliseconds for the scheduler, which is what made the
 * tail of the decide latency. A policy loaded from any other loader module (a custom or faulty one)
 * still runs in the isolated worker (PolicyHost), and `server.serving_thread: "worker"` puts every
 * policy there. Each call is timed: a policy slower than its deadline is counted, so a slow
 * artifact shows in the metrics like a worker's timeouts.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { loadPolicy } from '../artifacts/artifacts.js';
import type { HostedDecision, HostedRequest } from './host.js';

type Loaded = ReturnType<typeof loadPolicy>;

/** What the decision engine needs of a policy host (PolicyHost and InlinePolicyHost). */
export interface ServingHost {
  load(slot: string, path: string): Promise<string>;
  decide(slot: string, req: HostedRequest, deadlineMs?: number): Promise<HostedDecision>;
  versionOf(slot: string): string | undefined;
  close(): Promise<void>;
  readonly stats: { decided: number; failed: number; timedOut: number; restarts: number };
}

/** Policies of Umbra's own artifact format, decided synchronously on the caller's thread. */
export class InlinePolicyHost implements ServingHost {
  private readonly slots = new Map<string, Loaded>();
  private readonly deadlineMs: number;
  /** Counters as PolicyHost's; `timedOut` counts decisions that took longer than the deadline (they are still served). */
  readonly stats = { decided: 0, failed: 0, timedOut: 0, restarts: 0 };

  constructor(opts: { deadlineMs?: number } = {}) {
    this.deadlineMs = opts.deadlineMs ?? 5;
  }

  load(slot: string, path: string): Promise<string> {
    try {
      const p = loadPolicy(path);
      this.slots.set(slot, p); // swap only once fully loaded
      return Promise.resolve(p.version);
    } catch (e) {
      const err = e as { message?: string; code?: string };
      return Promise.reject(new UmbraError(err.code === ErrorCode.POLICY_NOT_FOUND ? ErrorCode.POLICY_NOT_FOUND : ErrorCode.ARTIFACT_INVALID, String(err.message ?? e)));
    }
  }

  versionOf(slot: string): string | undefined {
    return this.slots.get(slot)?.version;
  }

  decide(slot: string, req: HostedRequest, deadlineMs = this.deadlineMs): Promise<HostedDecision> {
    const p = this.slots.get(slot);
    if (p === undefined) return Promise.reject(new UmbraError(ErrorCode.POLICY_NOT_FOUND, `no policy loaded in slot ${slot}`));
    const t0 = performance.now();
    try {
      const d = p.decide(req.id, req.context, req.actions, req.baseline);
      const ms = performance.now() - t0;
      if (ms > deadlineMs) this.stats.timedOut++;
      this.stats.decided++;
      const probs: Record<string, number> = {};
      for (let i = 0; i < req.actions.length; i++) probs[req.actions[i]!] = d.probs[i] ?? 0;
      return Promise.resolve({ action: d.action, propensity: d.propensity, probs, version: p.version, latencyUs: Math.round(ms * 1000) });
    } catch (e) {
      this.stats.failed++;
      return Promise.reject(new UmbraError(ErrorCode.INTERNAL, `policy failed: ${String((e as Error).message ?? e)}`));
    }
  }

  close(): Promise<void> {
    this.slots.clear();
    return Promise.resolve();
  }
}
