/**
 * The worker side of PolicyHost: loads artifacts through a loader module and answers decisions.
 * It never throws across the boundary: every failure becomes a `failed` message.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Context } from '../../core/events.js';
import { lowerThreadPriority, type BackgroundPriority } from '../../platform/thread-priority.js';

/** What a loader module returns for an artifact path. */
export interface LoadedPolicy {
  version: string;
  decide(id: string, context: Context, actions: readonly string[], baseline?: string): { action: string; propensity: number; probs: ArrayLike<number> | Record<string, number> };
}

interface LoaderModule {
  loadPolicy(path: string): Promise<LoadedPolicy> | LoadedPolicy;
}

type ToWorker =
  | { t: 'load'; rid: number; slot: string; path: string }
  | { t: 'unload'; slot: string }
  | { t: 'decide'; rid: number; slot: string; id: string; context: Context; actions: string[]; baseline?: string }
  | { t: 'batch'; rid: number; slot: string; reqs: { id: string; context: Context; actions: string[]; baseline?: string }[] }
  | { t: 'many'; items: { rid: number; slot: string; id: string; context: Context; actions: string[]; baseline?: string }[] };

if (!parentPort) throw new Error('policy-worker must run in a worker thread');
const { loaderUrl, priority, port: replies } = workerData as { loaderUrl: string; priority?: BackgroundPriority; port: MessagePort };
/** Answers go back on their own port, which the host can drain synchronously (see host.ts). */
const port = replies;
const inbox = parentPort;
lowerThreadPriority(priority ?? 'normal', 10);
const slots = new Map<string, LoadedPolicy>();
let loader: LoaderModule | undefined;

function toRecord(actions: readonly string[], probs: ArrayLike<number> | Record<string, number>): Record<string, number> {
  if (typeof (probs as ArrayLike<number>).length === 'number') {
    const arr = probs as ArrayLike<number>;
    const out: Record<string, number> = {};
    for (let i = 0; i < actions.length; i++) out[actions[i]!] = arr[i] ?? 0;
    return out;
  }
  return probs as Record<string, number>;
}

inbox.on('message', (m: ToWorker) => {
  if (m.t === 'many') {
    const results = m.items.map((r) => {
      const p = slots.get(r.slot);
      if (!p) return { rid: r.rid, ok: false as const, message: `no policy in slot ${r.slot}`, code: 'E_POLICY_NOT_FOUND' };
      try {
        const t0 = performance.now();
        const d = p.decide(r.id, r.context, r.actions, r.baseline);
        const us = Math.round((performance.now() - t0) * 1000);
        return { rid: r.rid, ok: true as const, action: d.action, propensity: d.propensity, probs: toRecord(r.actions, d.probs), version: p.version, us };
      } catch (e) {
        return { rid: r.rid, ok: false as const, message: String((e as Error).message ?? e) };
      }
    });
    port.postMessage({ t: 'many', results });
    return;
  }
  void (async () => {
    if (m.t === 'unload') {
      slots.delete(m.slot);
      return;
    }
    if (m.t === 'load') {
      try {
        loader ??= (await import(loaderUrl)) as LoaderModule;
        const p = await loader.loadPolicy(m.path);
        slots.set(m.slot, p); // swap only once fully loaded
        port.postMessage({ t: 'loaded', rid: m.rid, version: p.version });
      } catch (e) {
        const err = e as { message?: string; code?: string };
        port.postMessage({ t: 'failed', rid: m.rid, message: String(err.message ?? e), code: err.code });
      }
      return;
    }
    if (m.t === 'batch') {
      const p = slots.get(m.slot);
      if (!p) {
        port.postMessage({ t: 'failed', rid: m.rid, message: `no policy in slot ${m.slot}`, code: 'E_POLICY_NOT_FOUND' });
        return;
      }
      const results = m.reqs.map((r) => {
        try {
          const t0 = performance.now();
          const d = p.decide(r.id, r.context, r.actions, r.baseline);
          const us = Math.round((performance.now() - t0) * 1000);
          return { ok: true as const, action: d.action, propensity: d.propensity, probs: toRecord(r.actions, d.probs), version: p.version, us };
        } catch (e) {
          return { ok: false as const, message: String((e as Error).message ?? e) };
        }
      });
      port.postMessage({ t: 'batch', rid: m.rid, results });
      return;
    }
    const p = slots.get(m.slot);
    if (!p) {
      port.postMessage({ t: 'failed', rid: m.rid, message: `no policy in slot ${m.slot}`, code: 'E_POLICY_NOT_FOUND' });
      return;
    }
    try {
      const t0 = performance.now();
      const d = p.decide(m.id, m.context, m.actions, m.baseline);
      const us = Math.round((performance.now() - t0) * 1000);
      port.postMessage({ t: 'decided', rid: m.rid, action: d.action, propensity: d.propensity, probs: toRecord(m.actions, d.probs), version: p.version, us });
    } catch (e) {
      port.postMessage({ t: 'failed', rid: m.rid, message: String((e as Error).message ?? e) });
    }
  })();
});
port.postMessage({ t: 'ready' });
