/**
 * The ingestion service: tailer → mapping → batched store writes. Each batch commits its rows
 * together with the source's checkpoint in one transaction, so a process killed at any moment
 * neither loses nor repeats a line: the next run resumes exactly after the last committed line.
 * Bad lines are quarantined with their reason and byte offset; nothing else stops a run.
 */
import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { Config } from '../core/config/index.js';
import { TelemetrySchema, type TelemetryConfig } from '../core/config/telemetry.js';
import type { Checkpoint, EventWriter, IngestLedger, WriteBatch, WriteResult } from '../store/port.js';
import { classifyUnparsable } from './lines.js';
import { LineProcessor, emptyProcessed, type Processed } from './process.js';
import { resolveSources } from './sources.js';
import { FINGERPRINT_BYTES, FileTailer, findRotated, idOfPath } from './tailer.js';

/** Options of one ingestion run. */
export interface IngestOptions {
  /** Where the events go: the writer and the ledger of checkpoints and quarantine. */
  store: EventWriter & IngestLedger;
  /** A file, a directory (recursive) or a glob. */
  path: string;
  /** The effective config (its `telemetry` section is used). @default all defaults */
  config?: Pick<Config, 'telemetry'>;
  /** Keep polling for new lines and files until `signal` aborts. @default false */
  follow?: boolean;
  /** Stops the run after the current line; the batch so far is committed. */
  signal?: AbortSignal;
  /** Called after each committed batch and at the end of each file. */
  onProgress?: (p: IngestProgress) => void;
  /** Human notes (rotation, truncation, waiting for the path). */
  onNote?: (msg: string) => void;
  /** Base for a relative `path`. @default process.cwd() */
  cwd?: string;
}

/** Progress of a run, in bytes over the files it covers. */
export interface IngestProgress {
  bytesDone: number;
  bytesTotal: number;
  file: string;
}

/** The counts of one run. */
export interface IngestCounts {
  /** Non-blank lines read (JSON array elements count as lines). */
  linesRead: number;
  /** New decision events stored. */
  eventsStored: number;
  /** Decision events already stored under their id (Alice's second line per turn, re-read files). */
  duplicates: number;
  /** Outcome updates (feedback, outcome events) matched to their decision in this run. */
  outcomesJoined: number;
  quarantined: { total: number; byReason: Record<string, number> };
  /** New KPI turn facts stored. */
  turns: number;
  /** Outcome updates merged (joined or waiting for their decision). */
  outcomes: number;
  /** Duplicates that filled a field the first line lacked. */
  filled: number;
  /** Counted, non-fatal findings (e.g. `propensity_dropped`). */
  warnings: Record<string, number>;
  /** Files visited. */
  files: number;
  /** Bytes consumed in this run. */
  bytesRead: number;
  /** Bytes of partial last lines left for a later run. */
  pendingBytes: number;
  /** Rotations (rename + create) and truncations (copy-truncate, rewrite) handled. */
  rotations: number;
  truncations: number;
}

/** Empty counts. */
export function emptyCounts(): IngestCounts {
  return {
    linesRead: 0,
    eventsStored: 0,
    duplicates: 0,
    outcomesJoined: 0,
    quarantined: { total: 0, byReason: {} },
    turns: 0,
    outcomes: 0,
    filled: 0,
    warnings: {},
    files: 0,
    bytesRead: 0,
    pendingBytes: 0,
    rotations: 0,
    truncations: 0,
  };
}

