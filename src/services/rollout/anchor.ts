/**
 * Anchors: the head of the audit chain (the last record's seq and hash) written, after every
 * transition, somewhere the store's writers cannot rewrite. The chain alone cannot tell a log whose
 * tail was cut from a shorter log; a head kept elsewhere can: the store's chain must still reach it.
 *
 * An anchor is anything that takes a head (`publish`) and, if it can, gives the newest one back
 * (`latest`): an append-only file beside the database (the default), a webhook (write only: its
 * receiver keeps the heads, and `umbra rollout verify --anchor SEQ:HASH` checks one of them), or a
 * message stream. Adding one means implementing this interface and listing it in the composition root.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, readSync, fstatSync, writeSync, constants } from 'node:fs';
import { dirname } from 'node:path';
import { ErrorCode, UmbraError } from '../../core/errors.js';

/** One head, as anchors keep it. */
export interface AnchoredHead {
  /** Seq of the last record. */
  seq: number;
  /** Its hash. */
  hash: string;
  /** Number of the audit row that holds it. */
  row: number;
  /** Time of the record. */
  ts: string;
  /** Key that signed it, when one did. */
  keyId?: string;
}

/** A place outside the store that keeps the chain's head. */
export interface AuditAnchor {
  /** What and where, for reports (`head file <path>`, `webhook <url>`). */
  readonly name: string;
  /** Record a new head. May throw; the transition it follows stays committed. */
  publish(head: AnchoredHead): Promise<void>;
  /** The newest head it keeps (null: none yet), for anchors that can be read back. */
  latest?(): Promise<AnchoredHead | null>;
}

function parseHead(line: string): AnchoredHead | undefined {
  try {
    const v = JSON.parse(line) as Partial<AnchoredHead>;
    if (typeof v.seq === 'number' && Number.isInteger(v.seq) && v.seq >= 0 && typeof v.hash === 'string' && /^[0-9a-f]{64}$/.test(v.hash)) {
      return { seq: v.seq, hash: v.hash, row: typeof v.row === 'number' ? v.row : -1, ts: typeof v.ts === 'string' ? v.ts : '', ...(typeof v.keyId === 'string' ? { keyId: v.keyId } : {}) };
    }
  } catch {
    /* not a head */
  }
  return undefined;
}

/** How much of the end of a head file is read to find the newest head. */
const TAIL_BYTES = 64 * 1024;

/**
 * The default anchor: an append-only file of JSON lines beside the database, one head per
 * transition, synced to disk. Several processes append to it; each line is one `write` on a file
 * opened for appending, so lines never interleave. The newest head is the highest seq near its end.
 */
export class HeadFileAnchor implements AuditAnchor {
  readonly name: string;
  readonly path: string;

  constructor(path: string) {
    this.path = path;
    this.name = `head file ${path}`;
  }

  async publish(head: AnchoredHead): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    const fd = openSync(this.path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o644);
    try {
      writeSync(fd, `${JSON.stringify(head)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }

  async latest(): Promise<AnchoredHead | null> {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read ${this.name}: ${(e as Error).message}`);
    }
    let text: string;
    try {
      const size = fstatSync(fd).size;
      const start = Math.max(0, size - TAIL_BYTES);
      const buf = Buffer.alloc(size - start);
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, start + got);
        if (n === 0) break;
        got += n;
      }
      text = buf.subarray(0, got).toString('utf8');
      if (start > 0) text = text.slice(text.indexOf('\n') + 1); // the first line may be cut
    } finally {
      closeSync(fd);
    }
    // A last line without its newline is one being appended right now (or cut by a crash): not yet a head.
    const whole = text.endsWith('\n') ? text : text.slice(0, text.lastIndexOf('\n') + 1);
    const lines = whole.split('\n').filter((l) => l.trim() !== '');
    if (lines.length === 0) return null;
    let best: AnchoredHead | undefined;
    let unreadable = 0;
    for (const l of lines) {
      const h = parseHead(l);
      if (h === undefined) unreadable++;
      else if (best === undefined || h.seq > best.seq) best = h;
    }
    if (best === undefined || unreadable > 0) {
      throw new UmbraError(ErrorCode.AUDIT_TAMPERED, `${this.name} holds ${unreadable} line(s) that are not heads: it was edited or damaged`);
    }
    return best;
  }
}

/** An anchor that POSTs each head as JSON to a URL (the receiver keeps them). */
export class WebhookAnchor implements AuditAnchor {
  readonly name: string;
  private readonly url: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private readonly fetchFn: typeof fetch;

  constructor(o: { url: string; timeoutMs?: number; attempts?: number; fetch?: typeof fetch }) {
    this.url = o.url;
    this.name = `webhook ${o.url}`;
    this.timeoutMs = o.timeoutMs ?? 5000;
    this.attempts = Math.max(1, o.attempts ?? 3);
    this.fetchFn = o.fetch ?? fetch;
  }

  async publish(head: AnchoredHead): Promise<void> {
    let last = '';
    for (let i = 0; i < this.attempts; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200 * 2 ** i));
      try {
        const r = await this.fetchFn(this.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'umbra.audit.head', ...head }), signal: AbortSignal.timeout(this.timeoutMs) });
        if (r.ok) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
    }
    throw new UmbraError(ErrorCode.TIMEOUT, `${this.name} did not take head ${head.seq} after ${this.attempts} attempts: ${last}`);
  }
}

/** A head given by hand (`SEQ:HASH`, e.g. from a webhook receiver's log). */
export class FixedAnchor implements AuditAnchor {
  readonly name: string;
  private readonly head: AnchoredHead;

  constructor(head: { seq: number; hash: string }) {
    this.head = { seq: head.seq, hash: head.hash, row: -1, ts: '' };
    this.name = `given head ${head.seq}:${head.hash.slice(0, 12)}…`;
  }

  async publish(): Promise<void> {
    throw new UmbraError(ErrorCode.USAGE, 'a given head cannot be written to');
  }

  async latest(): Promise<AnchoredHead | null> {
    return this.head;
  }
}

/** The anchor an `--anchor` argument names: `SEQ:HASH`, or the path of a head file. */
export function anchorOf(spec: string): AuditAnchor {
  const m = /^(\d+):([0-9a-f]{64})$/.exec(spec.trim());
  if (m) return new FixedAnchor({ seq: Number(m[1]), hash: m[2]! });
  return new HeadFileAnchor(spec);
}
