/**
 * Events through NATS JetStream, end to end through the CLI: the file tailer publishes Alice's
 * telemetry (`ingest --to`), exactly once across runs (its checkpoint stays in the local store),
 * and the durable consumer (`ingest --stream`) stores it in PostgreSQL: the same decisions as a
 * direct SQLite ingest of the file, nothing twice when run again. Resends of a decision (same
 * event id) and of an outcome (same content) are dropped by the stream's duplicate window.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, umbraJson } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { AckPolicy, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { NATS_URL, scratchDatabase, scratchName, serviceAvailable } from '../helpers/services.js';

const up = (await serviceAvailable('postgres')) && (await serviceAvailable('nats'));
const streamModule = (await import(join(projectRoot, 'dist', 'src', 'store', 'stream', 'jetstream.js'))) as typeof import('../../src/store/stream/jetstream.js');
const { MemoryStore } = (await import(join(projectRoot, 'dist', 'src', 'store', 'memory.js'))) as typeof import('../../src/store/memory.js');

describe.skipIf(!up)('JetStream ingest', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-stream-'));
  const tag = scratchName('s');
  const streamName = tag.toUpperCase();
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  beforeAll(async () => {
    db = await scratchDatabase();
  });
  afterAll(async () => {
    const s = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events` });
    await s.destroy();
    await s.close();
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes telemetry once, and the durable consumer stores exactly what a direct ingest stores', async () => {
    const log = join(dir, 'telemetry.jsonl');
    umbraJson(['bootstrap', '--episodes', '300', '--seed', '3', '--out', log]);
    const cfg = { store: { stream_name: streamName, stream_subject: `${tag}.events`, stream_consumer: `${tag}_c` } };
    const tailer = join(dir, 'tailer');
    const consumer = join(dir, 'consumer');
    const direct = join(dir, 'direct');
    for (const d of [tailer, consumer, direct]) {
      mkdirSync(d, { recursive: true });
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
    }
    const sqliteEnv = { ...process.env, UMBRA_STORE_URL: '', UMBRA_STREAM_URL: '' };
    const pgEnv = { ...process.env, UMBRA_STORE_URL: db.url, UMBRA_STREAM_URL: NATS_URL };

    const published = umbraJson<{ eventsStored: number; linesRead: number }>(['--data-dir', tailer, 'ingest', '--telemetry', log, '--to', NATS_URL], { env: sqliteEnv });
    expect(published.eventsStored).toBeGreaterThan(300);
    // Run again: the checkpoint says every line was published.
    expect(umbraJson<{ linesRead: number }>(['--data-dir', tailer, 'ingest', '--telemetry', log, '--to', NATS_URL], { env: sqliteEnv }).linesRead).toBe(0);

    const stored = umbraJson<{ inserted: number; messages: number }>(['--data-dir', consumer, 'ingest', '--stream', '--until-idle', '800'], { env: pgEnv });
    const directRun = umbraJson<{ eventsStored: number }>(['--data-dir', direct, 'ingest', '--telemetry', log], { env: sqliteEnv });
    expect(stored.inserted).toBe(directRun.eventsStored);
    const again = umbraJson<{ inserted: number }>(['--data-dir', consumer, 'ingest', '--stream', '--until-idle', '800'], { env: pgEnv });
    expect(again.inserted).toBe(0);

    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const n = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM decisions')).rows[0]!.n);
      expect(n).toBe(directRun.eventsStored);
      const dup = (await c.query('SELECT id FROM decisions GROUP BY id HAVING count(*) > 1')).rows;
      expect(dup).toEqual([]);
    } finally {
      await c.end();
    }
  }, 120_000);

  it('lets the shadow controller be the durable consumer (shadow start --stream)', async () => {
    const s = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events` });
    const ids = Array.from({ length: 50 }, (_, i) => `${tag}-sc-${i}`);
    try {
      for (const id of ids) await s.publishDecision({ v: 1, id, ts: '2025-01-01T00:00:00.000Z', point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner'], action: 'planner', propensity: 1, policy: 'rules@test' });
    } finally {
      await s.close();
    }
    const dataDir = join(dir, 'consumer');
    const telemetry = join(dir, 'none.jsonl');
    writeFileSync(telemetry, '');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'shadow', 'start', '--stream', NATS_URL, '--telemetry', telemetry], { env: { ...process.env, UMBRA_STORE_URL: db.url }, stdio: 'ignore' });
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const t0 = Date.now();
      let n = 0;
      while (Date.now() - t0 < 30_000) {
        n = Number((await c.query<{ n: string }>('SELECT count(*) AS n FROM decisions WHERE id = ANY($1)', [ids])).rows[0]!.n);
        if (n === ids.length) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(n).toBe(ids.length);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      await c.end();
    }
  }, 60_000);

  it('drops a resent decision (same event id) and a resent outcome (same content) in the duplicate window', async () => {
    const s = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events` });
    try {
      const e = { v: 1 as const, id: `${tag}-dup`, ts: '2025-01-01T00:00:00.000Z', point: 'route', context: {}, actions: ['a', 'b'], action: 'a' };
      expect(await s.publishDecision(e)).toBe(false);
      expect(await s.publishDecision(e)).toBe(true);
      expect(await s.publishOutcome({ id: e.id, ts: '2025-01-01T00:00:01.000Z', outcome: { feedback: 1 } })).toBe(false);
      expect(await s.publishOutcome({ id: e.id, ts: '2025-01-01T00:00:05.000Z', outcome: { feedback: 1 } })).toBe(true);
      expect(await s.publishOutcome({ id: e.id, outcome: { feedback: -1 } })).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('acknowledges each stored batch once (a new consumer acknowledges cumulatively); a per-message consumer of an earlier version keeps working', async () => {
    const s = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events` });
    const ids = Array.from({ length: 230 }, (_, i) => `${tag}-ack-${i}`);
    try {
      for (const id of ids) await s.publishDecision({ v: 1, id, ts: '2025-01-01T00:00:00.000Z', point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner'], action: 'planner', propensity: 1, policy: 'rules@test' });
    } finally {
      await s.close();
    }
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    // The earlier version's consumer: one acknowledgement per message.
    await jsm.consumers.add(streamName, { durable_name: `${tag}_old`, ack_policy: AckPolicy.Explicit, max_ack_pending: 50_000 });
    try {
      for (const [consumer, policy] of [[`${tag}_new`, AckPolicy.All], [`${tag}_old`, AckPolicy.Explicit]] as const) {
        const store = new MemoryStore();
        const c = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events`, consumer });
        try {
          const p = await c.consume(store, { batch: 40, untilIdleMs: 600 });
          expect(p.batches, JSON.stringify(p)).toBeGreaterThan(1);
          for (const id of ids) expect((await store.getDecision(id))?.event.id, `${consumer} ${id}`).toBe(id);
        } finally {
          await c.close();
        }
        const info = await jsm.consumers.info(streamName, consumer);
        expect(info.config.ack_policy).toBe(policy);
        // everything the consumer was handed is acknowledged: nothing left to redeliver
        expect(info.num_ack_pending).toBe(0);
        expect(info.num_pending).toBe(0);
        // and run again: nothing is stored twice, nothing is redelivered
        const again = await streamModule.EventStream.open({ url: NATS_URL, stream: streamName, subject: `${tag}.events`, consumer });
        try {
          expect((await again.consume(store, { batch: 40, untilIdleMs: 400 })).inserted).toBe(0);
        } finally {
          await again.close();
        }
      }
    } finally {
      await nc.close();
    }
  }, 60_000);
});
