/**
 * File helpers shared by the shells: atomic writes (temp file, fsync, rename) and readers that
 * accept both a JSON array file (`.json`) and JSON lines (`.jsonl`, anything else).
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync, readFileSync, readSync, existsSync, unlinkSync, createReadStream, statSync } from 'node:fs';
import { dirname, basename, join, resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCode, UmbraError } from '../core/errors.js';

/**
 * Refuse an output file whose directory does not exist (or is not a directory): a typo in a path
 * is an error (E_OUTPUT_UNWRITABLE), never a tree of new directories.
 */
export function requireOutputParent(path: string, flag: string): void {
  const dir = dirname(resolvePath(path));
  let ok: boolean;
  try {
    ok = statSync(dir).isDirectory();
  } catch {
    ok = false;
  }
  if (!ok) throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `${flag} ${path}: the directory ${dir} does not exist (create it first)`);
}

/** Write `data` to an open file, flush it to disk, and close it (closed on a failure too). */
export function writeSyncAndClose(fd: number, data: string | Uint8Array): void {
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Write `data` to `path` atomically: readers see the old file or the new one, never a mix. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`);
  writeSyncAndClose(openSync(tmp, 'w'), data);
  try {
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      /* already gone */
    }
    throw e;
  }
  try {
    const dfd = openSync(dir, 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    /* directory fsync is best effort (not supported everywhere) */
  }
}

/** Write a JSON value atomically (pretty-printed, trailing newline). */
export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

/** Read and parse a JSON file, with E_INPUT_NOT_FOUND / E_INPUT_UNREADABLE errors. */
export function readJsonFile(path: string, what = 'file'): unknown {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `${what} not found: ${path}`);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read ${what} ${path}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `${what} ${path} is not valid JSON: ${(e as Error).message}`);
  }
}

/** One record of a JSON-array or JSONL file; `error` is set when the line is not JSON. */
export interface JsonRecord {
  /** 1-based line number (JSONL) or element index + 1 (JSON array). */
  line: number;
  value?: unknown;
  error?: string;
  raw?: string;
}

/**
 * Iterate the records of a `.json` array file or a JSON-lines file. Blank lines are skipped; a line
 * that is not JSON is yielded with `error` so the caller can report it without losing the rest.
 */
export async function* readRecords(path: string): AsyncGenerator<JsonRecord> {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `file not found: ${path}`);
  if (path.endsWith('.json')) {
    const v = readJsonFile(path);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) yield { line: i + 1, value: v[i] };
      return;
    }
    yield { line: 1, value: v };
    return;
  }
  const rl = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    const t = line.trim();
    if (t === '') continue;
    try {
      yield { line: n, value: JSON.parse(t) };
    } catch (e) {
      yield { line: n, error: (e as Error).message, raw: t.length > 200 ? `${t.slice(0, 200)}…` : t };
    }
  }
}

/**
 * `readRecords` without a promise per record: the file is read in large chunks and `visit` is called
 * for every record in order, with the same line numbers, trimming, blank-line skipping and error
 * texts. For readers of large files (`umbra ope --target`, `umbra policy score`).
 */
export function eachRecord(path: string, visit: (rec: JsonRecord) => void, chunkBytes = 1 << 22): void {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `file not found: ${path}`);
  if (path.endsWith('.json')) {
    const v = readJsonFile(path);
    if (Array.isArray(v)) for (let i = 0; i < v.length; i++) visit({ line: i + 1, value: v[i] });
    else visit({ line: 1, value: v });
    return;
  }
  let n = 0;
  const line = (text: string): void => {
    // readline ends lines at \n, \r\n and a lone \r
    const parts = text.includes('\r') ? text.split(/\r(?!$)/) : [text];
    for (const part of parts) {
      n++;
      const t = part.trim();
      if (t === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(t);
      } catch (e) {
        visit({ line: n, error: (e as Error).message, raw: t.length > 200 ? `${t.slice(0, 200)}…` : t });
        continue;
      }
      visit({ line: n, value });
    }
  };
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.allocUnsafe(chunkBytes);
    let carry: Buffer | undefined;
    for (;;) {
      const got = readSync(fd, chunk, 0, chunk.length, null);
      if (got === 0) break;
      let buf = chunk.subarray(0, got);
      if (carry !== undefined) {
        buf = Buffer.concat([carry, buf]);
        carry = undefined;
      }
      let start = 0;
      for (let i = buf.indexOf(10, start); i >= 0; i = buf.indexOf(10, start)) {
        line(buf.toString('utf8', start, i));
        start = i + 1;
      }
      if (start < buf.length) carry = Buffer.from(buf.subarray(start));
    }
    if (carry !== undefined && carry.length > 0) line(carry.toString('utf8'));
  } finally {
    closeSync(fd);
  }
}
