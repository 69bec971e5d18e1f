/**
 * Decision and outcome events through NATS JetStream, for a fleet: decision-service replicas (and
 * the file tailer with `ingest --to`) publish, one ingest consumer stores.
 *
 * - One stream (`store.stream_name`) over `<subject>.decision`, `<subject>.outcome` and
 *   `<subject>.record`, created when missing, with the configured duplicate window. Every message
 *   carries a message id: the event id for a decision, so a resend inside the window is dropped by
 *   the server; a content hash for outcomes and telemetry records (a second line of the same turn
 *   fills fields, so it must not be taken for a resend).
 * - The consumer is durable (`store.stream_consumer`), acknowledging each message explicitly. It
 *   stores messages strictly in stream order: a batch is written in one transaction together with
 *   a checkpoint holding the stream sequence of its last message, and acknowledged after the
 *   commit. A consumer killed between commit and ack gets the batch again and skips what the
 *   checkpoint says is stored, so no outcome is applied twice (decisions are idempotent by id
 *   anyway); messages past a gap wait for the gap's redelivery. Meant as the single ingesting
 *   writer of its store (see docs/store.md); a second consumer process is a standby.
 */
import { createHash } from 'node:crypto';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { DecisionEvent } from '../../core/events.js';
import { redactUrl } from '../../core/redact.js';
import type { OutcomeUpdate } from '../../core/telemetry/types.js';
import type { Checkpoint, EventWriter, IngestLedger, RecordInsert, WriteBatch, WriteResult } from '../port.js';

/** Where the stream is and what it is called. */
export interface StreamOptions {
  /** `nats://host:port` (a token or user:password in the URL is used, never shown). */
  url: string;
  /** @default "UMBRA_EVENTS" */
  stream?: string;
  /** Subject prefix. @default "umbra.events" */
  subject?: string;
  /** @default 120 */
  duplicateWindowS?: number;
  /** Durable consumer of the ingest. @default "umbra-ingest" */
  consumer?: string;
  /** Connection name shown by the server. @default "umbra" */
  name?: string;
}

/** One message of the stream. */
type Message = { kind: 'decision'; event: DecisionEvent } | { kind: 'outcome'; update: OutcomeUpdate } | { kind: 'record'; record: RecordInsert };

const NANOS_PER_MS = 1_000_000;

function streamError(e: unknown, what: string, url: string): UmbraError {
  if (e instanceof UmbraError) return e;
  const msg = e instanceof Error ? e.message : String(e);
  return new UmbraError(ErrorCode.STORE, `the event stream at ${redactUrl(url)} failed (${what}): ${msg}`, undefined, { cause: e });
}

function hashId(prefix: string, text: string): string {
  return `${prefix}:${createHash('sha256').update(text).digest('base64url').slice(0, 32)}`;
}

/** The source key of a consumer's checkpoint in the store. */
export function streamSource(stream: string, consumer: string): string {
  return `nats:${stream}/${consumer}`;
}

/** A connection to the event stream: publishing, and the durable ingest consumer. */
export class EventStream {
  readonly stream: string;
  readonly subject: string;
  readonly consumer: string;
  readonly display: string;
  private readonly nc: NatsConnection;
  private readonly js: JetStreamClient;
  private readonly jsm: JetStreamManager;
  private readonly enc = new TextEncoder();
  private readonly dec = new TextDecoder();

  private constructor(nc: NatsConnection, jsm: JetStreamManager, o: Required<Omit<StreamOptions, 'name'>>) {
    this.nc = nc;
    this.jsm = jsm;
    this.js = jetstream(nc);
    this.stream = o.stream;
    this.subject = o.subject;
    this.consumer = o.consumer;
    this.display = redactUrl(o.url);
  }

