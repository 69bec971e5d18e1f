/**
 * The contract of the audit log role: rows appended in sequence, each at an expected sequence
 * number (the compare-and-set of the rollout), read back in order.
 */
import { describe, expect, it } from 'vitest';
import type { AuditLog } from '../port.js';
import { collect, freshStore, type Closeable } from './fixtures.js';

/** Register the audit log role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeAuditContract(name: string, make: () => (AuditLog & Closeable) | Promise<AuditLog & Closeable>): void {
  describe(`audit log: ${name}`, () => {
    const store = freshStore(make);

    describe('audit', () => {
      it('appends audit rows in sequence and refuses a stale expected sequence', async () => {
        expect(await store.lastAudit()).toBeUndefined();
        const r1 = await store.appendAudit({ ts: '2025-01-01T00:00:00.000Z', body: { event: 'start', hash: 'h1' } });
        const r2 = await store.appendAudit({ ts: '2025-01-01T00:00:01.000Z', body: { event: 'promote', prev: 'h1' } }, 2);
        expect([r1.seq, r2.seq]).toEqual([1, 2]);
        await expect(store.appendAudit({ ts: '2025-01-01T00:00:02.000Z', body: {} }, 2)).rejects.toMatchObject({ code: 'E_LOCKED' });
        expect((await collect(store.audit())).map((r) => r.body)).toEqual([{ event: 'start', hash: 'h1' }, { event: 'promote', prev: 'h1' }]);
        expect((await collect(store.audit({ afterSeq: 1 }))).map((r) => r.seq)).toEqual([2]);
        expect(await store.lastAudit()).toEqual({ seq: 2, ts: '2025-01-01T00:00:01.000Z', body: { event: 'promote', prev: 'h1' } });
      });

    });
  });
}
