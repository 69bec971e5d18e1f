import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { describeStoreContract, decisionFixture } from '../../src/store/contract/index.js';
import { projectRoot } from '../helpers/shared-data.js';

// The worker needs compiled JS: use the build.
const { WorkerStore } = (await import(pathToFileURL(join(projectRoot, 'dist', 'src', 'store', 'worker', 'worker-store.js')).href)) as typeof import('../../src/store/worker/worker-store.js');

const root = mkdtempSync(join(tmpdir(), 'umbra-wstore-'));
let n = 0;
afterAll(() => rmSync(root, { recursive: true, force: true }));

describeStoreContract('sqlite in a worker thread', () => new WorkerStore(join(root, `s${n++}`, 'umbra.db')));
describeStoreContract('sqlite in a worker thread, with group commit', () => new WorkerStore(join(root, `s${n++}`, 'umbra.db'), { groupCommitMs: 20 }));

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

describe('group commit', () => {
  it('commits grouped writes together after the window, each atomic on its own, and shows them to its own reads at once', async () => {
    const path = join(root, 'group', 'umbra.db');
    const store = new WorkerStore(path, { groupCommitMs: 400 });
    await store.counts(); // created and migrated
    const other = new Database(path, { readonly: true });
    const count = (): number => (other.prepare('SELECT count(*) AS n FROM decisions').get() as { n: number }).n;
    let done = 0;
    const t0 = Date.now();
    const a = store.writeBatch({ records: [{ decisions: [decisionFixture('g1')] }], group: true }).then((r) => (done++, r));
    const b = store.appendShadow([{ v: 1, id: 'g1', candidate: 'c', action: 'micro', probs: { micro: 1 }, ts: '2025-01-01T00:00:00.000Z', latency_us: 3 }]).then((r) => (done++, r));
    const poison = decisionFixture('poison', { context: { bad: { toJSON: (): never => { throw new Error('poison'); } } as unknown as string } });
    // A batch that cannot be written fails alone (here already on this side, when it is packed).
    await expect(store.writeBatch({ records: [{ decisions: [poison] }], group: true })).rejects.toMatchObject({ code: 'E_STORE' });
    const c = store.writeBatch({ records: [{ decisions: [decisionFixture('g2')] }], group: true }).then((r) => (done++, r));
    await new Promise((r) => setTimeout(r, 150));
    // Not committed yet: another connection does not see the group, and nobody was answered.
    expect(count()).toBe(0);
    expect(done).toBe(0);
    const [ra, rb, rc] = await Promise.all([a, b, c]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(350);
    expect(ra.inserted).toBe(1);
    expect(rb).toHaveLength(1);
    expect(rc.inserted).toBe(1);
    expect(count()).toBe(2);
    // Anything else done through the store commits the group first: read-your-writes, in order.
    const d = store.writeBatch({ records: [{ decisions: [decisionFixture('g3')] }], group: true });
    expect((await store.getDecision('g3'))?.event.id).toBe('g3');
    expect(count()).toBe(3);
    expect((await d).inserted).toBe(1);
    other.close();
    await store.close();
  });

  it('answers every write of a group with the error when the group cannot commit, and keeps serving', async () => {
    const path = join(root, 'group-locked', 'umbra.db');
    const store = new WorkerStore(path, { groupCommitMs: 30, busyTimeoutMs: 100 });
    await store.counts();
    const other = new Database(path);
    other.exec('BEGIN IMMEDIATE');
    const writes = [store.writeBatch({ records: [{ decisions: [decisionFixture('l1')] }], group: true }), store.writeBatch({ records: [{ decisions: [decisionFixture('l2')] }], group: true })];
    const settled = await Promise.allSettled(writes);
    expect(settled.map((s) => s.status)).toEqual(['rejected', 'rejected']);
    expect((settled[0] as PromiseRejectedResult).reason).toMatchObject({ code: expect.stringMatching(/^E_(LOCKED|STORE)$/) });
    other.exec('COMMIT');
    other.close();
    expect((await store.writeBatch({ records: [{ decisions: [decisionFixture('l3')] }], group: true })).inserted).toBe(1);
    expect(await store.countDecisions()).toBe(1);
    await store.close();
  });
});
