import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCode, EXIT_STATUS, HTTP_STATUS, UmbraError, toUmbraError } from './errors.js';

describe('error codes', () => {
  it('every code has an exit status, an HTTP status and a row in docs/errors.md', () => {
    const doc = readFileSync(join(process.cwd(), 'docs', 'errors.md'), 'utf8');
    for (const code of Object.values(ErrorCode)) {
      expect(EXIT_STATUS[code], code).toBeGreaterThan(0);
      expect(HTTP_STATUS[code], code).toBeGreaterThanOrEqual(400);
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\``));
      expect(row, `docs/errors.md row for ${code}`).toBeDefined();
      expect(row).toContain(`| ${EXIT_STATUS[code]} | ${HTTP_STATUS[code]} |`);
    }
  });
  it('wraps foreign errors as E_INTERNAL and keeps Umbra errors', () => {
    const e = new UmbraError(ErrorCode.SCHEMA, 'bad');
    expect(toUmbraError(e)).toBe(e);
    expect(toUmbraError(new Error('x')).code).toBe('E_INTERNAL');
    expect(e.toJSON()).toEqual({ error: { code: 'E_SCHEMA', message: 'bad' } });
  });
});