/** The machine summary `umbra ingest --json` prints: exactly these keys. */
export function summaryOf(c: IngestCounts): { linesRead: number; eventsStored: number; duplicates: number; outcomesJoined: number; quarantined: { total: number; byReason: Record<string, number> } } {
  return { linesRead: c.linesRead, eventsStored: c.eventsStored, duplicates: c.duplicates, outcomesJoined: c.outcomesJoined, quarantined: { total: c.quarantined.total, byReason: { ...c.quarantined.byReason } } };
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/** Batches a run keeps in flight to an asynchronous store. */
const MAX_INFLIGHT = 8;

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Ingest `path` into the store. Without `follow`, reads what is there and returns; a missing
 * path is E_INPUT_NOT_FOUND. With `follow`, waits for the path, then polls until `signal` aborts.
 */
export async function ingest(opts: IngestOptions): Promise<IngestCounts> {
  return new IngestRun(opts).run();
}

class IngestRun {
  private readonly o: IngestOptions;
  private readonly cfg: TelemetryConfig;
  private readonly proc: LineProcessor;
  readonly counts = emptyCounts();
  private readonly open = new Map<string, FileTailer>();
  private readonly committedOffset = new Map<string, number>();
  private bytesTotal = 0;
  private bytesBefore = 0;
  private readonly visited = new Set<string>();
  /** True while batches wait in the store's open transaction for their checkpoint. */
  private held = false;
  /** Batches sent but not yet answered (an asynchronous store works on them meanwhile). */
  private readonly inflight: Promise<void>[] = [];
  /** The first failure of a batch in flight. */
  private failure: { error: unknown } | undefined;

  constructor(o: IngestOptions) {
    this.o = o;
    this.cfg = o.config?.telemetry ?? TelemetrySchema.parse({});
    this.proc = new LineProcessor(this.cfg);
  }

  private get aborted(): boolean {
    return this.o.signal?.aborted === true;
  }

  async run(): Promise<IngestCounts> {
    const { path, follow } = this.o;
    let waiting = false;
    try {
      for (;;) {
        const sources = resolveSources(path, this.o.cwd);
        if (sources === undefined) {
          if (!follow) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `telemetry not found: ${path} (a file, a directory or a glob)`);
          if (!waiting) this.o.onNote?.(`waiting for ${path} to appear`);
          waiting = true;
        } else {
          waiting = false;
          this.measure(sources.files);
          for (const file of sources.files) {
            if (this.aborted) break;
            if (!this.visited.has(file)) {
              this.visited.add(file);
              this.counts.files++;
            }
            await this.ingestFile(file);
          }
        }
        if (!follow || this.aborted) break;
        await sleep(this.cfg.poll_ms, this.o.signal);
        if (this.aborted) break;
      }
      await this.settle(true);
    } finally {
      for (const t of this.open.values()) t.close();
      this.open.clear();
      await this.settle(false);
      // Given up half-way (an error): rows without their checkpoint must not commit later.
      if (this.held || this.failure !== undefined) await this.o.store.discardHeld();
    }
    return this.counts;
  }

  /** Sizes for the progress bar: everything the files hold, and what earlier runs already read. */
  private measure(files: readonly string[]): void {
    let total = 0;
    for (const f of files) total += idOfPath(f)?.size ?? 0;
    this.bytesTotal = total;
  }

  private progress(file: string): void {
    if (this.o.onProgress === undefined) return;
    this.o.onProgress({ bytesDone: Math.min(this.bytesTotal, this.bytesBefore + this.counts.bytesRead), bytesTotal: this.bytesTotal, file });
  }

  private tailerOptions(): { maxLineBytes: number } {
    return { maxLineBytes: this.cfg.max_line_bytes };
  }

  private async ingestFile(file: string): Promise<void> {
    if (/\.json$/i.test(file) && startsWithBracket(file)) return this.ingestJsonArray(file);
    let t = this.open.get(file);
    if (t === undefined) {
      const cp = await this.o.store.getCheckpoint(file);
      const id = idOfPath(file);
      if (id === undefined) return;
      if (cp !== undefined && (cp.dev !== id.dev || cp.ino !== id.ino)) {
        // Rotated since the last run: finish the old file first (under this key), then start the new one.
        const old = findRotated(file, cp);
        if (old !== undefined && old !== file) {
          this.counts.rotations++;
          this.o.onNote?.(`${file} was rotated: finishing ${old} from byte ${cp.offset}`);
          const ot = FileTailer.open(old, file, cp, [], this.tailerOptions());
          if (ot !== undefined) {
            try {
              await this.drain(ot, old);
            } finally {
              ot.close();
            }
          }
        }
      }
      const current = cp !== undefined && cp.dev === id.dev && cp.ino === id.ino ? cp : undefined;
      const others = cp === undefined ? await this.o.store.listCheckpoints() : [];
      t = FileTailer.open(file, file, current, others, this.tailerOptions());
      if (t === undefined) return;
      if (t.started === 'truncated' || t.started === 'rewritten') {
        this.counts.truncations++;
        this.o.onNote?.(`${file} was ${t.started} since the last run: reading it again from the start`);
      }
      this.bytesBefore += t.offset;
      this.committedOffset.set(file, t.offset);
      if (this.o.follow === true) this.open.set(file, t);
    } else {
      const id = idOfPath(file);
      if (id !== undefined && (id.dev !== t.dev || id.ino !== t.ino)) {
        // Rotated while following: drain the old descriptor, then switch to the new file at 0.
        const old = findRotated(file, t.checkpoint());
        await this.drain(t, old);
        t.close();
        this.open.delete(file);
        this.counts.rotations++;
        this.o.onNote?.(`${file} was rotated: continuing with the new file`);
        const next = FileTailer.open(file, file, undefined, [], this.tailerOptions());
        if (next === undefined) return;
        t = next;
        this.committedOffset.set(file, 0);
        this.open.set(file, t);
      } else if (t.checkTruncation() === 'truncated') {
        this.counts.truncations++;
        this.committedOffset.set(file, -1);
        this.o.onNote?.(`${file} was truncated: reading it again from the start`);
      }
    }
    try {
      await this.drain(t);
    } finally {
      if (this.o.follow !== true) t.close();
    }
  }

  /**
   * Read a tailer to its end: lines go through the processor in batches; batches are held in the
   * store's open transaction and commit with the checkpoint of their last line every
   * `commit_lines`. `alsoAs` also gets the final checkpoint (the new name of a rotated file).
   */
  private async drain(t: FileTailer, alsoAs?: string): Promise<void> {
    let out = emptyProcessed();
    let mark = t.offset;
    let uncommitted = 0;
    const flush = async (): Promise<void> => {
      const p = out;
      out = emptyProcessed();
      this.merge(p);
      const offset = t.offset;
      this.counts.bytesRead += offset - mark;
      mark = offset;
      uncommitted += p.items;
      if (uncommitted >= this.cfg.commit_lines) {
        await this.write(p, t, t.checkpoint());
        uncommitted = 0;
      } else {
        await this.write(p, t);
      }
      this.progress(t.source);
    };
    for (const item of t.read()) {
      this.proc.item(out, t.source, item);
      if (out.items >= this.cfg.batch_size) {
        await flush();
        await yieldToEventLoop();
      }
      if (this.aborted) break;
    }
    await flush();
    await this.write(emptyProcessed(), t, t.checkpoint(), alsoAs, true);
    this.counts.pendingBytes = t.pendingBytes;
    this.progress(t.source);
  }

  /**
   * Write processed lines. Without a checkpoint the batch is held in the store's open transaction;
   * with one, it commits together with everything held before it.
   */
  private async write(p: Processed, t: FileTailer, cp?: Checkpoint, alsoAs?: string, final = false): Promise<void> {
    const empty = p.records.length === 0 && p.outcomes.length === 0 && p.quarantine.length === 0;
    if (cp === undefined) {
      if (empty) return;
      this.held = true;
      await this.send({ records: p.records, outcomes: p.outcomes, quarantine: p.quarantine, hold: true });
      return;
    }
    const checkpoints: Checkpoint[] = [];
    if (!empty || this.held || this.committedOffset.get(t.source) !== cp.offset || !final) checkpoints.push(cp);
    if (alsoAs !== undefined && alsoAs !== t.source) checkpoints.push({ ...cp, source: alsoAs });
    if (empty && checkpoints.length === 0) return;
    await this.send({ records: p.records, outcomes: p.outcomes, quarantine: p.quarantine, checkpoints });
    this.committedOffset.set(t.source, cp.offset);
    this.held = false;
  }

  /**
   * Send a batch without waiting for its answer, up to MAX_INFLIGHT at a time: an asynchronous
   * store (SQLite in its own thread) writes one batch while this thread parses the next. Safe
   * because a committing batch (one without `hold`) is sent only after every batch before it has
   * succeeded, and a failed batch drops the whole open transaction: nothing after a failure
   * commits (a later held batch is discarded when the run ends with the failure).
   */
  private async send(batch: WriteBatch): Promise<void> {
    if (batch.hold === true) this.rethrow();
    else await this.settle(true);
    const p = this.o.store.writeBatch(batch).then(
      (r) => this.add(r),
      (e: unknown) => {
        this.failure ??= { error: e };
      },
    );
    this.inflight.push(p);
    while (this.inflight.length >= MAX_INFLIGHT) await this.inflight.shift();
    this.rethrow();
  }

  private rethrow(): void {
    if (this.failure !== undefined) throw this.failure.error;
  }

  /** Wait for every batch in flight; with `rethrow`, throw the first failure among them. */
  private async settle(rethrow: boolean): Promise<void> {
    while (this.inflight.length > 0) await this.inflight.shift();
    if (rethrow) this.rethrow();
  }

  private merge(p: Processed): void {
    const c = this.counts;
    c.linesRead += p.linesRead;
    for (const [k, v] of Object.entries(p.quarantined)) {
      c.quarantined.total += v;
      c.quarantined.byReason[k] = (c.quarantined.byReason[k] ?? 0) + v;
    }
    for (const [k, v] of Object.entries(p.warnings)) c.warnings[k] = (c.warnings[k] ?? 0) + v;
  }

  private add(r: WriteResult): void {
    const c = this.counts;
    c.eventsStored += r.inserted;
    c.duplicates += r.duplicates;
    c.filled += r.filled;
    c.outcomesJoined += r.outcomesJoined;
    c.outcomes += r.outcomes;
    c.turns += r.turnsInserted;
  }

  /**
   * A `.json` file holding one JSON array: each element is a record (its index is its offset).
   * Read whole; re-read only when the file changed since its checkpoint.
   */
  private async ingestJsonArray(file: string): Promise<void> {
    const id = idOfPath(file);
    if (id === undefined) return;
    const cp = await this.o.store.getCheckpoint(file);
    let data: Buffer;
    try {
      data = readFileSync(file);
    } catch (e) {
      throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`);
    }
    const fpLen = Math.min(FINGERPRINT_BYTES, data.length);
    const fp = fpLen === 0 ? '' : createHash('sha256').update(data.subarray(0, fpLen)).digest('hex').slice(0, 32);
    const wholeFp = createHash('sha256').update(data).digest('hex').slice(0, 32);
    if (cp !== undefined && cp.dev === id.dev && cp.ino === id.ino && cp.offset === data.length && cp.fp === `${fp}:${wholeFp}`) return;
    const text = data.toString('utf8');
    let out = emptyProcessed();
    let arr: unknown;
    try {
      arr = JSON.parse(text) as unknown;
    } catch (e) {
      this.proc.item(out, file, { o: 0, bad: classifyUnparsable(text), s: text, n: data.length });
      out.quarantine[0]!.detail = `JSON array file does not parse: ${e instanceof Error ? e.message : String(e)}`;
      arr = [];
    }
    const items = Array.isArray(arr) ? arr : [arr];
    const checkpoint: Checkpoint = { source: file, dev: id.dev, ino: id.ino, offset: data.length, size: data.length, fp: `${fp}:${wholeFp}`, fpLen, skipFrom: null, updatedAt: new Date().toISOString() };
    const flush = async (final: boolean): Promise<void> => {
      this.merge(out);
      await this.send({ records: out.records, outcomes: out.outcomes, quarantine: out.quarantine, checkpoints: final ? [checkpoint] : [] });
      out = emptyProcessed();
    };
    for (let i = 0; i < items.length; i++) {
      const v = items[i];
      out.items++;
      out.linesRead++;
      this.proc.value(out, file, i, v, JSON.stringify(v) ?? String(v));
      if (out.items >= this.cfg.batch_size) await flush(false);
      if (this.aborted) return flush(false);
    }
    await flush(true);
    this.counts.bytesRead += data.length;
    this.progress(file);
  }
}

function startsWithBracket(file: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const b = Buffer.alloc(4096);
    const n = readSync(fd, b, 0, b.length, 0);
    let i = n >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf ? 3 : 0;
    while (i < n && (b[i] === 32 || b[i] === 9 || b[i] === 10 || b[i] === 13)) i++;
    return i < n && b[i] === 0x5b;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
