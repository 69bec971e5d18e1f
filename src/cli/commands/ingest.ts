/**
 * `umbra ingest --telemetry PATH [--follow]`: read telemetry (a file, a directory of dated files or
 * a glob) into `<data-dir>/umbra.db`, exactly once across restarts. Prints the counts of the run;
 * exits 0 whenever the input could be read, whatever its lines held.
 */
import type { Command } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { ingestFiles, summaryOf, telemetryPresent, type IngestCounts, type IngestProgress } from '../../app/ingest.js';
import { emit, ensureDataDir, interactive, note, settingsFor } from '../context.js';
import { globalsOf } from '../run.js';
import { consumeStream } from '../../app/stream.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';

/** Files smaller than this get no progress bar (it would only flicker). */
const BAR_MIN_BYTES = 16 * 1024 * 1024;

function table(c: IngestCounts, db: string): string {
  const rows: [string, number][] = [
    ['lines read', c.linesRead],
    ['events stored', c.eventsStored],
    ['duplicates', c.duplicates],
    ['outcomes joined', c.outcomesJoined],
    ['quarantined', c.quarantined.total],
  ];
  for (const [reason, n] of Object.entries(c.quarantined.byReason).sort(([a], [b]) => (a < b ? -1 : 1))) rows.push([`  ${reason}`, n]);
  const w = Math.max(...rows.map(([k]) => k.length));
  const nw = Math.max(...rows.map(([, v]) => String(v).length));
  const lines = rows.map(([k, v]) => `${k.padEnd(w)}  ${String(v).padStart(nw)}`);
  const extra: string[] = [`turns ${c.turns}`, `outcome updates ${c.outcomes}`, `files ${c.files}`, `bytes ${c.bytesRead}`];
  for (const [k, v] of Object.entries(c.warnings)) extra.push(`${k.replace(/_/g, ' ')} ${v}`);
  if (c.rotations > 0) extra.push(`rotations ${c.rotations}`);
  if (c.truncations > 0) extra.push(`truncations ${c.truncations}`);
  if (c.pendingBytes > 0) extra.push(`partial last line ${c.pendingBytes} bytes (kept for later)`);
  return `${lines.join('\n')}\n(${extra.join(', ')}; store ${db})`;
}

export function registerIngest(program: Command): void {
  program
    .command('ingest')
    .description('read telemetry (file, directory of dated files, or glob) into the store, exactly once; or publish it to the event stream (--to); or store what the stream carries (--stream)')
    .option('--telemetry <path>', 'telemetry file, directory (recursive) or glob (*, ?, **)')
    .option('--follow', 'keep reading new lines and files until interrupted (SIGINT/SIGTERM)')
    .option('--to <url>', 'publish the telemetry to the NATS JetStream stream at this URL (nats://HOST:PORT) instead of storing it; checkpoints stay in the store')
    .option('--stream [url]', 'be the ingest consumer: store the decision and outcome events of the stream (default: $UMBRA_STREAM_URL or store.stream_url) with the durable consumer, until interrupted')
    .option('--until-idle <ms>', 'with --stream: stop once no event came for this many milliseconds', Number)
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const settings = settingsFor(g);
      // The input is checked before the data directory is created: a typo leaves nothing behind.
      if (opts.stream === undefined && opts.telemetry === undefined) throw new UmbraError(ErrorCode.USAGE, "required option '--telemetry <path>' not specified (or --stream to store the event stream)");
      if (opts.telemetry !== undefined && opts.follow !== true && !telemetryPresent(opts.telemetry)) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `telemetry not found: ${opts.telemetry} (a file, a directory or a glob)`);
      const dataDir = ensureDataDir(g);
      const ac = new AbortController();
      const stop = (): void => ac.abort();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      if (opts.stream !== undefined) {
        if (opts.telemetry !== undefined) throw new UmbraError(ErrorCode.USAGE, '--stream reads the event stream: leave out --telemetry');
        try {
          if (!g.json) note('umbra ingest: storing the event stream (durable consumer); stop with SIGINT/SIGTERM');
          const p = await consumeStream({ settings, dataDir, ...(typeof opts.stream === 'string' ? { url: opts.stream } : {}), signal: ac.signal, ...(opts.untilIdle === undefined ? {} : { untilIdleMs: opts.untilIdle }), onError: (e) => note(`umbra ingest: ${e.message}; the batch stays unacknowledged and is written again`) });
          emit(g, p, () => `messages ${p.messages} (skipped as already stored ${p.skipped}) in ${p.batches} batches; decisions stored ${p.inserted}, duplicates ${p.duplicates}, outcomes ${p.outcomes} (joined ${p.outcomesJoined}); stream sequence ${p.lastSeq}`);
        } finally {
          process.removeListener('SIGINT', stop);
          process.removeListener('SIGTERM', stop);
        }
        return;
      }
      if (opts.telemetry === undefined) throw new UmbraError(ErrorCode.USAGE, "required option '--telemetry <path>' not specified (or --stream to store the event stream)");
      let bar: cliProgress.SingleBar | undefined;
      const onProgress = (p: IngestProgress): void => {
        if (bar === undefined) {
          if (!interactive(g) || p.bytesTotal < BAR_MIN_BYTES) return;
          bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'ingest [{bar}] {percentage}% | {value}/{total} MiB | eta {eta}s', hideCursor: true }, cliProgress.Presets.shades_classic);
          bar.start(Math.ceil(p.bytesTotal / 1048576), 0);
        }
        bar.setTotal(Math.ceil(p.bytesTotal / 1048576));
        bar.update(Math.floor(p.bytesDone / 1048576));
      };
      try {
        const { counts, store } = await ingestFiles({ settings, dataDir, path: opts.telemetry, follow: opts.follow === true, signal: ac.signal, onProgress, onNote: (m) => void (g.json ? undefined : note(m)), ...(opts.to === undefined ? {} : { to: opts.to }) });
        emit(g, summaryOf(counts), () => table(counts, store));
        // Empty input is reported, never silent: nothing was there to store.
        if (counts.linesRead === 0 && opts.follow !== true) note(`umbra ingest: ${opts.telemetry} held no lines (${counts.files} file(s), ${counts.bytesRead} bytes): nothing was stored`);
      } finally {
        bar?.stop();
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
      }
    });
}
