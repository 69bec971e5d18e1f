/**
 * The store's entry points: the role ports, the adapters (SQLite, SQLite in its own thread, memory,
 * PostgreSQL)
 * and where a data directory keeps its SQLite file. Which adapter a process opens, and how, is
 * decided by the composition root (src/app/context.ts).
 */
import { join } from 'node:path';
import type { Config } from '../core/config/index.js';

export * from './port.js';
export { MemoryStore } from './memory.js';
export { WorkerStore, type WorkerStoreOptions } from './worker/worker-store.js';
export { SqliteStore, openSqliteStore, migrate, type SqliteStoreOptions } from './sqlite/store.js';
export { SQLITE_MIGRATIONS, type Migration } from './sqlite/migrations.js';
export { PostgresStore, openPostgresStore, isPostgresUrl, postgresTarget, isConnectionError, type PostgresStoreOptions } from './postgres/store.js';
export { POSTGRES_MIGRATIONS } from './postgres/migrations.js';

/** The path of the store file of a data directory (`<data-dir>/umbra.db` by default). */
export function storePath(dataDir: string, config?: Pick<Config, 'store'>): string {
  return join(dataDir, config?.store.file ?? 'umbra.db');
}
