/**
 * `umbra ingest` as a job: the data directory's store opened for bulk writing (its own thread, so
 * parsing and writing overlap), the telemetry read into it exactly once, the store closed.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { Settings } from '../core/settings.js';
import { ingest, summaryOf, type IngestCounts, type IngestProgress } from '../ingest/ingest.js';
import { storeLocation, withWired } from './context.js';

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
}

/** Read telemetry into the data directory's store; a file system error is E_INPUT_UNREADABLE. */
export async function ingestFiles(o: IngestFilesOptions): Promise<{ counts: IngestCounts; store: string }> {
  const counts = await withWired({ settings: o.settings, dataDir: o.dataDir, mode: 'bulk' }, async (w) => {
    try {
      return await ingest({
        store: w.store,
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
  });
  return { counts, store: storeLocation(o.settings, o.dataDir) };
}
