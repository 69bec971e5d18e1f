/**
 * The shadow → canary gate: the candidate's offline gates (reduced to a verdict), a minimum shadow
 * duration and number of scored decisions, and its error and timeout rates in the shadow under the
 * hard-breaker caps. Every line says its value, threshold and why.
 */
import type { RolloutConfig } from '../config/rollout.js';
import { wilsonInterval } from '../stats/intervals.js';
import type { GateReport } from './verdict.js';

const toMs = (t: number | string): number => (typeof t === 'number' ? t : Date.parse(t));
const fmt = (x: number, digits = 4): string => Number(x.toPrecision(digits)).toString();
const pct = (x: number): string => `${fmt(100 * x, 3)} %`;

/** Input of the shadow → canary gate. */
export interface ShadowGateInput {
  now: number;
  /** When the candidate entered shadow (epoch ms or ISO). */
  shadowSince: number | string;
  /** Live decisions the candidate scored in shadow. */
  decisions: number;
  /** Of which it threw on. */
  errors: number;
  /** Of which it missed its time budget on. */
  timeouts: number;
  /** The offline evaluation gates (src/core/ope/gates.ts), reduced to a report; null if not run. */
  offline: GateReport | null;
}

/** One line of a gate report's details. */
export interface GateLine {
  name: string;
  passed: boolean;
  value: number | null;
  threshold: number | null;
  message: string;
}

/**
 * The shadow → canary gate: offline gates, minimum shadow duration and decisions, and the
 * candidate's error and timeout rates under the hard-breaker caps. Details list every line.
 */
export function shadowGates(input: ShadowGateInput, cfg: RolloutConfig): GateReport {
  const lines: GateLine[] = [];
  const since = toMs(input.shadowSince);
  const ranMs = Number.isFinite(since) ? Math.max(0, input.now - since) : 0;
  const needMs = cfg.shadow_min_duration_s * 1000;
  lines.push({ name: 'offline', passed: input.offline?.passed === true, value: null, threshold: null, message: input.offline === null ? 'offline gates: not evaluated' : `offline gates: ${input.offline.passed ? 'passed' : 'failed'} — ${input.offline.summary}` });
  lines.push({ name: 'shadow.duration', passed: ranMs >= needMs, value: ranMs / 1000, threshold: cfg.shadow_min_duration_s, message: `shadow ran ${fmt(ranMs / 60_000, 3)} min of ${fmt(needMs / 60_000, 3)} min` });
  lines.push({ name: 'shadow.decisions', passed: input.decisions >= cfg.shadow_min_decisions, value: input.decisions, threshold: cfg.shadow_min_decisions, message: `shadow scored ${input.decisions} of ${cfg.shadow_min_decisions} decisions` });
  for (const [name, count, cap] of [
    ['shadow.error_rate', input.errors, cfg.hard_breakers.max_error_rate],
    ['shadow.timeout_rate', input.timeouts, cfg.hard_breakers.max_timeout_rate],
  ] as const) {
    const rate = input.decisions > 0 ? count / input.decisions : 0;
    const w = wilsonInterval(count, input.decisions);
    lines.push({ name, passed: input.decisions > 0 && rate <= cap, value: input.decisions > 0 ? rate : null, threshold: cap, message: `${name.replace('shadow.', 'candidate ').replace('_', ' ')} ${count}/${input.decisions} = ${input.decisions > 0 ? pct(rate) : 'n/a'} [${pct(w.lo)}, ${pct(w.hi)}] vs cap ${pct(cap)}` });
  }
  const failed = lines.filter((l) => !l.passed);
  return {
    passed: failed.length === 0,
    summary: failed.length === 0 ? 'shadow gates passed: ' + lines.map((l) => l.message).join('; ') : 'shadow gates failed: ' + failed.map((l) => l.message).join('; '),
    details: { lines, offline: input.offline },
  };
}
