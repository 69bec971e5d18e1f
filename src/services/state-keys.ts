/**
 * Every key of the shared state (the store's StateStore role) in one place: which process writes
 * it and who reads it. Processes never talk to each other directly; they meet here.
 */
export const StateKey = {
  /** The shadow controller's published state (`umbra shadow status`). Written by `shadow start`. */
  CONTROLLER: 'shadow.controller',
  /** Shadow counters per candidate, one key per scoring process: `shadow.stats.serve`, `shadow.stats.controller`. */
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
