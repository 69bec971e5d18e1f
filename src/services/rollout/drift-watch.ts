/**
 * The drift watch after 100 %: new production rewards of the champion, in decision order, fed to
 * the detector of src/core/rollout/drift.ts; its state (detector and cursor) lives in the shared
 * state so a restarted service continues where it stopped.
 */
import { BASELINE_POLICY_VERSION } from '../../core/api.js';
import { updateDrift, type DriftAlert, type DriftMonitorState } from '../../core/rollout/index.js';
import type { Settings } from '../../core/settings.js';
import type { EventReader, StateStore } from '../../store/port.js';
import { StateKey } from '../state-keys.js';
import { parseServedTag } from './served-tag.js';

/** Feed new production rewards of `champion` to the detector; returns the alerts it raised. */
export async function watchDrift(store: EventReader & StateStore, settings: Settings, champion: string, now: number): Promise<DriftAlert[]> {
  if (champion === BASELINE_POLICY_VERSION) return [];
  const prev = (await store.getState(StateKey.DRIFT))?.value as { cursor: number; monitor: DriftMonitorState | null; version: string } | undefined;
  const same = prev?.version === champion;
  let cursor = same ? prev.cursor : 0;
  const rewards: number[] = [];
  // Feed rewards in decision order, waiting at the first decision whose outcome has not arrived
  // yet (up to the reward function's default wait), so the detector sees the stream as it was.
  const rewardsBySeq = new Map<number, { reward: number; defaulted: boolean }>();
  for await (const ep of store.episodes({ afterSeq: cursor, now, reward: settings.reward })) rewardsBySeq.set(ep.seq, { reward: ep.reward, defaulted: ep.defaulted });
  const waitMs = Math.min(30_000, settings.reward.defaultAfterS * 1000);
  for await (const d of store.decisions({ afterSeq: cursor })) {
    const r = rewardsBySeq.get(d.seq);
    if (r === undefined && now - Date.parse(d.event.ts) < waitMs) break;
    cursor = d.seq;
    const t = parseServedTag(d.event.policy);
    if (r !== undefined && !r.defaulted && t && t.slice === 'production' && t.version === champion) rewards.push(r.reward);
  }
  if (!same && prev === undefined && rewards.length === 0) return [];
  const { state: monitor, alerts } = updateDrift(same ? prev.monitor : null, rewards, { now, version: champion }, settings.config.rollout);
  await store.setState(StateKey.DRIFT, { cursor, monitor, version: champion });
  return alerts;
}
