/**
 * The contract of the bundle archive role: a version's files kept once, read back whole.
 */
import { describe, expect, it } from 'vitest';
import type { BundleArchive } from '../port.js';
import { freshStore, type Closeable } from './fixtures.js';

/** Register the bundle archive role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeBundleArchiveContract(name: string, make: () => (BundleArchive & Closeable) | Promise<BundleArchive & Closeable>): void {
  describe(`bundle archive: ${name}`, () => {
    const store = freshStore(make);

    it('keeps a bundle under its version and hands back every file exactly', async () => {
      expect(await store.getBundle('cand-1')).toBeUndefined();
      const files = { 'manifest.json': '{"version":"cand-1"}\n', 'route.json': `{"w":[0.1,-2e-7],"text":"å ä ö \\u0000 ${'x'.repeat(70_000)}"}` };
      await store.putBundle('cand-1', files);
      expect(await store.getBundle('cand-1')).toEqual(files);
      expect(await store.getBundle('cand-2')).toBeUndefined();
    });

    it('is idempotent: a version already kept is not replaced', async () => {
      await store.putBundle('cand-1', { 'a.json': '1' });
      await store.putBundle('cand-1', { 'a.json': '2' });
      expect(await store.getBundle('cand-1')).toEqual({ 'a.json': '1' });
    });
  });
}
