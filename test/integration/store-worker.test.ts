import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract, decisionFixture } from '../../src/store/store.contract.js';
import { projectRoot } from '../helpers/shared-data.js';

// The worker needs compiled JS: use the build.
const { WorkerStore } = (await import(pathToFileURL(join(projectRoot, 'dist', 'src', 'store', 'worker-store.js')).href)) as typeof import('../../src/store/worker-store.js');

const root = mkdtempSync(join(tmpdir(), 'umbra-wstore-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('sqlite in a worker thread', () => new WorkerStore(join(root, `s${n++}`, 'umbra.db')));

describe('worker store', () => {
  it('keeps the event loop free while another process holds the write lock, and writes once it is released', async () => {
    const path = join(root, 'locked', 'umbra.db');
    const store = new WorkerStore(path, { busyTimeoutMs: 10_000 });
    await store.counts(); // created and migrated
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE'); // another writer holds the lock
    let ticks = 0;
    const timer = setInterval(() => ticks++, 10);
    const write = store.writeBatch({ records: [{ decisions: [decisionFixture('while-locked')] }] });
    await new Promise((r) => setTimeout(r, 300));
    // the event loop kept running while the write waited for the lock
    expect(ticks).toBeGreaterThan(10);
    other.exec('COMMIT');
    other.close();
    const r = await write;
    clearInterval(timer);
    expect(r.inserted).toBe(1);
    expect((await store.getDecision('while-locked'))?.event.id).toBe('while-locked');
    await store.close();
  });
});
