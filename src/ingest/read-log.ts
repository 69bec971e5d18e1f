/**
 * The lean read path of a log file: the ingestion code path (the same shapes, mapping, quarantine
 * reasons, deduplication and outcome joins as `umbra ingest`) into a columnar decision table that
 * takes the parsed events over instead of copying them, then every reward resolved in columns.
 * What `umbra ope`, `umbra pipeline` and the benchmarks read logs with; `loadLog` (load.ts) is the
 * reference it is checked against.
 */
import type { Config } from '../core/config/index.js';
import { compileReward, type RewardFunction } from '../core/reward.js';
import type { StoredQuarantine } from '../store/port.js';
import { DecisionTable, type ResolvedRows } from '../store/table/decision-table.js';
import { ingest, type IngestCounts } from './ingest.js';

/** Options of `readLogTable`. */
export interface ReadLogOptions {
  /** Effective config: `telemetry` drives the mapping, `reward` the rewards. @default all defaults */
  config?: Pick<Config, 'telemetry' | 'reward'>;
  /** Reward function; overrides the config's. */
  reward?: RewardFunction;
  /** Reference time for the default-reward wait. @default now */
  now?: number;
}

/** A log read into columns. */
export interface LogTable {
  table: DecisionTable;
  /** Decisions with a reward, in log order (pending ones are left out). */
  resolved: ResolvedRows;
  counts: IngestCounts;
  quarantine: StoredQuarantine[];
  reward: RewardFunction;
}

/**
 * Read a file, directory or glob of telemetry (any known shape, JSONL or a `.json` array) into a
 * decision table. Throws E_INPUT_NOT_FOUND when nothing is there; bad lines are quarantined.
 */
export async function readLogTable(path: string, opts: ReadLogOptions = {}): Promise<LogTable> {
  const table = new DecisionTable({ owned: true });
  const counts = await ingest(opts.config === undefined ? { store: table, path } : { store: table, path, config: opts.config });
  const reward = opts.reward ?? compileReward(opts.config?.reward ?? {});
  const quarantine: StoredQuarantine[] = [];
  for await (const q of table.quarantine()) quarantine.push(q);
  return { table, resolved: table.resolve(opts.now ?? Date.now(), reward), counts, quarantine, reward };
}
