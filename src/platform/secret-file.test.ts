import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ensureSecretFile, parseSecrets, readSecretFile } from './secret-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('secret files', () => {
  it('read back exactly the secret they were created with (the header comment is no key)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-secret-'));
    dirs.push(dir);
    const path = join(dir, 'audit.key');
    const made = ensureSecretFile(path);
    expect(made.created).toBe(true);
    expect(made.secrets).toHaveLength(1);
    // Another process reads the file: the same single secret, whatever the comment says.
    expect(readFileSync(path, 'utf8')).toMatch(/^#.*,/);
    const read = readSecretFile(path)!;
    expect(read).toHaveLength(1);
    expect(Buffer.from(read[0]!).equals(Buffer.from(made.secrets[0]!))).toBe(true);
    expect(ensureSecretFile(path)).toEqual({ secrets: read, created: false });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('takes commas and lines as separators outside comments only', () => {
    const a = '11'.repeat(16);
    const b = '22'.repeat(16);
    expect(parseSecrets(`# first, then second, newest first\n${a}, ${b} # trailing, comment\n`, 't').map((x) => Buffer.from(x).toString('hex'))).toEqual([a, b]);
  });
});
