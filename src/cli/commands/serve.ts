/** `umbra serve`: the decision API, the dashboard and the metrics, in one process. */
import type { Command } from '@commander-js/extra-typings';
import { ensureDataDir, note, settingsFor } from '../context.js';
import { globalsOf } from '../run.js';
import { startServer } from '../../app/serve.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UmbraError(ErrorCode.USAGE, `--port must be an integer 0-65535, got ${v}`);
  return n;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('run the decision service: POST /v1/decide, POST /v1/outcome, GET /v1/status, GET /metrics, and the dashboard at /')
    .option('--port <port>', 'TCP port (default: server.port, 8787; 0 picks a free port)', port)
    .option('--host <host>', 'address to listen on (default: server.host, 127.0.0.1)')
    .option('--check-interval <seconds>', 'seconds between canary judgements (default: rollout.check_interval_s)', Number)
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const settings = settingsFor(g);
      const dataDir = ensureDataDir(g);
      const s = await startServer({
        settings,
        dataDir,
        ...(opts.port === undefined ? {} : { port: opts.port }),
        ...(opts.host === undefined ? {} : { host: opts.host }),
        ...(opts.checkInterval === undefined ? {} : { checkIntervalMs: opts.checkInterval * 1000 }),
      });
      note(`umbra serve: listening on ${s.url}  (dashboard ${s.url}/, metrics ${s.url}/metrics)`);
      if (g.json) process.stdout.write(`${JSON.stringify({ url: s.url, dataDir })}\n`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          note('umbra serve: stopping (writing buffered decisions)');
          void s.close().then(resolve, resolve);
        };
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
