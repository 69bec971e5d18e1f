/**
 * The file tailer: reads complete lines of one file from a checkpoint, working on bytes so that a
 * multibyte character split across reads is never cut, and keeping a partial last line for later.
 * It recognises the file by (device, inode) plus a fingerprint of its first bytes, so it can tell a
 * resumed file from a truncated (copy-truncate), rewritten, rotated (rename + create) or renamed one.
 * Over-long lines are skipped to the next newline; NUL bytes and invalid UTF-8 are reported per line.
 */
import { closeSync, fstatSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import { dirname, join } from 'node:path';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { QuarantineReason } from '../core/telemetry/types.js';
import type { Checkpoint } from '../store/port.js';
import type { LineItem } from './process.js';

/** Bytes hashed to recognise a file (its first bytes, up to this many). */
export const FINGERPRINT_BYTES = 256;

/** Options of a tailer. */
export interface TailerOptions {
  /** Longest line kept; longer ones are skipped and reported. */
  maxLineBytes: number;
  /** Bytes per read. @default 1 MiB */
  readBytes?: number;
}

/**
 * A complete line (`o` its byte offset, `t` its text, `v` its value when already parsed), or a
 * line that failed a byte-level check (`bad` the reason code, `s` a sample, `n` its length).
 * Short field names: a million of them are made per million lines.
 */
export type TailItem = LineItem;

/** File identity of an open descriptor or a path. */
export interface FileId {
  dev: string;
  ino: string;
  size: number;
}

/** Identity of a path (undefined when it does not exist). */
export function idOfPath(path: string): FileId | undefined {
  try {
    const st = statSync(path, { bigint: true });
    return { dev: st.dev.toString(), ino: st.ino.toString(), size: Number(st.size) };
  } catch {
    return undefined;
  }
}

function idOfFd(fd: number): FileId {
  const st = fstatSync(fd, { bigint: true });
  return { dev: st.dev.toString(), ino: st.ino.toString(), size: Number(st.size) };
}

/** SHA-256 prefix of the first `len` bytes of an open file. */
function fingerprint(fd: number, len: number): string {
  if (len <= 0) return '';
  const b = Buffer.allocUnsafe(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, got);
    if (n === 0) break;
    got += n;
  }
  if (got < len) return '!short';
  return createHash('sha256').update(b).digest('hex').slice(0, 32);
}

/** Why a tailer started where it did. */
export type StartReason = 'new' | 'resumed' | 'truncated' | 'rewritten' | 'adopted';

/** One open file being read line by line. */
export class FileTailer {
  /** The source key: the path this file is ingested under. */
  readonly source: string;
  readonly dev: string;
  readonly ino: string;
  /** How the start position was chosen. */
  readonly started: StartReason;
  private fd: number;
  private readonly maxLine: number;
  private readonly readBytes: number;
  private buf: Buffer;
  /** File offset of buf[0]. */
  private bufStart: number;
  private bufLen = 0;
  /** Offset in buf of the first byte not yet consumed. */
  private lineStart = 0;
  /** File offset after the last consumed byte (the checkpoint offset). */
  private consumed: number;
  private skipFrom: number | null;
  private fp = '';
  private fpLen = 0;
  private lastSize = 0;

  private constructor(source: string, fd: number, id: FileId, start: number, skipFrom: number | null, started: StartReason, opts: TailerOptions) {
    this.source = source;
    this.fd = fd;
    this.dev = id.dev;
    this.ino = id.ino;
    this.started = started;
    this.maxLine = opts.maxLineBytes;
    this.readBytes = opts.readBytes ?? 1024 * 1024;
    this.buf = Buffer.allocUnsafe(this.readBytes);
    this.bufStart = start;
    this.consumed = start;
    this.skipFrom = skipFrom;
    this.lastSize = id.size;
    this.refreshFingerprint();
  }

