/**
 * Rewarded episodes for learning and evaluation: a log file read through the ingestion code path,
 * or stored episodes, turned into training episodes (expanded text, the logging propensity, the
 * success flag). The one place the pipeline, shadow retraining and `shadow compare` get episodes.
 */
import { basename } from 'node:path';
import type { Config } from '../../core/config/index.js';
import type { DecisionEvent } from '../../core/events.js';
import type { Settings } from '../../core/settings.js';
import { expandText } from '../../core/text.js';
import { readLogTable } from '../../ingest/read-log.js';
import type { Episode } from './trainer.js';

/** What reading a log produced. */
export interface ReadEpisodes {
  episodes: Episode[];
  /** Records (lines or array elements) read. */
  records: number;
  /** The first quarantined records with where they were and why. */
  invalid: { at: string; reason: string }[];
  /** How many records were quarantined. */
  invalidCount: number;
  /** Decision events dropped because their id was already seen. */
  duplicates: number;
}

const MAX_INVALID_SAMPLES = 20;

/**
 * Read a log into rewarded episodes: THE one place the pipeline reads input. It goes through the
 * ingestion code path (`readLogTable`: Alice turn events, flat RL records, canonical decision and outcome
 * events, `.json` arrays; deduplication, outcome joins, quarantine with reasons), then keeps each
 * decision's context with raw text expanded (never stored raw) and its reward (explicit, computed
 * from the outcome by the configured reward function, or the configured default, counted).
 */
export async function readEpisodes(path: string, settings: Settings): Promise<ReadEpisodes> {
  const log = await readLogTable(path, { config: settings.config, reward: settings.reward });
  const { rows } = log.table;
  const { resolved } = log;
  const episodes: Episode[] = new Array<Episode>(resolved.rows.length);
  for (let i = 0; i < episodes.length; i++) {
    const s = resolved.success[i]!;
    const event = rows.eventAt(resolved.rows[i]!);
    episodes[i] = toTrainingEpisode({ event, reward: resolved.reward[i]!, defaulted: resolved.defaulted[i] === 1 }, settings.config, s < 0 ? undefined : s === 1);
  }
  const invalid = log.quarantine.slice(0, MAX_INVALID_SAMPLES).map((q) => ({
    at: `${basename(q.source)} offset ${q.offset}`,
    reason: q.detail !== undefined ? `${q.reason}: ${q.detail}` : q.reason,
  }));
  return { episodes, records: log.counts.linesRead, invalid, invalidCount: log.counts.quarantined.total, duplicates: log.counts.duplicates };
}

/**
 * A stored or loaded episode (decision + merged outcome + reward) as a training episode: context
 * with raw text expanded, the logging propensity (from `probs` when only that is given), the
 * success flag for the success gate. Used for files (`readEpisodes`) and the store (shadow retraining).
 */
export function toTrainingEpisode(x: { event: DecisionEvent; reward: number; defaulted: boolean }, config: Pick<Config, 'features'>, success: boolean | undefined = x.event.outcome?.success): Episode {
  const e = x.event;
  const ep: Episode = {
    id: e.id,
    ts: e.ts,
    point: e.point,
    context: expandText(e.context, config.features.text_keys),
    actions: e.actions,
    action: e.action,
    reward: x.reward,
    defaulted: x.defaulted,
  };
  if (e.propensity !== undefined) ep.propensity = e.propensity;
  else if (e.probs?.[e.action] !== undefined && e.probs[e.action]! > 0) ep.propensity = e.probs[e.action]!;
  if (e.probs !== undefined) ep.probs = e.probs;
  if (e.baseline !== undefined) ep.baseline = e.baseline;
  if (e.policy !== undefined) ep.policy = e.policy;
  if (success !== undefined) ep.success = success;
  return ep;
}
