/**
 * Secret files: small files of keys, one per line, that only their owner may read. Created with
 * mode 0600 and exclusively (two processes starting at once end up with the same key), refused
 * when group or others can read or write them, as ssh refuses a private key anyone can read.
 */
import { constants, linkSync, mkdirSync, openSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname } from 'node:path';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { writeSyncAndClose } from './fs.js';

/** Smallest key accepted, in bytes. */
export const MIN_SECRET_BYTES = 16;

/**
 * Secrets of a text, one per line or separated by commas, newest first; `#` starts a comment. A
 * secret of hex digits (an even number, at least 32) is read as those bytes, anything else as its
 * UTF-8 bytes, which must be at least 16.
 */
export function parseSecrets(text: string, where: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  // Comments first (a comment may hold commas), then the separators.
  const pieces = text.split('\n').flatMap((l) => l.replace(/#.*$/, '').split(','));
  for (const raw of pieces) {
    const line = raw.trim();
    if (line === '') continue;
    const bytes = /^[0-9a-fA-F]+$/.test(line) && line.length % 2 === 0 && line.length >= 2 * MIN_SECRET_BYTES ? Buffer.from(line, 'hex') : Buffer.from(line, 'utf8');
    if (bytes.length < MIN_SECRET_BYTES) throw new UmbraError(ErrorCode.CONFIG_INVALID, `a key in ${where} is too short: at least ${MIN_SECRET_BYTES} bytes (32 hex digits) are needed`);
    out.push(new Uint8Array(bytes));
  }
  return out;
}

/** Refuse a secret file that group or others may read or write (POSIX only). */
function checkPrivate(path: string): void {
  if (process.platform === 'win32') return;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new UmbraError(ErrorCode.CONFIG_INVALID, `key file ${path} is open to group or others (mode ${mode.toString(8).padStart(4, '0')}); restrict it with: chmod 600 ${path}`);
  }
}

/** The secrets in a file, newest first; undefined when the file does not exist. */
export function readSecretFile(path: string): Uint8Array[] | undefined {
  let text: string;
  try {
    checkPrivate(path);
    text = readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    if (e instanceof UmbraError) throw e;
    throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read key file ${path}: ${(e as Error).message}`);
  }
  const secrets = parseSecrets(text, path);
  if (secrets.length === 0) throw new UmbraError(ErrorCode.CONFIG_INVALID, `key file ${path} holds no key`);
  return secrets;
}

/**
 * The secrets of a file, creating it with one new random secret (`bytes` long, as hex, mode 0600)
 * when it does not exist. Returns whether this call created it.
 */
export function ensureSecretFile(path: string, bytes = 32): { secrets: Uint8Array[]; created: boolean } {
  const have = readSecretFile(path);
  if (have !== undefined) return { secrets: have, created: false };
  mkdirSync(dirname(path), { recursive: true });
  const secret = randomBytes(bytes);
  // Written whole under a temporary name, then linked into place: the link fails when another
  // process got there first, and nobody ever reads a half-written key.
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
  writeSyncAndClose(fd, `# Umbra audit key (HMAC-SHA-256 of the audit records), newest first. Keep it out of backups of the store.\n${secret.toString('hex')}\n`);
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return { secrets: readSecretFile(path)!, created: false };
    throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot create key file ${path}: ${(e as Error).message}`);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { secrets: [new Uint8Array(secret)], created: true };
}
