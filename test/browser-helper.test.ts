/**
 * The browser tests fail, never skip, in CI when Chromium is missing: `requireChromium` throws at
 * the import of every browser test file, and only a developer's machine may skip them.
 */
import { describe, expect, it } from 'vitest';
import { isCi, requireChromium } from './helpers/browser.js';

describe('browser test gate', () => {
  it('throws under CI when Chromium is missing, skips only outside CI', () => {
    const missing = (): boolean => false;
    for (const ci of ['true', '1', 'yes', 'TRUE']) expect(() => requireChromium('/nowhere/chromium', missing, { CI: ci }), ci).toThrow(/chromium not found/);
    for (const ci of [undefined, '', '0', 'false']) expect(requireChromium('/nowhere/chromium', missing, ci === undefined ? {} : { CI: ci })).toBe(false);
    expect(requireChromium('/usr/bin/chromium', () => true, { CI: 'true' })).toBe(true);
    expect(isCi({ CI: 'true' })).toBe(true);
  });
});