  /** Connect and make sure the stream exists (E_STORE when the server cannot be reached). */
  static async open(o: StreamOptions): Promise<EventStream> {
    const opts = { stream: o.stream ?? 'UMBRA_EVENTS', subject: o.subject ?? 'umbra.events', duplicateWindowS: o.duplicateWindowS ?? 120, consumer: o.consumer ?? 'umbra-ingest', url: o.url };
    let nc: NatsConnection;
    try {
      const u = new URL(o.url);
      const auth = u.password !== '' ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : u.username !== '' ? { token: decodeURIComponent(u.username) } : {};
      nc = await connect({ servers: `${u.hostname}:${u.port || '4222'}`, name: o.name ?? 'umbra', timeout: 5000, reconnect: true, maxReconnectAttempts: -1, reconnectTimeWait: 250, ...auth });
    } catch (e) {
      throw new UmbraError(ErrorCode.STORE, `the event stream at ${redactUrl(o.url)} is unreachable: ${e instanceof Error ? e.message : String(e)}`, { unreachable: true }, { cause: e });
    }
    try {
      const jsm = await jetstreamManager(nc);
      const s = new EventStream(nc, jsm, opts);
      await s.ensureStream(opts.duplicateWindowS);
      return s;
    } catch (e) {
      await nc.close().catch(() => undefined);
      throw streamError(e, 'opening the stream', o.url);
    }
  }

  private async ensureStream(windowS: number): Promise<void> {
    const subjects = [`${this.subject}.>`];
    try {
      await this.jsm.streams.info(this.stream);
    } catch {
      try {
        await this.jsm.streams.add({ name: this.stream, subjects, duplicate_window: windowS * 1000 * NANOS_PER_MS });
      } catch (e) {
        // Another process created it meanwhile.
        await this.jsm.streams.info(this.stream).catch(() => {
          throw e;
        });
      }
    }
  }

  private async publish(subject: string, m: Message, msgID: string): Promise<boolean> {
    const ack = await this.js.publish(`${this.subject}.${subject}`, this.enc.encode(JSON.stringify(m)), { msgID, timeout: 5000 });
    return ack.duplicate;
  }

  /** Publish a decision with its event id as message id; true when the server had it already. */
  publishDecision(event: DecisionEvent): Promise<boolean> {
    return this.publish('decision', { kind: 'decision', event }, event.id).catch((e: unknown) => {
      throw streamError(e, 'publishing a decision', this.display);
    });
  }

  /** Publish an outcome update (message id: a hash of its id and content without its time, so a resend is dropped). */
  publishOutcome(update: OutcomeUpdate): Promise<boolean> {
    const { ts: _ts, ...content } = update;
    const text = JSON.stringify(content);
    return this.publish('outcome', { kind: 'outcome', update }, hashId('o', text)).catch((e: unknown) => {
      throw streamError(e, 'publishing an outcome', this.display);
    });
  }

  /** Publish a telemetry record (turn and decisions, as the file tailer maps them). */
  publishRecord(record: RecordInsert): Promise<boolean> {
    const text = JSON.stringify(record);
    return this.publish('record', { kind: 'record', record }, hashId('r', text)).catch((e: unknown) => {
      throw streamError(e, 'publishing a record', this.display);
    });
  }

  /** Messages in the stream (for tests and status). */
  async messages(): Promise<number> {
    return (await this.jsm.streams.info(this.stream)).state.messages;
  }

  /** Delete the stream (tests). */
  async destroy(): Promise<void> {
    await this.jsm.streams.delete(this.stream).catch(() => undefined);
  }

  /**
   * The durable consumer, created acknowledging cumulatively (`AckPolicy.All`: one acknowledgement
   * per committed batch, since the batches are stored strictly in stream order). A consumer made by
   * an earlier version acknowledges each message (`Explicit`) and is kept as it is. Whether the
   * acknowledgement is cumulative.
   */
  private async ensureConsumer(ackWaitMs: number): Promise<boolean> {
    try {
      return (await this.jsm.consumers.info(this.stream, this.consumer)).config.ack_policy === AckPolicy.All;
    } catch {
      await this.jsm.consumers.add(this.stream, { durable_name: this.consumer, ack_policy: AckPolicy.All, deliver_policy: DeliverPolicy.All, ack_wait: ackWaitMs * NANOS_PER_MS, max_ack_pending: 50_000 });
      return true;
    }
  }

