/**
 * Every key of the shared state (the store's StateStore role) in one place: which process writes
 * it and who reads it. Processes never talk to each other directly; they meet here.
 */
import type { StateStore } from '../store/port.js';

export const StateKey = {
  /** The shadow controller's published state (`umbra shadow status`). Written by `shadow start`. */
  CONTROLLER: 'shadow.controller',
  /** Shadow counters per candidate, one key per kind of scoring process (`shadow.stats.serve`, `shadow.stats.controller`), each process's own counters inside. */
  SHADOW_STATS: 'shadow.stats',
  /** The canary judge's state and last verdict. Written by the rollout autopilot in `serve`. */
  JUDGE: 'rollout.judge',
  /** The last shadow → canary gate report. Written by the autopilot. */
  SHADOW_GATES: 'rollout.shadow_gates',
  /** The drift watch's detector and cursor. Written by the autopilot. */
  DRIFT: 'rollout.drift',
  /** The audit chain's head (sequence and hash) after the last transition: detects a cut tail. */
  AUDIT_HEAD: 'rollout.audit_head',
  /** The most recent alerts, newest first, for processes that did not raise them. */
  RECENT_ALERTS: 'alerts.recent',
  /** How many alerts of each kind any process ever raised (`umbra_alerts_total` in /metrics). */
  ALERT_COUNTS: 'alerts.counts',
} as const;
export type StateKey = (typeof StateKey)[keyof typeof StateKey];

/**
 * Change a shared-state entry from its current value by compare-and-set, trying again when another
 * process wrote it in between: concurrent writers never lose (or undo) each other's change.
 * Whether it was written (false only after `attempts` lost races in a row).
 */
export async function updateState<T>(store: StateStore, key: string, next: (cur: T | undefined) => T, attempts = 20): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    const entry = await store.getState(key);
    if ((await store.casState(key, entry?.version ?? null, next(entry?.value as T | undefined))) !== undefined) return true;
  }
  return false;
}
