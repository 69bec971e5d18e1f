/**
 * The contract of the shared state role: versioned values, compare-and-set.
 */
import { describe, expect, it } from 'vitest';
import type { StateStore } from '../port.js';
import { freshStore, type Closeable } from './fixtures.js';

/** Register the shared state role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeStateContract(name: string, make: () => (StateStore & Closeable) | Promise<StateStore & Closeable>): void {
  describe(`shared state: ${name}`, () => {
    const store = freshStore(make);

    describe('state', () => {
      it('compare-and-set state by version', async () => {
        expect(await store.getState('k')).toBeUndefined();
        expect(await store.casState('k', 1, { a: 1 })).toBeUndefined();
        expect(await store.casState('k', null, { a: 1 })).toBe(1);
        expect(await store.casState('k', null, { a: 2 })).toBeUndefined();
        expect(await store.casState('k', 1, { a: 2 })).toBe(2);
        expect(await store.casState('k', 1, { a: 3 })).toBeUndefined();
        expect(await store.getState('k')).toMatchObject({ value: { a: 2 }, version: 2 });
        expect(await store.setState('k', [1, 'x'])).toBe(3);
        expect(await store.setState('other', null)).toBe(1);
        expect((await store.getState('k'))?.value).toEqual([1, 'x']);
        expect((await store.getState('other'))?.value).toBeNull();
      });

    });
  });
}
