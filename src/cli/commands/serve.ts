/** `umbra serve`: the decision API, the dashboard and the metrics, in one process or in N replicas (`--replicas`). */
import type { Command } from '@commander-js/extra-typings';
import { ensureDataDir, note, settingsFor } from '../context.js';
import { globalsOf } from '../run.js';
import { startServer } from '../../app/serve.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { announceListening, isReplica, superviseReplicas } from '../../app/replicas.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UmbraError(ErrorCode.USAGE, `--port must be an integer 0-65535, got ${v}`);
  return n;
}

/**
 * After a clean stop everything is written and closed; a connection library's timer must not keep
 * the process (a replica the supervisor waits for) alive past a moment.
 */
function lingerThenExit(): void {
  setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
}

function replicas(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UmbraError(ErrorCode.USAGE, `--replicas must be an integer 1-256, got ${v}`);
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the decision service: POST /v1/decide, POST /v1/outcome, GET /v1/status, GET /metrics, and the dashboard at /')
    .option('--port <port>', 'TCP port (default: server.port, 8787; 0 picks a free port)', port)
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1)')
    .option('--check-interval <seconds>', 'seconds between canary judgements (default: rollout.check_interval_s)', Number)
    .option('--stream <url>', 'publish decisions and outcomes to this NATS JetStream stream (nats://HOST:PORT) instead of writing them to the store (default: $UMBRA_STREAM_URL or store.stream_url)')
    .option('--replicas <n>', 'run N replicas of the service on this port (node:cluster), one per core; a replica that dies is restarted', replicas)
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const settings = settingsFor(g);
      const dataDir = ensureDataDir(g);
      if (opts.stream !== undefined) process.env.UMBRA_STREAM_URL = opts.stream;
      if (opts.replicas !== undefined && opts.replicas > 1 && !isReplica()) {
        await superviseReplicas(opts.replicas, {
          onListening: (url) => {
            note(`umbra serve: ${opts.replicas} replicas listening on ${url}  (dashboard ${url}/, metrics per replica ${url}/metrics)`);
            if (g.json) process.stdout.write(`${JSON.stringify({ url, dataDir, replicas: opts.replicas })}\n`);
          },
          onRestart: (i, code, signal) => note(`umbra serve: replica ${i} exited (${signal ?? code}); starting it again`),
        });
        lingerThenExit();
        return;
      }
      const s = await startServer({
        settings,
        dataDir,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.checkInterval === undefined ? {} : { checkIntervalMs: opts.checkInterval * 1000 }),
      });
      if (isReplica()) {
        announceListening(s.url);
      } else {
        note(`umbra serve: listening on ${s.url}  (dashboard ${s.url}/, metrics ${s.url}/metrics)`);
        if (g.json) process.stdout.write(`${JSON.stringify({ url: s.url, dataDir })}\n`);
      }
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          note('umbra serve: stopping (writing buffered decisions)');
          void s.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      lingerThenExit();
    });
}
