import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract, decisionFixture } from '../../src/store/contract/index.js';
import { migrate, openSqliteStore } from '../../src/store/sqlite/store.js';
import { SQLITE_MIGRATIONS } from '../../src/store/sqlite/migrations.js';
import { idKey } from '../../src/store/key.js';

const root = mkdtempSync(join(tmpdir(), 'umbra-store-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('sqlite', () => openSqliteStore(join(root, `s${n++}`, 'umbra.db')));

describe('sqlite adapter specifics', () => {
  it('survives a 53-bit key collision by probing and checking the stored id', async () => {
    const path = join(root, 'collide', 'umbra.db');
    const store = openSqliteStore(path);
    // Occupy the key of "victim" with another id, as a real hash collision would.
    store.database.prepare("INSERT INTO decisions(key, id, point, ts, ts_ms, action, body) VALUES (?, 'squatter', 'route', '2025-01-01T00:00:00.000Z', 0, 'micro', ?)").run(idKey('victim'), JSON.stringify({ context: {}, actions: ['micro'] }));
    const r = await store.writeBatch({ records: [{ decisions: [decisionFixture('victim')] }] });
    expect(r).toMatchObject({ inserted: 1, duplicates: 0 });
    expect((await store.getDecision('victim'))?.event.id).toBe('victim');
    const again = await store.writeBatch({ records: [{ decisions: [decisionFixture('victim')] }], outcomes: [{ id: 'victim', outcome: { feedback: 1 } }] });
    expect(again).toMatchObject({ inserted: 0, duplicates: 1, outcomesJoined: 1 });
    await store.close();
  });

  it('records migrations, re-opens without re-running them, and refuses a newer database', async () => {
    const path = join(root, 'mig', 'umbra.db');
    const s1 = openSqliteStore(path);
    await s1.writeBatch({ records: [{ decisions: [decisionFixture('a')] }] });
    await s1.close();
    const s2 = openSqliteStore(path);
    expect(await s2.countDecisions()).toBe(1);
    const rows = s2.database.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as { version: number }[];
    expect(rows.map((r) => r.version)).toEqual(SQLITE_MIGRATIONS.map((m) => m.version));
    expect(s2.database.pragma('journal_mode', { simple: true })).toBe('wal');
    await s2.close();
    // A later migration (as another module would add) applies once on open.
    const extra = [...SQLITE_MIGRATIONS, { version: SQLITE_MIGRATIONS.length + 1, name: 'test table', up: 'CREATE TABLE extra_test (x INTEGER)' }];
    const s3 = openSqliteStore(path, { migrations: extra });
    expect((s3.database.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v).toBe(extra.length);
    await s3.close();
    // An Umbra that does not know that migration refuses the newer database with E_STORE.
    expect(() => openSqliteStore(path)).toThrow(expect.objectContaining({ code: 'E_STORE' }));
    const db = new Database(path);
    expect(migrate(db, extra)).toBe(extra.length);
    db.close();
  });

  it('lets a second connection read while a writer holds the database (WAL)', async () => {
    const path = join(root, 'wal', 'umbra.db');
    const w = openSqliteStore(path);
    const r = openSqliteStore(path);
    await w.writeBatch({ records: [{ decisions: [decisionFixture('a')] }] });
    expect(await r.countDecisions()).toBe(1);
    w.database.exec('BEGIN IMMEDIATE');
    expect(await r.countDecisions()).toBe(1);
    w.database.exec('COMMIT');
    await w.close();
    await r.close();
  });

  it('keeps held batches invisible to other connections until the committing batch, and drops them on close', async () => {
    const path = join(root, 'hold', 'umbra.db');
    const w = openSqliteStore(path);
    const r = openSqliteStore(path);
    await w.writeBatch({ records: [{ decisions: [decisionFixture('a')] }], hold: true });
    expect(await w.countDecisions()).toBe(1);
    expect(await r.countDecisions()).toBe(0);
    await w.writeBatch({ records: [{ decisions: [decisionFixture('b')] }] });
    expect(await r.countDecisions()).toBe(2);
    await w.writeBatch({ records: [{ decisions: [decisionFixture('c')] }], hold: true });
    await w.close();
    expect(await r.countDecisions()).toBe(2);
    await r.close();
  });

  it('reports a closed store as E_STORE', async () => {
    const s = openSqliteStore(join(root, 'closed', 'umbra.db'));
    await s.close();
    await expect(s.countDecisions()).rejects.toMatchObject({ code: 'E_STORE' });
  });
});