  /**
   * Read the stream into the store with the durable consumer until `signal` aborts (or, with
   * `untilIdleMs`, until no message came for that long). Messages are stored strictly in stream
   * order: each batch is one store transaction carrying the checkpoint (the sequence of its last
   * message), acknowledged after the commit. A message already below the checkpoint is
   * acknowledged without storing it again; one beyond a gap (an earlier message is still out
   * with a consumer that died) is handed back until the gap is filled by the redelivery.
   */
  async consume(
    store: EventWriter & IngestLedger,
    o: { signal?: AbortSignal; batch?: number; untilIdleMs?: number; ackWaitMs?: number; gapTimeoutMs?: number; onBatch?: (r: ConsumeProgress) => void; onError?: (e: Error) => void } = {},
  ): Promise<ConsumeProgress> {
    const ackWaitMs = o.ackWaitMs ?? 5000;
    const cumulative = await this.ensureConsumer(ackWaitMs);
    const source = streamSource(this.stream, this.consumer);
    const progress: ConsumeProgress = { messages: 0, skipped: 0, batches: 0, inserted: 0, duplicates: 0, outcomes: 0, outcomesJoined: 0, lastSeq: (await store.getCheckpoint(source))?.offset ?? 0 };
    const c = await this.js.consumers.get(this.stream, this.consumer);
    const max = o.batch ?? 5000;
    let idleSince = Date.now();
    let gapSince: number | undefined;
    const aborted = (): boolean => o.signal?.aborted === true;
    // The next batch is fetched while this one is written: the store and the stream work at once.
    const fetchBatch = async (): Promise<JsMsg[]> => {
      const msgs: JsMsg[] = [];
      try {
        const iter = await c.fetch({ max_messages: max, expires: 1000 });
        for await (const m of iter) {
          msgs.push(m);
          if (aborted()) break;
        }
      } catch (e) {
        // A missed heartbeat or a reconnect ends the fetch early: keep what arrived.
        o.onError?.(e as Error);
        if (msgs.length === 0) await new Promise((r) => setTimeout(r, 250));
      }
      return msgs;
    };
    let next = fetchBatch();
    while (!aborted()) {
      const msgs = await next;
      next = aborted() ? Promise.resolve([]) : fetchBatch();
      if (msgs.length === 0) {
        if (o.untilIdleMs !== undefined && Date.now() - idleSince >= o.untilIdleMs) break;
        continue;
      }
      idleSince = Date.now();
      msgs.sort((a, b) => a.seq - b.seq);
      // The run that continues the stored prefix; past a gap, wait for the redelivery (unless the
      // gap outlives every ack wait: the messages were removed from the stream, skip it).
      const take: JsMsg[] = [];
      let expect = progress.lastSeq + 1;
      for (const m of msgs) {
        if (m.seq < expect) {
          if (m.seq <= progress.lastSeq) {
            progress.skipped++;
            progress.messages++;
            m.ack();
          }
          continue;
        }
        if (m.seq !== expect) {
          gapSince ??= Date.now();
          if (Date.now() - gapSince < (o.gapTimeoutMs ?? 3 * ackWaitMs)) break;
        }
        gapSince = undefined;
        take.push(m);
        expect = m.seq + 1;
      }
      const taken = new Set(take);
      for (const m of msgs) if (m.seq > progress.lastSeq && !taken.has(m)) m.nak(250);
      if (take.length === 0) continue;
      // The store may be away (a restart): keep the batch, unacknowledged, and try again.
      for (let wait = 250; ; wait = Math.min(wait * 2, 5000)) {
        try {
          await this.storeBatch(store, take, source, progress);
          break;
        } catch (e) {
          if (aborted()) throw e;
          o.onError?.(e as Error);
          await new Promise((r) => setTimeout(r, wait));
        }
      }
      // Only the stored prefix is acknowledged: never a message past a gap.
      if (cumulative) take[take.length - 1]!.ack();
      else for (const m of take) m.ack();
      o.onBatch?.(progress);
    }
    // Messages of the fetch still under way are handed back at once, for the next consumer.
    for (const m of await next.catch((): JsMsg[] => [])) m.nak();
    return progress;
  }

