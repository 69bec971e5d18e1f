/**
 * The contract of the ingest ledger role (quarantine rows and checkpoints) and of batch atomicity:
 * everything of a batch becomes visible together or not at all; held batches commit with the next.
 */
import { describe, expect, it } from 'vitest';
import type { Checkpoint, EventReader, EventWriter, IngestLedger } from '../port.js';
import { collect, decisionFixture, turnFixture, freshStore, type Closeable } from './fixtures.js';

/** Register the ingest ledger role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeLedgerContract(name: string, make: () => (EventReader & EventWriter & IngestLedger & Closeable) | Promise<EventReader & EventWriter & IngestLedger & Closeable>): void {
  describe(`ingest ledger: ${name}`, () => {
    const store = freshStore(make);

    describe('quarantine and checkpoints', () => {
      it('keeps quarantine rows with source, offset, reason and excerpt, and counts by reason', async () => {
        await store.writeBatch({
          quarantine: [
            { source: 'f.jsonl', offset: 0, reason: 'not_json', excerpt: 'garbage', detail: 'x' },
            { source: 'f.jsonl', offset: 8, reason: 'torn_line', excerpt: '{"a":' },
            { source: 'g.jsonl', offset: 3, reason: 'not_json', excerpt: '??' },
          ],
        });
        expect(await store.quarantineCounts()).toEqual({ not_json: 2, torn_line: 1 });
        const rows = await collect(store.quarantine());
        expect(rows.map((r) => [r.source, r.offset, r.reason, r.excerpt])).toEqual([
          ['f.jsonl', 0, 'not_json', 'garbage'],
          ['f.jsonl', 8, 'torn_line', '{"a":'],
          ['g.jsonl', 3, 'not_json', '??'],
        ]);
        expect(rows[0]!.detail).toBe('x');
        expect(rows[1]!.detail).toBeUndefined();
        expect((await collect(store.quarantine({ source: 'g.jsonl' }))).map((r) => r.offset)).toEqual([3]);
        expect((await collect(store.quarantine({ reason: 'torn_line' }))).map((r) => r.offset)).toEqual([8]);
      });

      it('upserts checkpoints by source key', async () => {
        const cp: Checkpoint = { source: '/x/a.jsonl', dev: '2049', ino: '18446744073709551615', offset: 10, size: 20, fp: 'abc', fpLen: 10, skipFrom: null, updatedAt: '2025-01-01T00:00:00.000Z' };
        await store.writeBatch({ checkpoints: [cp] });
        expect(await store.getCheckpoint('/x/a.jsonl')).toEqual(cp);
        await store.writeBatch({ checkpoints: [{ ...cp, offset: 20, skipFrom: 15 }, { ...cp, source: '/x/b.jsonl' }] });
        expect((await store.getCheckpoint('/x/a.jsonl'))?.offset).toBe(20);
        expect((await store.getCheckpoint('/x/a.jsonl'))?.skipFrom).toBe(15);
        expect((await store.listCheckpoints()).map((c) => c.source)).toEqual(['/x/a.jsonl', '/x/b.jsonl']);
        expect(await store.getCheckpoint('/x/none')).toBeUndefined();
      });

      it('commits held batches with the next batch, and drops them when that batch fails', async () => {
        await store.writeBatch({ records: [{ decisions: [decisionFixture('h1')] }], hold: true });
        await store.writeBatch({ records: [{ decisions: [decisionFixture('h2')] }] });
        expect(await store.countDecisions()).toBe(2);
        await store.writeBatch({ records: [{ turn: turnFixture('h3', { session: 'S' }), decisions: [decisionFixture('h3')] }], quarantine: [{ source: 's', offset: 1, reason: 'not_json', excerpt: '' }], hold: true });
        const poison = decisionFixture('poison', { context: { bad: { toJSON: (): never => { throw new Error('poison'); } } as unknown as string } });
        await expect(store.writeBatch({ records: [{ decisions: [poison] }] })).rejects.toThrow();
        expect(await store.countDecisions()).toBe(2);
        expect(await store.getDecision('h3')).toBeUndefined();
        expect(await store.sessionTurns('S')).toBe(0);
        expect(await store.quarantineCounts()).toEqual({});
        await store.writeBatch({ records: [{ decisions: [decisionFixture('h4')] }] });
        expect(await store.countDecisions()).toBe(3);
        await store.writeBatch({ records: [{ decisions: [decisionFixture('h5')] }], hold: true });
        await store.discardHeld();
        await store.discardHeld();
        expect(await store.getDecision('h5')).toBeUndefined();
        await store.writeBatch({ records: [{ decisions: [decisionFixture('h6')] }] });
        expect(await store.countDecisions()).toBe(4);
      });

      it('applies a batch atomically: a failure leaves nothing of it behind', async () => {
        await store.writeBatch({ records: [{ decisions: [decisionFixture('before')] }] });
        const poison = decisionFixture('poison', {
          context: { bad: { toJSON: (): never => { throw new Error('poison'); } } as unknown as string },
        });
        const cp: Checkpoint = { source: 's', dev: '1', ino: '1', offset: 99, size: 99, fp: '', fpLen: 0, skipFrom: null, updatedAt: '2025-01-01T00:00:00.000Z' };
        await expect(
          store.writeBatch({
            records: [{ turn: turnFixture('t', { session: 'S' }), decisions: [decisionFixture('t')] }, { decisions: [decisionFixture('ok1')] }, { decisions: [poison] }],
            outcomes: [{ id: 'before', outcome: { feedback: 1 } }],
            quarantine: [{ source: 's', offset: 1, reason: 'not_json', excerpt: '' }],
            checkpoints: [cp],
          }),
        ).rejects.toThrow();
        expect(await store.countDecisions()).toBe(1);
        expect(await store.getDecision('ok1')).toBeUndefined();
        expect(await store.getTurn('t')).toBeUndefined();
        expect(await store.sessionTurns('S')).toBe(0);
        expect(await store.getCheckpoint('s')).toBeUndefined();
        expect(await store.quarantineCounts()).toEqual({});
        expect(await store.getOutcome('before')).toBeUndefined();
        const c = await store.counts();
        expect(c).toMatchObject({ decisions: 1, turns: 0, outcomes: 0, quarantined: 0, sessions: 0 });
      });
    });
  });
}
