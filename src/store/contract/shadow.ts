/**
 * The contract of the shadow log role: append-only records in order, read by candidate.
 */
import { describe, expect, it } from 'vitest';
import type { ShadowRecord } from '../../core/events.js';
import type { ShadowLog } from '../port.js';
import { collect, freshStore, type Closeable } from './fixtures.js';

/** Register the shadow log role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeShadowContract(name: string, make: () => (ShadowLog & Closeable) | Promise<ShadowLog & Closeable>): void {
  describe(`shadow log: ${name}`, () => {
    const store = freshStore(make);

    describe('shadow', () => {
      it('appends shadow records and reads them by candidate and by decision id', async () => {
        const rec = (id: string, candidate: string): ShadowRecord => ({ v: 1, id, candidate, action: 'deep', probs: { deep: 0.9, micro: 0.1 }, ts: '2025-09-04T10:00:00.000Z', latency_us: 42 });
        const seqs = await store.appendShadow([rec('a', 'c1'), rec('a', 'c2'), rec('b', 'c1')]);
        expect(seqs).toHaveLength(3);
        expect(seqs[1]!).toBeGreaterThan(seqs[0]!);
        const more = await store.appendShadow([rec('c', 'c1')]);
        expect(more[0]!).toBeGreaterThan(seqs[2]!);
        expect((await collect(store.shadowByCandidate('c1'))).map((s) => s.record.id)).toEqual(['a', 'b', 'c']);
        expect((await collect(store.shadowByCandidate('c1', { afterSeq: seqs[0]! }))).map((s) => s.record.id)).toEqual(['b', 'c']);
        expect((await collect(store.shadowByCandidate('c2'))).map((s) => s.record)).toEqual([rec('a', 'c2')]);
      });

    });
  });
}