  private async storeBatch(store: EventWriter & IngestLedger, msgs: JsMsg[], source: string, p: ConsumeProgress): Promise<void> {
    const records: RecordInsert[] = [];
    const outcomes: OutcomeUpdate[] = [];
    let skipped = 0;
    for (const m of msgs) {
      let body: Message;
      try {
        body = JSON.parse(this.dec.decode(m.data)) as Message;
      } catch {
        skipped++;
        continue;
      }
      if (body.kind === 'decision') records.push({ decisions: [body.event] });
      else if (body.kind === 'record') records.push(body.record);
      else if (body.kind === 'outcome') outcomes.push(body.update);
    }
    const last = msgs[msgs.length - 1]!.seq;
    const cp: Checkpoint = { source, dev: 'nats', ino: this.stream, offset: last, size: last, fp: '', fpLen: 0, skipFrom: null, updatedAt: new Date().toISOString() };
    const r: WriteResult = await store.writeBatch({ records, outcomes, checkpoints: [cp] } satisfies WriteBatch);
    p.inserted += r.inserted;
    p.duplicates += r.duplicates;
    p.outcomes += r.outcomes;
    p.outcomesJoined += r.outcomesJoined;
    p.lastSeq = last;
    p.messages += msgs.length;
    p.skipped += skipped;
    p.batches++;
  }

  async close(): Promise<void> {
    await this.nc.drain().catch(() => undefined);
  }
}

/** What a consumer did so far. */
export interface ConsumeProgress {
  messages: number;
  /** Redelivered messages already stored (and unreadable ones). */
  skipped: number;
  batches: number;
  inserted: number;
  duplicates: number;
  outcomes: number;
  outcomesJoined: number;
  /** Stream sequence of the last stored message. */
  lastSeq: number;
}

/**
 * An event writer that publishes records and outcomes to the stream and keeps only the ingest
 * ledger (quarantine rows, checkpoints) in the local store: `umbra ingest --to nats://…`. A
 * checkpoint is written only after every message before it was acknowledged by the server.
 */
export class PublishingWriter implements EventWriter {
  private readonly stream: EventStream;
  private readonly ledger: EventWriter;

  constructor(stream: EventStream, ledger: EventWriter) {
    this.stream = stream;
    this.ledger = ledger;
  }

  async writeBatch(b: WriteBatch): Promise<WriteResult> {
    const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
    const pubs: Promise<boolean>[] = [];
    for (const rec of b.records ?? []) pubs.push(this.stream.publishRecord(rec));
    for (const u of b.outcomes ?? []) pubs.push(this.stream.publishOutcome(u));
    const acks = await Promise.all(pubs);
    const nRec = b.records?.length ?? 0;
    for (let i = 0; i < acks.length; i++) {
      if (i < nRec) {
        if (acks[i]) r.duplicates += b.records![i]!.decisions.length;
        else r.inserted += b.records![i]!.decisions.length;
      } else r.outcomes++;
    }
    const rest: WriteBatch = { ...(b.quarantine === undefined ? {} : { quarantine: b.quarantine }), ...(b.checkpoints === undefined ? {} : { checkpoints: b.checkpoints }), ...(b.hold === undefined ? {} : { hold: b.hold }) };
    const lr = await this.ledger.writeBatch(rest);
    r.quarantined = lr.quarantined;
    return r;
  }

  discardHeld(): Promise<void> {
    return this.ledger.discardHeld();
  }
}
