/**
 * The load generator of `bench/serve.ts`, run as its own process so its CPU is not the server's:
 * a fixed number of keep-alive HTTP/1.1 connections, each with one request in flight, either back
 * to back or paced at a fixed offered rate, recording every call's latency from the first byte
 * written to the last byte of the answer read. Prints one JSON line with the counts and quantiles.
 *
 * It speaks HTTP over plain sockets with requests prepared in advance, like wrk: the server's
 * latency is what is measured, and on a 2-core machine a heavyweight client (node:http builds
 * objects, headers and streams for every call) would take CPU from the server it measures.
 * Answers must carry `content-length` (the decision service's do); anything else is an error.
 *
 * Usage: node loadgen.js < spec.json (a LoadSpec on stdin: bodies are too many for argv)
 */
import { connect, type Socket } from 'node:net';

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
   * concurrency / rate intervals, catching up when an answer came late); absent means back to
   * back (maximum throughput).
   */
  rate?: number;
  /** Path to POST to. @default "/v1/decide" */
  path?: string;
}

/** What the run measured (latencies in ms). */
export interface LoadResult {
  requests: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  servedBy: Record<string, number>;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const HEADER_END = Buffer.from('\r\n\r\n');
const CONTENT_LENGTH = /\r\ncontent-length:\s*(\d+)/i;
const SERVED_BY = /"servedBy":"([a-z]+)"/;

/** One answer parsed off a connection: status and body, or undefined while incomplete. */
function parseAnswer(buf: Buffer): { status: number; body: Buffer; used: number } | { error: string } | undefined {
  const h = buf.indexOf(HEADER_END);
  if (h === -1) return buf.length > 65536 ? { error: 'header too large' } : undefined;
  const head = buf.toString('latin1', 0, h);
  const status = Number(head.slice(9, 12));
  const m = CONTENT_LENGTH.exec(head);
  if (m === null) return { error: 'answer without content-length' };
  const len = Number(m[1]);
  const end = h + 4 + len;
  if (buf.length < end) return undefined;
  return { status, body: buf.subarray(h + 4, end), used: end };
}

async function main(): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const spec = JSON.parse(Buffer.concat(chunks).toString('utf8')) as LoadSpec;
  const u = new URL(spec.path ?? '/v1/decide', spec.url);
  const requests = spec.bodies.map((b) => {
    const body = Buffer.from(b);
    return Buffer.concat([Buffer.from(`POST ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\n\r\n`, 'latin1'), body]);
  });
  const lat: number[] = [];
  const servedBy: Record<string, number> = {};
  let errors = 0;
  let next = 0;
  const t0 = performance.now();
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  let firstMeasured = Infinity;
  let lastDone = 0;

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: u.hostname, port: Number(u.port), noDelay: true }, () => resolve(s));
      s.once('error', reject);
    });

  const conn = async (k: number): Promise<void> => {
    let sock = await open();
    let buf: Buffer = Buffer.alloc(0);
    let waiting: ((r: { status: number; body: Buffer } | { error: string }) => void) | undefined;
    const attach = (s: Socket): void => {
      s.on('data', (d: Buffer) => {
        buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
        const a = parseAnswer(buf);
        if (a === undefined) return;
        if ('used' in a) buf = buf.subarray(a.used);
        const w = waiting;
        waiting = undefined;
        w?.(a);
      });
      const fail = (): void => {
        const w = waiting;
        waiting = undefined;
        w?.({ error: 'connection closed' });
      };
      s.on('error', fail);
      s.on('close', fail);
    };
    attach(sock);
    const interval = spec.rate ? (spec.concurrency * 1000) / spec.rate : 0;
    let due = t0 + (k * interval) / spec.concurrency;
    try {
      while (performance.now() < end) {
        if (interval > 0) {
          const wait = due - performance.now();
          if (wait > 0) await new Promise((r) => setTimeout(r, wait));
          due += interval;
        }
        const req = requests[next++ % requests.length]!;
        const s = performance.now();
        const answer = await new Promise<{ status: number; body: Buffer } | { error: string }>((resolve) => {
          waiting = resolve;
          sock.write(req);
        });
        const e = performance.now();
        const measured = s >= measureFrom && e <= end;
        if ('error' in answer) {
          if (measured) errors++;
          sock.destroy();
          buf = Buffer.alloc(0);
          sock = await open();
          attach(sock);
          continue;
        }
        if (!measured) continue;
        firstMeasured = Math.min(firstMeasured, s);
        lastDone = Math.max(lastDone, e);
        if (answer.status !== 200) {
          errors++;
          continue;
        }
        lat.push(e - s);
        const m = SERVED_BY.exec(answer.body.toString('latin1'));
        const key = m?.[1] ?? 'unknown';
        servedBy[key] = (servedBy[key] ?? 0) + 1;
      }
    } finally {
      sock.destroy();
    }
  };
  await Promise.all(Array.from({ length: spec.concurrency }, (_, k) => conn(k)));
  const sorted = Float64Array.from(lat).sort();
  const seconds = Math.max(1e-9, (lastDone - firstMeasured) / 1000);
  const out: LoadResult = {
    requests: lat.length,
    errors,
    seconds,
    perSecond: lat.length / seconds,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    servedBy,
  };
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

void main();
