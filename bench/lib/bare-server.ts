/**
 * The in-run baseline of `bench/decide.ts`: a bare fastify 5 route that parses the same decide
 * request and answers a JSON object of the same shape as the decision service's, in its own
 * process (as `umbra serve` runs in its own). Nothing else: no validation, no policy, no log.
 * Prints `listening <url>` on standard output.
 *
 * Usage: node bare-server.js
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
let n = 0;
app.post('/v1/decide', async (req) => {
  const b = req.body as { id?: string; baselineAction?: string };
  return { id: b.id ?? `bare-${n++}`, action: b.baselineAction ?? 'micro', propensity: 1, servedBy: 'production', stage: 'production', policyVersion: 'baseline' };
});
await app.listen({ port: 0, host: '127.0.0.1' });
const addr = app.server.address();
const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
process.stdout.write(`listening http://127.0.0.1:${port}\n`);
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
