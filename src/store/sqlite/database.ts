/**
 * Opening the SQLite file with the settings the store relies on (WAL, large pages, a busy
 * timeout) and applying the versioned migrations, each once, whoever opens the file first.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { SQLITE_MIGRATIONS, type Migration } from './migrations.js';
import type { DB } from './rows.js';

/** Open the database file (creating it and its folder when needed) with the store's pragmas. */
export function openDatabase(path: string, opts: { busyTimeoutMs?: number | undefined; cacheMb?: number | undefined }): DB {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
  // Large pages keep the random id-key index shallow and cut write amplification several times
  // in bulk ingestion; it only takes effect when the file is created.
  db.pragma('page_size = 32768');
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 2048');
  db.pragma('synchronous = NORMAL');
  db.pragma(`cache_size = -${Math.max(1, Math.floor(opts.cacheMb ?? 64)) * 1024}`);
  db.pragma('temp_store = MEMORY');
  return db;
}

/** Apply pending migrations in order, each in its own immediate transaction. */
export function migrate(db: DB, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const current = (): number => (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  const known = migrations.reduce((m, x) => Math.max(m, x.version), 0);
  if (current() > known) {
    throw new UmbraError(ErrorCode.STORE, `the database has schema version ${current()}, newer than this Umbra knows (${known}): upgrade Umbra`);
  }
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    db.transaction(() => {
      if (current() >= m.version) return; // another process applied it meanwhile
      db.exec(m.up);
      db.prepare('INSERT INTO schema_migrations(version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, new Date().toISOString());
    }).immediate();
  }
  return current();
}
