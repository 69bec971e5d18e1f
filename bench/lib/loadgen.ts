/**
 * The load generator of `bench/serve.ts`, run as its own process so its CPU is not the server's:
 * a fixed number of keep-alive connections, each sending `POST /v1/decide` back to back for a
 * fixed time, recording every call's latency. Prints one JSON line with the counts and quantiles.
 *
 * Usage: node loadgen.js < spec.json (a LoadSpec on stdin: bodies are too many for argv)
 */
import { Agent, request } from 'node:http';

/** What the parent asks for. */
export interface LoadSpec {
  url: string;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  /** Request bodies, used round-robin. */
  bodies: string[];
  /**
   * Offered load in requests per second over all connections (paced: each connection sends at
   * concurrency / rate intervals); absent means back to back (maximum throughput).
   */
  rate?: number;
}

/** What the run measured (latencies in ms). */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p99: number;
  servedBy: Record<string, number>;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadSpec;
  const u = new URL('/v1/decide', spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const bodies = spec.bodies.map((b) => Buffer.from(b));
  const lat: number[] = [];
  const servedBy: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let firstMeasured = Infinity;
  let lastDone = 0;

  const one = (body: Buffer): Promise<void> =>
    new Promise((resolve) => {
      const s = performance.now();
      const req = request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const e = performance.now();
          if (s >= measureFrom && e <= end) {
            firstMeasured = Math.min(firstMeasured, s);
            lastDone = Math.max(lastDone, e);
            if (res.statusCode !== 200) errors++;
            else {
              lat.push(e - s);
              // the served-by tag is cheap to pick out without parsing the whole answer
              const m = /"servedBy":"([a-z]+)"/.exec(Buffer.concat(chunks).toString('utf8'));
              const k = m?.[1] ?? 'unknown';
              servedBy[k] = (servedBy[k] ?? 0) + 1;
            }
          }
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(body);
    });

  const interval = spec.rate ? (spec.concurrency * 1000) / spec.rate : 0;
  const conn = async (k: number): Promise<void> => {
    let due = t0 + (k * interval) / spec.concurrency;
    while (performance.now() < end) {
      if (interval > 0) {
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        due += interval;
      }
      await one(bodies[next++ % bodies.length]!);
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, k) => conn(k)));
  agent.destroy();
  const sorted = Float64Array.from(lat).sort();
  const seconds = Math.max(1e-9, (lastDone - firstMeasured) / 1000);
  const out: LoadResult = { requests: lat.length, errors, seconds, perSecond: lat.length / seconds, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), servedBy };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

void main();
