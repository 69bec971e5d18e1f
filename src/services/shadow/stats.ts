/**
 * Shadow counters per candidate, published to the shared state by each process that scores in
 * the shadow (the decision service and the shadow controller) and summed by whoever reads them
 * (the shadow gates, status, the dashboard).
 */
import type { StateStore } from '../../store/port.js';
import { StateKey } from '../state-keys.js';
import type { CandidateStats } from './scorer.js';

/** Scoring processes that publish shadow counters. */
export const SHADOW_SOURCES = ['serve', 'controller'] as const;
export type ShadowSource = (typeof SHADOW_SOURCES)[number];

/** Publish one process's shadow counters. */
export async function writeShadowStats(store: StateStore, source: ShadowSource, stats: Record<string, CandidateStats>): Promise<void> {
  await store.setState(`${StateKey.SHADOW_STATS}.${source}`, stats);
}

/** Shadow counters per candidate, summed over the scoring processes. */
export async function readShadowStats(store: StateStore): Promise<Record<string, CandidateStats>> {
  const out: Record<string, CandidateStats> = {};
  for (const src of SHADOW_SOURCES) {
    const v = (await store.getState(`${StateKey.SHADOW_STATS}.${src}`))?.value as Record<string, CandidateStats> | undefined;
    for (const [ver, s] of Object.entries(v ?? {})) {
      const o = (out[ver] ??= { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 });
      o.scored += s.scored;
      o.errors += s.errors;
      o.timeouts += s.timeouts;
      o.agree += s.agree;
      o.compared += s.compared;
      o.latencyUsSum += s.latencyUsSum;
    }
  }
  return out;
}
