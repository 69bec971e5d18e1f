/**
 * The store's entry points: the port, both adapters, and `openDataStore` which opens the embedded
 * SQLite store of a data directory the way every command does.
 */
import { join } from 'node:path';
import type { Config } from '../core/config/index.js';
import { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './sqlite.js';
import { WorkerStore } from './worker-store.js';

export * from './port.js';
export { MemoryStore } from './memory.js';
export { WorkerStore } from './worker-store.js';
export { SqliteStore, openSqliteStore, migrate, type SqliteStoreOptions } from './sqlite.js';
export { SQLITE_MIGRATIONS, type Migration } from './sqlite-migrations.js';

/** The path of the store file of a data directory (`<data-dir>/umbra.db` by default). */
export function storePath(dataDir: string, config?: Pick<Config, 'store'>): string {
  return join(dataDir, config?.store.file ?? 'umbra.db');
}

function optionsOf(config?: Pick<Config, 'store'>): SqliteStoreOptions {
  return { busyTimeoutMs: config?.store.busy_timeout_ms ?? 5000, cacheMb: config?.store.cache_mb ?? 64 };
}

/** Open the SQLite store of a data directory with the config's settings. */
export function openDataStore(dataDir: string, config?: Pick<Config, 'store'>): SqliteStore {
  return openSqliteStore(storePath(dataDir, config), optionsOf(config));
}

/**
 * The same store behind its own thread (WorkerStore): for bulk writers, which then parse and map
 * on their thread while SQLite writes on the other.
 */
export function openThreadedDataStore(dataDir: string, config?: Pick<Config, 'store'>): WorkerStore {
  return new WorkerStore(storePath(dataDir, config), optionsOf(config));
}
