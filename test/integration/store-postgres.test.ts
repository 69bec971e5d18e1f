/**
 * The PostgreSQL adapter: the same store contract suite as SQLite and memory (each test in a fresh
 * schema of a scratch database, dropped at the end), then what only a server adds: migrations once
 * under a lock by racing processes, compare-and-set and audit appends racing across connections,
 * sequence numbers in commit order across writers, an unreachable server, and a password that
 * never shows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeStoreContract, decisionFixture } from '../../src/store/contract/index.js';
import { openPostgresStore, PostgresStore } from '../../src/store/postgres/store.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { scratchDatabase, serviceAvailable } from '../helpers/services.js';

const available = await serviceAvailable('postgres');
let db: Awaited<ReturnType<typeof scratchDatabase>> | undefined;
let n = 0;
const schemaUrl = (s: string): string => `${db!.url}?schema=${s}`;

describe.skipIf(!available)('postgres store', () => {
  beforeAll(async () => {
    db = await scratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  describeStoreContract('postgres', () => openPostgresStore(schemaUrl(`c${n++}`)), { bundles: true });

  describe('postgres adapter specifics', () => {
    it('applies migrations once when several processes start together, and refuses a newer schema', async () => {
      const url = schemaUrl('mig');
      const stores = Array.from({ length: 4 }, () => openPostgresStore(url));
      const versions = await Promise.all(stores.map((s) => s.migrate()));
      const latest = POSTGRES_MIGRATIONS.at(-1)!.version;
      expect(versions).toEqual([latest, latest, latest, latest]);
      expect((await stores[0]!.migrations()).map((m) => m.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
      const extra = [...POSTGRES_MIGRATIONS, { version: latest + 1, name: 'test table', up: 'CREATE TABLE extra_test (x INTEGER)' }];
      const s2 = openPostgresStore(url, { migrations: extra });
      expect(await s2.migrate()).toBe(latest + 1);
      await expect(stores[1]!.migrate()).rejects.toMatchObject({ code: 'E_STORE' });
      await Promise.all([...stores, s2].map((s) => s.close()));
    });

    it('lets exactly one of many racing compare-and-sets win, across connections', async () => {
      const url = schemaUrl('cas');
      const stores = Array.from({ length: 5 }, () => openPostgresStore(url));
      await stores[0]!.setState('rollout', { stage: 'canary' });
      const wins = await Promise.all(stores.map((s, i) => s.casState('rollout', 1, { stage: 'production', by: i })));
      expect(wins.filter((w) => w !== undefined)).toEqual([2]);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('appends racing audit rows at one expected sequence number exactly once', async () => {
      const url = schemaUrl('audit');
      const stores = Array.from({ length: 5 }, () => openPostgresStore(url));
      await stores[0]!.appendAudit({ ts: '2025-01-01T00:00:00.000Z', body: { n: 0 } });
      const res = await Promise.allSettled(stores.map((s, i) => s.appendAudit({ ts: '2025-01-01T00:00:01.000Z', body: { n: i } }, 2)));
      expect(res.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of res) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'E_LOCKED' });
      expect((await stores[0]!.counts()).audit).toBe(2);
      await Promise.all(stores.map((s) => s.close()));
    });

    it('numbers decisions in commit order across concurrent writers, each id stored once', async () => {
      const url = schemaUrl('seqorder');
      const writers = Array.from({ length: 4 }, () => openPostgresStore(url));
      await Promise.all(
        writers.map(async (w, k) => {
          for (let b = 0; b < 10; b++) {
            // Every writer also resends ids of the others: each id must be stored once.
            const ids = Array.from({ length: 20 }, (_, i) => `d${(b * 20 + i) * 4 + (k % 2)}`);
            await w.writeBatch({ records: ids.map((id) => ({ decisions: [decisionFixture(id)] })) });
          }
        }),
      );
      const seen: number[] = [];
      for await (const d of writers[0]!.decisions()) seen.push(d.seq);
      expect(seen).toHaveLength(400);
      expect([...seen].sort((a, b) => a - b)).toEqual(seen);
      await Promise.all(writers.map((w) => w.close()));
    });

    it('pushes state and audit changes to listeners in other processes (LISTEN/NOTIFY)', async () => {
      const url = schemaUrl('feed');
      const a = openPostgresStore(url);
      const b = openPostgresStore(url);
      await a.migrate();
      const heard: string[] = [];
      const stop = await b.watch((k) => heard.push(k));
      await a.setState('rollout.judge', { n: 1 });
      expect(await a.casState('rollout.judge', 1, { n: 2 })).toBe(2);
      expect(await a.casState('rollout.judge', 1, { n: 3 })).toBeUndefined(); // a lost race notifies nobody
      await a.appendAudit({ ts: '2025-01-01T00:00:00.000Z', body: {} });
      const t0 = Date.now();
      while (heard.length < 3 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
      expect(heard).toEqual(['rollout.judge', 'rollout.judge', 'audit']);
      await stop();
      await Promise.all([a.close(), b.close()]);
    });

    it('reports an unreachable server as E_STORE without the password', async () => {
      const s = new PostgresStore('postgres://umbra:hunter2@127.0.0.1:1/nowhere', { connectTimeoutMs: 500 });
      const err = await s.countDecisions().catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_STORE' });
      expect(String((err as Error).message)).toContain('unreachable');
      expect(String((err as Error).message)).not.toContain('hunter2');
      expect(JSON.stringify((err as { toJSON(): unknown }).toJSON())).not.toContain('hunter2');
      await s.close();
    });
  });
});
