/**
 * Shadow counters per candidate, published to the shared state by each process that scores in
 * the shadow (the decision service and the shadow controller) and summed by whoever reads them
 * (the shadow gates, status, the dashboard).
 */
import type { StateStore } from '../../store/port.js';
import { StateKey, updateState } from '../state-keys.js';
import type { CandidateStats } from './scorer.js';

/** Scoring processes that publish shadow counters. */
export const SHADOW_SOURCES = ['serve', 'controller'] as const;
export type ShadowSource = (typeof SHADOW_SOURCES)[number];

/** How many processes' counters one source keeps (the oldest are dropped). */
const MAX_PROCESSES = 64;

/** One source's counters: each process's own (several replicas of the decision service each score). */
interface SourceEntry {
  byProcess: Record<string, { at: string; stats: Record<string, CandidateStats> }>;
}

/**
 * Publish one process's shadow counters under its own id, merged by compare-and-set into its
 * source's entry: replicas never overwrite each other's counts, and a restarted process adds its
 * own (the counts of the one before it stay).
 */
export async function writeShadowStats(store: StateStore, source: ShadowSource, stats: Record<string, CandidateStats>, processId = 'main'): Promise<void> {
  // (after 8 lost races in a row this process's counters go with its next publication)
  await updateState<Partial<SourceEntry>>(
    store,
    `${StateKey.SHADOW_STATS}.${source}`,
    (prev) => {
      const byProcess = { ...(prev?.byProcess ?? {}), [processId]: { at: new Date().toISOString(), stats } };
      const ids = Object.keys(byProcess);
      if (ids.length > MAX_PROCESSES) for (const id of ids.sort((a, b) => byProcess[a]!.at.localeCompare(byProcess[b]!.at)).slice(0, ids.length - MAX_PROCESSES)) delete byProcess[id];
      return { byProcess } satisfies SourceEntry;
    },
    8,
  );
}

/** Shadow counters per candidate, summed over the scoring processes. */
export async function readShadowStats(store: StateStore): Promise<Record<string, CandidateStats>> {
  const out: Record<string, CandidateStats> = {};
  const add = (by: Record<string, CandidateStats>): void => {
    for (const [ver, s] of Object.entries(by)) {
      const o = (out[ver] ??= { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 });
      o.scored += s.scored;
      o.errors += s.errors;
      o.timeouts += s.timeouts;
      o.agree += s.agree;
      o.compared += s.compared;
      o.latencyUsSum += s.latencyUsSum;
    }
  };
  for (const src of SHADOW_SOURCES) {
    const v = (await store.getState(`${StateKey.SHADOW_STATS}.${src}`))?.value as Partial<SourceEntry> | Record<string, CandidateStats> | undefined;
    if (v === undefined) continue;
    // Written before counters were kept per process: one process's counters as they are.
    if (!('byProcess' in v) || typeof v.byProcess !== 'object' || v.byProcess === null) add(v as Record<string, CandidateStats>);
    else for (const p of Object.values(v.byProcess as SourceEntry['byProcess'])) add(p.stats);
  }
  return out;
}
