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
  /**
   * Open loop (with `rate`): requests are sent at their scheduled times whether or not earlier ones
   * were answered, each on an idle connection (new ones are opened up to `maxConnections`; past
   * that a request waits for one), and latency is measured from the scheduled time, so a server
   * that stalls is charged for every request that queued behind the stall (no coordinated omission).
   */
  open?: boolean;
  /** Most connections in open-loop mode (past them a request waits for a free one, its wait counted, as wrk2 does). @default concurrency */
  maxConnections?: number;
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
  /** Open loop: connections opened, and requests that waited for a free one. */
  connections?: number;
  queued?: number;
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

/** One keep-alive connection of the open-loop generator, with at most one request in flight. */
interface OpenConn {
  sock: Socket;
  buf: Buffer;
  /** Scheduled time of the request in flight, or -1 when idle. */
  due: number;
}

/** The open-loop run (see `LoadSpec.open`). */
async function openLoop(spec: LoadSpec, u: URL, requests: Buffer[]): Promise<LoadResult> {
  const rate = spec.rate!;
  const maxConns = spec.maxConnections ?? spec.concurrency;
  const lat: number[] = [];
  const servedBy: Record<string, number> = {};
  let errors = 0;
  let queued = 0;
  let opened = 0;
  const t0 = performance.now() + 50;
  const measureFrom = t0 + spec.warmupMs;
  const end = measureFrom + spec.durationMs;
  const total = Math.floor(((end - t0) / 1000) * rate);
  const idle: OpenConn[] = [];
  const backlog: number[] = [];
  let sent = 0;
  let done = 0;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((r) => (finish = r));
  const complete = (due: number, status: number, body: Buffer | undefined): void => {
    done++;
    const e = performance.now();
    if (due >= measureFrom && due < end) {
      if (status !== 200) errors++;
      else {
        lat.push(e - due);
        const m = body === undefined ? null : SERVED_BY.exec(body.toString('latin1'));
        const key = m?.[1] ?? 'unknown';
        servedBy[key] = (servedBy[key] ?? 0) + 1;
      }
    }
    if (done === total) finish();
  };
  const release = (c: OpenConn): void => {
    const next = backlog.shift();
    if (next !== undefined) send(c, next);
    else idle.push(c);
  };
  const send = (c: OpenConn, due: number): void => {
    c.due = due;
    c.sock.write(requests[sent++ % requests.length]!);
  };
  const connect1 = (): OpenConn => {
    opened++;
    const c: OpenConn = { sock: connect({ host: u.hostname, port: Number(u.port), noDelay: true }), buf: Buffer.alloc(0), due: -1 };
    c.sock.on('data', (d: Buffer) => {
      c.buf = c.buf.length === 0 ? d : Buffer.concat([c.buf, d]);
      const a = parseAnswer(c.buf);
      if (a === undefined) return;
      const due = c.due;
      c.due = -1;
      if ('used' in a) {
        c.buf = c.buf.subarray(a.used);
        complete(due, a.status, a.body);
        release(c);
      } else {
        complete(due, 0, undefined);
        c.sock.destroy();
      }
    });
    const fail = (): void => {
      if (c.due >= 0) {
        const due = c.due;
        c.due = -1;
        complete(due, 0, undefined);
      }
      const i = idle.indexOf(c);
      if (i >= 0) idle.splice(i, 1);
    };
    c.sock.on('error', fail);
    c.sock.on('close', fail);
    return c;
  };
  for (let i = 0; i < spec.concurrency; i++) idle.push(connect1());
  await new Promise((r) => setTimeout(r, 50));
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      while (k < total && t0 + (k * 1000) / rate <= now) {
        const due = t0 + (k * 1000) / rate;
        k++;
        const c = idle.pop() ?? (opened < maxConns ? connect1() : undefined);
        if (c !== undefined) send(c, due);
        else {
          queued++;
          backlog.push(due);
        }
      }
      if (k >= total) resolve();
      else setTimeout(tick, Math.max(0, Math.min(1, t0 + (k * 1000) / rate - performance.now())));
    };
    tick();
  });
  await Promise.race([finished, new Promise((r) => setTimeout(r, 10_000))]);
  for (const c of idle) c.sock.destroy();
  const sorted = Float64Array.from(lat).sort();
  return {
    requests: lat.length,
    errors: errors + Math.max(0, total - done),
    seconds: spec.durationMs / 1000,
    perSecond: lat.length / (spec.durationMs / 1000),
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    p999: quantile(sorted, 0.999),
    max: sorted.length === 0 ? NaN : sorted[sorted.length - 1]!,
    servedBy,
    connections: opened,
    queued,
  };
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
  if (spec.open === true && spec.rate !== undefined) {
    process.stdout.write(`${JSON.stringify(await openLoop(spec, u, requests))}\n`);
    process.exit(0);
  }
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
