/**
 * The composition root: one compiled configuration in; the store, the bundle registry, the alerter
 * and the rollout service out, wired once. Every command and long-running process gets its parts
 * here, so which store adapter serves (and how it is tuned for the job) is decided in one place and
 * services only ever receive the roles they use.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { AuditRecord, RolloutState } from '../core/rollout/index.js';
import { compileConfig } from '../core/config/index.js';
import { compileSettings, type Settings } from '../core/settings.js';
import { readJsonFile } from '../platform/fs.js';
import { Bundles } from '../services/artifacts/bundles.js';
import { Alerter, persistAlert } from '../services/monitoring/alerts.js';
import { RolloutService } from '../services/rollout/state.js';
import { openSqliteStore, storePath, WorkerStore, type Store } from '../store/index.js';

/**
 * How a process uses the store, which decides how the adapter is opened:
 * - `direct`: one-shot commands and the shadow controller; the SQLite store on this thread;
 * - `bulk`: bulk writers (`umbra ingest`); the store in its own thread, so parsing and writing overlap;
 * - `service`: the decision service; the store in its own thread at a lower priority, with group
 *   commit of the decision log, so another process's write lock never blocks an answer.
 */
export type StoreMode = 'direct' | 'bulk' | 'service';

/** Open the store of a data directory for a job. */
export function openStore(settings: Settings, dataDir: string, mode: StoreMode = 'direct'): Store {
  const s = settings.config.store;
  const path = storePath(dataDir, settings.config);
  if (mode === 'direct') return openSqliteStore(path, { busyTimeoutMs: s.busy_timeout_ms, cacheMb: s.cache_mb });
  if (mode === 'bulk') return new WorkerStore(path, { busyTimeoutMs: s.busy_timeout_ms, cacheMb: s.cache_mb });
  const server = settings.config.server;
  return new WorkerStore(path, { busyTimeoutMs: Math.max(30_000, s.busy_timeout_ms), cacheMb: s.cache_mb, groupCommitMs: server.log_commit_ms, priority: server.background_priority });
}

/**
 * The effective settings: the config file given (`--config`), else `<data-dir>/config.json` when
 * present, else the defaults.
 */
export function loadSettings(o: { dataDir: string; configPath?: string | undefined }): Settings {
  const path = o.configPath ?? join(o.dataDir, 'config.json');
  if (o.configPath === undefined && !existsSync(path)) return compileSettings(compileConfig({}));
  return compileSettings(compileConfig(readJsonFile(path, 'config file'), path));
}

/** The shared parts of a process, wired. */
export interface Wired {
  settings: Settings;
  dataDir: string;
  store: Store;
  bundles: Bundles;
  alerter: Alerter;
  rollout: RolloutService;
  now: () => number;
  /** Drain the alerter and close the store (unless it was handed in). */
  close(): Promise<void>;
}

export interface WireOptions {
  settings: Settings;
  dataDir: string;
  /** @default "direct" */
  mode?: StoreMode;
  /** Use this store instead of opening the data directory's (tests); it is not closed by `close`. */
  store?: Store;
  /** Injectable clock (the demo and tests accelerate time). @default Date.now */
  now?: () => number;
  /** Called after every applied rollout transition, with the alerter at hand. */
  onTransition?: (state: RolloutState, records: AuditRecord[], alerter: Alerter) => void;
}

/** Open the store and wire the bundles, the alerter and the rollout service on it. */
export function wire(o: WireOptions): Wired {
  const store = o.store ?? openStore(o.settings, o.dataDir, o.mode);
  const now = o.now ?? Date.now;
  const alerter = new Alerter({ config: o.settings.config.alerts, now: () => new Date(now()), onAlert: (a) => void persistAlert(store, a).catch(() => undefined) });
  const onTransition = o.onTransition;
  const rollout = new RolloutService(store, { settings: o.settings, now, ...(onTransition === undefined ? {} : { onTransition: (s, r) => onTransition(s, r, alerter) }) });
  let closed = false;
  return {
    settings: o.settings,
    dataDir: o.dataDir,
    store,
    bundles: Bundles.of(o.dataDir, o.settings.config),
    alerter,
    rollout,
    now,
    async close() {
      if (closed) return;
      closed = true;
      await alerter.drain();
      if (o.store === undefined) await store.close();
    },
  };
}

/** Run `fn` with wired parts and close them afterwards, whatever happens. */
export async function withWired<T>(o: WireOptions, fn: (w: Wired) => Promise<T>): Promise<T> {
  const w = wire(o);
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}
