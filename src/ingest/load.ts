/**
 * `loadLog`: read a telemetry or decision log file straight into memory, for commands that work
 * on a file without a data directory (`umbra pipeline`, `umbra ope`). It runs exactly the
 * ingestion code path (same mapping, dedup, joins and quarantine) into a MemoryStore, then hands
 * back the episodes with their rewards.
 */
import type { Config } from '../core/config/index.js';
import { compileReward, type RewardFunction } from '../core/reward.js';
import { computeKpis, type KpiSummary } from '../core/telemetry/kpis.js';
import type { StoredTurn } from '../core/telemetry/types.js';
import { MemoryStore } from '../store/memory.js';
import type { Episode, StoredQuarantine } from '../store/port.js';
import { ingest, type IngestCounts } from './ingest.js';

/** Options of `loadLog`. */
export interface LoadLogOptions {
  /** Effective config: `telemetry` drives the mapping, `reward` the rewards. @default all defaults */
  config?: Pick<Config, 'telemetry' | 'reward'>;
  /** Reference time for the default-reward wait. @default now */
  now?: Date | number;
  /** Reward function; overrides the config's. */
  reward?: RewardFunction;
}

/** A log loaded into memory. */
export interface LoadedLog {
  /** Every episode (all decision points), in log order; decisions still pending are left out. */
  episodes: Episode[];
  /** The episodes of one decision point (`route`, `tool`, `cache`, ...). */
  episodesFor(point: string): Episode[];
  /** Turn facts (Alice turns and flat records, routable or not), in time order. */
  turns: StoredTurn[];
  /** KPIs over the turn facts, or over the episodes when the log has no turns (canonical logs). */
  kpis: KpiSummary;
  /** What the ingestion counted. */
  counts: IngestCounts;
  /** Every quarantined line with reason and offset. */
  quarantine: StoredQuarantine[];
  /** The reward function used. */
  reward: RewardFunction;
  /** The store, for anything else. */
  store: MemoryStore;
}

/**
 * Load a file, directory or glob of telemetry (any known shape, JSONL or a `.json` array).
 * Throws E_INPUT_NOT_FOUND when nothing is there; bad lines are quarantined, never thrown.
 */
export async function loadLog(path: string, opts: LoadLogOptions = {}): Promise<LoadedLog> {
  const store = new MemoryStore();
  const config = opts.config;
  const counts = await ingest(config === undefined ? { store, path } : { store, path, config });
  const reward = opts.reward ?? compileReward(config?.reward ?? {});
  const now = opts.now ?? Date.now();
  const episodes: Episode[] = [];
  for await (const e of store.episodes({ now, reward })) episodes.push(e);
  const turns: StoredTurn[] = [];
  for await (const t of store.turns()) turns.push(t);
  const quarantine: StoredQuarantine[] = [];
  for await (const q of store.quarantine()) quarantine.push(q);
  const kpis =
    turns.length > 0
      ? computeKpis(turns, reward)
      : computeKpis(
          episodes.filter((e) => e.event.point === 'route').map((e) => ({ outcome: e.event.outcome ?? {}, reward: e.reward })),
          reward,
        );
  return {
    episodes,
    episodesFor: (point: string) => episodes.filter((e) => e.event.point === point),
    turns,
    kpis,
    counts,
    quarantine,
    reward,
    store,
  };
}
