/**
 * A write-ahead journal for acknowledgements: the decision service appends every decision and
 * outcome here, synchronously, before it answers, so what was acknowledged survives `kill -9`
 * even when it had not reached the store yet. The journal is a run of small segment files; the
 * writer seals the current one whenever it hands a batch to the store and deletes it once the
 * store has committed that batch, so it only ever holds the last few tens of milliseconds. At
 * start, segments left behind by a crash are read back and written to the store again (the store
 * is idempotent by id, so a record that did reach it is stored once).
 *
 * Lines appended in one turn of the event loop are written together, with one `write(2)`, before
 * the promise of `written()` resolves: the caller answers after that (a group commit of a few
 * hundred microseconds at most, instead of one system call per request). `write` mode survives the
 * death of the process, not of the machine; `fsync` mode also syncs each group to the disk.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** How an appended line is made durable before `append` returns. */
export type JournalMode = 'write' | 'fsync';

const PREFIX = 'seg-';
const SUFFIX = '.jsonl';
const WIDTH = 12;

/** One segment file left in the journal directory. */
export interface JournalSegment {
  seq: number;
  path: string;
}

export class Journal {
  private readonly dir: string;
  private readonly mode: JournalMode;
  private fd: number | undefined;
  private seq: number;
  private bytes = 0;
  private keep = false;
  private buffered: string[] = [];
  private waiters: (() => void)[] = [];
  private scheduled = false;
  private failure: Error | undefined;

  /** Open the journal in `dir` (created when missing); new segments number after any found there. */
  constructor(dir: string, mode: JournalMode = 'write') {
    this.dir = dir;
    this.mode = mode;
    mkdirSync(dir, { recursive: true });
    const found = Journal.segments(dir);
    this.seq = (found.at(-1)?.seq ?? 0) + 1;
  }

  /** The segment files in `dir`, oldest first (none when the directory does not exist). */
  static segments(dir: string): JournalSegment[] {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return [];
    }
    return names
      .filter((n) => n.startsWith(PREFIX) && n.endsWith(SUFFIX))
      .map((n) => ({ seq: Number(n.slice(PREFIX.length, -SUFFIX.length)), path: join(dir, n) }))
      .filter((s) => Number.isSafeInteger(s.seq))
      .sort((a, b) => a.seq - b.seq);
  }

  /**
   * The complete lines of a segment. A line cut short by a crash (no newline after it) was never
   * acknowledged, since `append` returns only after the whole line is written: it is left out.
   */
  static lines(path: string): string[] {
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return [];
    return text.slice(0, end).split('\n').filter((l) => l.length > 0);
  }

  private path(seq: number): string {
    return join(this.dir, `${PREFIX}${String(seq).padStart(WIDTH, '0')}${SUFFIX}`);
  }

  /** Queue one line (no newline in it) for the open segment; `written()` says when it is on disk. */
  append(line: string): void {
    this.buffered.push(line);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.writeBuffered());
    }
  }

  /** Resolves once every line appended so far is written (synced, in `fsync` mode); rejects when the write failed. */
  written(): Promise<void> {
    if (this.buffered.length === 0) return this.failure === undefined ? Promise.resolve() : Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push(() => (this.failure === undefined ? resolve() : reject(this.failure))));
  }

  /** Write the queued lines now, in one system call, and wake whoever waits for them. */
  writeBuffered(): void {
    this.scheduled = false;
    if (this.buffered.length === 0) return;
    const lines = this.buffered;
    const waiters = this.waiters;
    this.buffered = [];
    this.waiters = [];
    try {
      this.fd ??= openSync(this.path(this.seq), 'a');
      const data = Buffer.from(`${lines.join('\n')}\n`, 'utf8');
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
      if (this.mode === 'fsync') fsyncSync(this.fd);
      this.bytes += data.length;
      this.failure = undefined;
    } catch (e) {
      this.failure = e as Error;
    }
    for (const w of waiters) w();
  }

  /** Keep the open segment when it is sealed (it holds a record that will not reach the store through the writer). */
  keepOpenSegment(): void {
    this.keep = true;
  }

  /**
   * Close the open segment and start a new one on the next append. Returns the sealed segment's
   * number to `release` once everything appended to it is in the store, or undefined when nothing
   * was appended or the segment is to be kept for the next start's replay.
   */
  seal(): number | undefined {
    this.writeBuffered();
    if (this.fd === undefined) return undefined;
    closeSync(this.fd);
    this.fd = undefined;
    const seq = this.seq++;
    const keep = this.keep;
    this.keep = false;
    this.bytes = 0;
    return keep ? undefined : seq;
  }

  /** Delete a sealed segment whose records the store has committed. */
  release(seq: number): void {
    try {
      unlinkSync(this.path(seq));
    } catch {
      /* already gone: nothing to replay either way */
    }
  }

  /** Bytes in the open segment. */
  get openBytes(): number {
    return this.bytes;
  }

  /** Close the open segment without releasing it (it is replayed at the next start). */
  close(): void {
    this.writeBuffered();
    if (this.fd !== undefined) closeSync(this.fd);
    this.fd = undefined;
  }
}
