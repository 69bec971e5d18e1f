/**
 * `umbra ingest` as a job: the data directory's store opened for bulk writing (its own thread, so
 * parsing and writing overlap), the telemetry read into it exactly once, the store closed.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { Settings } from '../core/settings.js';
import { ingest, summaryOf, type IngestCounts, type IngestProgress } from '../ingest/ingest.js';
import { resolveSources } from '../ingest/sources.js';
import { storeLocation, withWired } from './context.js';
import { openEventStream, publishingLedger } from './stream.js';

export { summaryOf, type IngestCounts, type IngestProgress };

export interface IngestFilesOptions {
  settings: Settings;
  dataDir: string;
  /** Telemetry file, directory (recursive) or glob. */
  path: string;
  /** Keep reading new lines and files until `signal` aborts. @default false */
  follow?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: IngestProgress) => void;
  onNote?: (msg: string) => void;
  /** Publish the events to this NATS JetStream URL instead of storing them (the ledger stays in the store). */
  to?: string;
}

/** Read telemetry into the data directory's store; a file system error is E_INPUT_UNREADABLE. */
export async function ingestFiles(o: IngestFilesOptions): Promise<{ counts: IngestCounts; store: string }> {
  const stream = o.to === undefined ? undefined : await openEventStream(o.settings, o.to, 'umbra-tailer');
  const counts = await withWired({ settings: o.settings, dataDir: o.dataDir, mode: 'bulk' }, async (w) => {
    try {
      return await ingest({
        store: stream === undefined ? w.store : publishingLedger(stream, w.store),
        path: o.path,
        config: o.settings.config,
        follow: o.follow === true,
        ...(o.signal === undefined ? {} : { signal: o.signal }),
        ...(o.onProgress === undefined ? {} : { onProgress: o.onProgress }),
        ...(o.onNote === undefined ? {} : { onNote: o.onNote }),
      });
    } catch (e) {
      const sysCode = (e as { code?: unknown }).code;
      if (e instanceof UmbraError || typeof sysCode !== 'string' || !/^E[A-Z]+$/.test(sysCode)) throw e;
      throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `cannot read ${o.path}: ${e instanceof Error ? e.message : String(e)}`, undefined, { cause: e });
    }
  }).finally(() => stream?.close());
  return { counts, store: stream === undefined ? storeLocation(o.settings, o.dataDir) : `stream ${stream.stream} at ${stream.display}` };
}

/** Whether a telemetry path (file, directory or glob) names anything now. */
export function telemetryPresent(path: string): boolean {
  return resolveSources(path) !== undefined;
}
