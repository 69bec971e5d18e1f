/**
 * The event stream, wired: the decision service's publisher, the durable ingest consumer that
 * stores what the fleet published (`umbra ingest --stream`), and the file tailer publishing
 * instead of storing (`umbra ingest --telemetry F --to nats://…`). Which stream and which store
 * come from the one setting each (`streamUrlOf`, `storeUrlOf`).
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { Settings } from '../core/settings.js';
import { EventStream, PublishingWriter, type ConsumeProgress } from '../store/stream/jetstream.js';
import type { EventWriter, IngestLedger, Store } from '../store/port.js';
import { streamUrlOf, withWired } from './context.js';

export type { ConsumeProgress };
export { EventStream };

/** Connect to the configured stream (`url` overrides the setting); E_USAGE when none is set. */
export async function openEventStream(settings: Settings, url?: string, name = 'umbra'): Promise<EventStream> {
  const u = url ?? streamUrlOf(settings);
  if (u === undefined) throw new UmbraError(ErrorCode.USAGE, 'no event stream: pass --stream nats://HOST:PORT, set UMBRA_STREAM_URL or store.stream_url');
  const s = settings.config.store;
  return EventStream.open({ url: u, stream: s.stream_name, subject: s.stream_subject, duplicateWindowS: s.stream_duplicate_window_s, consumer: s.stream_consumer, name });
}

/** Options of the ingest consumer. */
export interface ConsumeOptions {
  settings: Settings;
  dataDir: string;
  /** Stream URL (default: the setting). */
  url?: string;
  signal?: AbortSignal;
  /** Stop after no message came for this long (ms); default: run until `signal`. */
  untilIdleMs?: number;
  /** Messages per fetch and store transaction. @default 5000 */
  batch?: number;
  onBatch?: (p: ConsumeProgress) => void;
  /** Hears store failures; the batch is kept and written again. */
  onError?: (e: Error) => void;
}

/** Read the stream into the store with the durable consumer (acknowledging after each commit). */
export async function consumeStream(o: ConsumeOptions): Promise<ConsumeProgress> {
  const stream = await openEventStream(o.settings, o.url, 'umbra-ingest');
  try {
    return await withWired({ settings: o.settings, dataDir: o.dataDir, mode: 'bulk' }, (w) =>
      stream.consume(w.store, { ...(o.signal === undefined ? {} : { signal: o.signal }), ...(o.untilIdleMs === undefined ? {} : { untilIdleMs: o.untilIdleMs }), ...(o.batch === undefined ? {} : { batch: o.batch }), ...(o.onBatch === undefined ? {} : { onBatch: o.onBatch }), ...(o.onError === undefined ? {} : { onError: o.onError }) }),
    );
  } finally {
    await stream.close();
  }
}

/**
 * The ingest's view of a store whose events go to the stream: records and outcomes are published,
 * quarantine rows and checkpoints stay in `store`.
 */
export function publishingLedger(stream: EventStream, store: Store): EventWriter & IngestLedger {
  const w = new PublishingWriter(stream, store);
  return {
    writeBatch: (b) => w.writeBatch(b),
    discardHeld: () => w.discardHeld(),
    quarantine: (q) => store.quarantine(q),
    quarantineCounts: () => store.quarantineCounts(),
    getCheckpoint: (s) => store.getCheckpoint(s),
    listCheckpoints: () => store.listCheckpoints(),
  };
}
