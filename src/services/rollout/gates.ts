/**
 * The shadow → canary gate of a candidate as it stands now: its bundle's offline verdict, how long
 * and on how many decisions it ran in the shadow, and its error and timeout rates there (counters
 * from every scoring process). The pure rule is `shadowGates` in src/core/gates.
 */
import { shadowGates, storedOfflineGates, type GateReport } from '../../core/gates/index.js';
import type { VersionRecord } from '../../core/rollout/index.js';
import type { Settings } from '../../core/settings.js';
import type { StateStore } from '../../store/port.js';
import type { Bundles } from '../artifacts/bundles.js';
import { readShadowStats } from '../shadow/stats.js';

/** The offline gate report stored in a candidate's bundle, if any (null when unreadable or absent). */
export function offlineGatesOf(bundles: Bundles, version: string): GateReport | null {
  try {
    return storedOfflineGates(bundles.read(version).evaluation);
  } catch {
    return null;
  }
}

/** The shadow → canary gate of a candidate now. */
export async function shadowGateReport(o: { store: StateStore; settings: Settings; bundles: Bundles }, cand: VersionRecord, now: number): Promise<GateReport> {
  const s = (await readShadowStats(o.store))[cand.id] ?? { scored: 0, errors: 0, timeouts: 0, agree: 0, compared: 0, latencyUsSum: 0 };
  await o.bundles.ensure(cand.id).catch(() => false); // unreadable: the offline verdict below is null
  return shadowGates({ now, shadowSince: cand.since, decisions: s.scored + s.errors + s.timeouts, errors: s.errors, timeouts: s.timeouts, offline: offlineGatesOf(o.bundles, cand.id) }, o.settings.config.rollout);
}