  /**
   * Open `path` for reading from the right place given its checkpoint (`cp`, under the same source
   * key) and the other known checkpoints (a renamed file keeps its position). Returns undefined when
   * the file no longer exists; throws E_INPUT_UNREADABLE when it cannot be read.
   */
  static open(path: string, source: string, cp: Checkpoint | undefined, others: readonly Checkpoint[], opts: TailerOptions): FileTailer | undefined {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      // Gone since it was listed: nothing to read. Anything else (permissions, ...) is an error.
      if ((e as { code?: unknown }).code === 'ENOENT') return undefined;
      throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
    }
    try {
      const id = idOfFd(fd);
      const sameFile = (c: Checkpoint): boolean => c.dev === id.dev && c.ino === id.ino;
      const matches = (c: Checkpoint): boolean => c.fpLen <= id.size && fingerprint(fd, c.fpLen) === c.fp;
      if (cp !== undefined && sameFile(cp)) {
        if (id.size < cp.offset) return new FileTailer(source, fd, id, 0, null, 'truncated', opts);
        if (!matches(cp)) return new FileTailer(source, fd, id, 0, null, 'rewritten', opts);
        return new FileTailer(source, fd, id, cp.offset, cp.skipFrom, 'resumed', opts);
      }
      if (cp === undefined) {
        const moved = others.find((c) => sameFile(c) && c.offset <= id.size && matches(c));
        if (moved !== undefined) return new FileTailer(source, fd, id, moved.offset, moved.skipFrom, 'adopted', opts);
      }
      return new FileTailer(source, fd, id, 0, null, 'new', opts);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** The checkpoint to commit after the items yielded so far. */
  checkpoint(): Checkpoint {
    this.refreshFingerprint();
    return {
      source: this.source,
      dev: this.dev,
      ino: this.ino,
      offset: this.consumed,
      size: Math.max(this.lastSize, this.consumed),
      fp: this.fp,
      fpLen: this.fpLen,
      skipFrom: this.skipFrom,
      updatedAt: new Date().toISOString(),
    };
  }

  /** Offset after the last consumed line. */
  get offset(): number {
    return this.consumed;
  }

  /** Bytes read but not yet consumed (a partial last line). */
  get pendingBytes(): number {
    return this.bufLen - this.lineStart;
  }

  private refreshFingerprint(): void {
    const want = Math.min(FINGERPRINT_BYTES, this.consumed);
    if (want > this.fpLen || this.fp === '') {
      this.fp = fingerprint(this.fd, want);
      this.fpLen = want;
    }
  }

  /**
   * Check the open file against its identity: `truncated` when it shrank below the consumed
   * offset or its first bytes changed (copy-truncate), after which reading restarts at 0.
   */
  checkTruncation(): 'truncated' | undefined {
    const id = idOfFd(this.fd);
    this.lastSize = id.size;
    const shrank = id.size < this.consumed;
    const changed = !shrank && this.fpLen > 0 && fingerprint(this.fd, this.fpLen) !== this.fp;
    if (!shrank && !changed) return undefined;
    this.bufStart = 0;
    this.bufLen = 0;
    this.lineStart = 0;
    this.consumed = 0;
    this.skipFrom = null;
    this.fp = '';
    this.fpLen = 0;
    return 'truncated';
  }

  /**
   * Read to the end of the file, yielding complete lines (and bad ones) in file order. The
   * trailing bytes after the last newline stay pending, unless they already form a complete JSON
   * object (a writer that ends without a newline), which is yielded with its parsed `value`.
   */
  *read(): Generator<TailItem> {
    for (;;) {
      this.makeRoom();
      const n = readSync(this.fd, this.buf, this.bufLen, this.buf.length - this.bufLen, this.bufStart + this.bufLen);
      if (n === 0) break;
      const scanFrom = this.bufLen;
      this.bufLen += n;
      yield* this.lines(scanFrom);
    }
    if (this.skipFrom === null && this.bufLen > this.lineStart) {
      const item = this.unterminated();
      if (item !== undefined) yield item;
    }
  }

  /** Make space after bufLen: drop consumed bytes, grow for a long partial line. */
  private makeRoom(): void {
    if (this.lineStart > 0) {
      this.buf.copyWithin(0, this.lineStart, this.bufLen);
      this.bufStart += this.lineStart;
      this.bufLen -= this.lineStart;
      this.lineStart = 0;
    }
    if (this.buf.length - this.bufLen < this.readBytes / 2) {
      const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.bufLen + this.readBytes));
      this.buf.copy(next, 0, 0, this.bufLen);
      this.buf = next;
    }
  }

  private *lines(scanFrom: number): Generator<TailItem> {
    const buf = this.buf;
    const end = this.bufLen;
    // One UTF-8 check for every complete line of this read; per-line checks only when it fails.
    const lastNl = buf.lastIndexOf(10, end - 1);
    const regionOk = lastNl < this.lineStart || isUtf8(buf.subarray(this.lineStart, lastNl + 1));
    let nul = buf.indexOf(0, this.lineStart);
    if (nul >= end) nul = -1;
    let nl = buf.indexOf(10, Math.max(scanFrom, this.lineStart));
    while (nl !== -1 && nl < end) {
      const start = this.lineStart;
      const fileOffset = this.bufStart + start;
      this.lineStart = nl + 1;
      if (this.skipFrom !== null) {
        const from = this.skipFrom;
        this.skipFrom = null;
        this.consumed = this.bufStart + this.lineStart;
        yield { o: from, bad: QuarantineReason.OVERSIZED_LINE, s: buf.toString('utf8', start, Math.min(nl, start + 1024)), n: this.consumed - from };
      } else if (nl - start > this.maxLine) {
        this.consumed = this.bufStart + this.lineStart;
        yield { o: fileOffset, bad: QuarantineReason.OVERSIZED_LINE, s: buf.toString('utf8', start, start + 1024), n: nl - start };
      } else {
        let e = nl;
        if (e > start && buf[e - 1] === 13) e--;
        let s = start;
        if (fileOffset === 0 && e - s >= 3 && buf[s] === 0xef && buf[s + 1] === 0xbb && buf[s + 2] === 0xbf) s += 3;
        this.consumed = this.bufStart + this.lineStart;
        if (nul !== -1 && nul < start) {
          nul = buf.indexOf(0, start);
          if (nul >= end) nul = -1;
        }
        if (nul !== -1 && nul < nl) {
          yield { o: fileOffset, bad: QuarantineReason.NUL_BYTES, s: buf.toString('utf8', s, Math.min(e, s + 1024)), n: nl - start };
        } else if (!regionOk && !isUtf8(buf.subarray(s, e))) {
          yield { o: fileOffset, bad: QuarantineReason.INVALID_UTF8, s: buf.toString('utf8', s, Math.min(e, s + 1024)), n: nl - start };
        } else {
          yield { o: fileOffset, t: buf.toString('utf8', s, e) };
        }
      }
      nl = buf.indexOf(10, this.lineStart);
    }
    // No newline in the rest: a partial line. Too long already: skip it, remembering where it began.
    const pending = end - this.lineStart;
    if (this.skipFrom !== null) {
      this.lineStart = end;
      this.consumed = this.bufStart + end;
    } else if (pending > this.maxLine) {
      this.skipFrom = this.bufStart + this.lineStart;
      this.lineStart = end;
      this.consumed = this.bufStart + end;
    }
  }

  /** The bytes after the last newline, as a line, if they already form a complete JSON object. */
  private unterminated(): TailItem | undefined {
    const s = this.lineStart;
    const e = this.bufLen;
    let last = e - 1;
    while (last > s && (this.buf[last] === 32 || this.buf[last] === 13 || this.buf[last] === 9)) last--;
    if (this.buf[last] !== 0x7d /* } */) return undefined;
    const chunk = this.buf.subarray(s, e);
    if (chunk.indexOf(0) !== -1 || !isUtf8(chunk)) return undefined;
    const text = this.buf.toString('utf8', s, e);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return undefined;
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    const offset = this.bufStart + s;
    this.lineStart = e;
    this.consumed = this.bufStart + e;
    return { o: offset, t: text, v: value };
  }

  /** Close the file. */
  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Find the file a rotated checkpoint points to: a sibling of `path` with the checkpoint's device
 * and inode (e.g. `events.jsonl.1` after rename + create). Undefined when it is gone.
 */
export function findRotated(path: string, cp: Checkpoint): string | undefined {
  const dir = dirname(path);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return undefined;
  }
  for (const name of names.sort()) {
    const p = join(dir, name);
    const id = idOfPath(p);
    if (id !== undefined && id.dev === cp.dev && id.ino === cp.ino) return p;
  }
  return undefined;
}
