/**
 * The offline verdict a candidate's bundle carries, read back as one gate report: either one report
 * for the whole bundle (`evaluation.gates`, as shadow retraining writes it) or one per decision
 * point (`evaluation.<point>.gates`, as `umbra pipeline` writes it), which pass only when every
 * evaluated point passes. Both spellings of a verdict are read: `{passed}` and `{pass}`.
 */
import type { GateReport } from './verdict.js';

function gateVerdict(g: unknown): { passed: boolean; summary: string | undefined } | undefined {
  if (typeof g !== 'object' || g === null) return undefined;
  const o = g as { passed?: unknown; pass?: unknown; summary?: unknown };
  const passed = typeof o.passed === 'boolean' ? o.passed : typeof o.pass === 'boolean' ? o.pass : undefined;
  return passed === undefined ? undefined : { passed, summary: typeof o.summary === 'string' ? o.summary : undefined };
}

/** The offline gate report stored in a bundle's `evaluation`, or null when it holds none. */
export function storedOfflineGates(evaluation: unknown): GateReport | null {
  if (typeof evaluation !== 'object' || evaluation === null) return null;
  const ev = evaluation as Record<string, unknown>;
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
}
