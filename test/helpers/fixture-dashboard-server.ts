/**
 * A stand-in for `umbra serve` in browser tests: it serves the dashboard page (web/) and uPlot
 * (/vendor/uplot/ from node_modules/uplot/dist) like the real server, answers GET /api/dashboard,
 * pushes snapshots over GET /api/stream (server-sent events) and accepts the admin rollout actions.
 * The page's tests talk to it only through `url`, so the same tests can run against the real
 * server later.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';
import { DashboardSnapshotSchema, type DashboardSnapshot } from '../../src/core/dashboard.js';
import { ErrorCode } from '../../src/core/errors.js';
import { projectRoot } from './shared-data.js';

/** One admin request as the server saw it. */
export interface AdminCall {
  action: string;
  authorization: string | undefined;
  body: unknown;
  status: number;
}

/** Options of {@link startFixtureDashboardServer}. */
export interface FixtureDashboardOptions {
  /** The snapshot served until `push` replaces it (validated with `DashboardSnapshotSchema`). */
  snapshot: DashboardSnapshot;
  /** The bearer token the admin endpoints accept. @default 'test-admin-token' */
  adminToken?: string;
  /** Serve the event stream; false answers 404 to force the page's polling fallback. @default true */
  sse?: boolean;
}

/** A running fixture server. */
export interface FixtureDashboardServer {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Admin requests received, in order. */
  readonly adminCalls: AdminCall[];
  /** Number of GET /api/dashboard requests answered (polling shows up here). */
  readonly dashboardGets: () => number;
  /** Number of open event-stream clients. */
  readonly streamClients: () => number;
  /** The snapshot being served now. */
  current(): DashboardSnapshot;
  /** Replace the snapshot and send it to every open event stream. */
  push(snapshot: DashboardSnapshot): void;
  close(): Promise<void>;
}

const WEB_DIR = join(projectRoot, 'web');
const UPLOT_DIR = join(projectRoot, 'node_modules', 'uplot', 'dist');

const MIME: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
};

/** Where the rollout state machine would go on each admin action (enough for page tests). */
const NEXT_STAGE: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  promote: { shadow: 'canary', canary: 'production' },
  pause: { shadow: 'paused', canary: 'paused', production: 'paused' },
  resume: { paused: 'canary' },
  rollback: { shadow: 'rolled_back', canary: 'rolled_back', production: 'rolled_back', paused: 'rolled_back' },
};

/** Start the fixture server on 127.0.0.1 with a random port. */
export async function startFixtureDashboardServer(opts: FixtureDashboardOptions): Promise<FixtureDashboardServer> {
  const token = opts.adminToken ?? 'test-admin-token';
  const sse = opts.sse ?? true;
  let snapshot = DashboardSnapshotSchema.parse(opts.snapshot);
  const streams = new Set<ServerResponse>();
  const adminCalls: AdminCall[] = [];
  let gets = 0;

  const sendEvent = (res: ServerResponse, s: DashboardSnapshot): void => {
    res.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
  };
  const push = (next: DashboardSnapshot): void => {
    snapshot = DashboardSnapshotSchema.parse(next);
    for (const res of streams) sendEvent(res, snapshot);
  };
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  const serveFile = async (res: ServerResponse, root: string, rel: string): Promise<void> => {
    const path = normalize(join(root, rel));
    if (!path.startsWith(root + sep)) return json(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: 'not found' } });
    try {
      const body = await readFile(path);
      res.writeHead(200, { 'content-type': MIME[extname(path)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      json(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: 'not found' } });
    }
  };

  const admin = async (req: IncomingMessage, res: ServerResponse, action: string): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: unknown = null;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      body = null;
    }
    const authorization = req.headers.authorization;
    const answer = (status: number, out: unknown): void => {
      adminCalls.push({ action, authorization, body, status });
      json(res, status, out);
    };
    if (authorization !== `Bearer ${token}`) {
      return answer(401, { error: { code: ErrorCode.UNAUTHORIZED, message: 'a valid admin token is required' } });
    }
    const from = snapshot.status.stage;
    const to = NEXT_STAGE[action]?.[from];
    if (to === undefined) {
      return answer(409, { error: { code: ErrorCode.TRANSITION_INVALID, message: `cannot ${action} from ${from}` } });
    }
    const reason = typeof body === 'object' && body !== null && 'reason' in body && typeof body.reason === 'string' && body.reason !== '' ? body.reason : null;
    const seq = Math.max(0, ...snapshot.history.map((h) => h.seq)) + 1;
    const ts = new Date().toISOString();
    push({
      ...snapshot,
      ts,
      status: { ...snapshot.status, stage: to, ...(to === 'production' ? { champion: snapshot.status.candidate, canaryWeight: 1 } : {}) },
      history: [...snapshot.history, { seq, ts, event: action, from, to, actor: 'admin:web', reason, policy: snapshot.status.candidate }],
    });
    answer(200, { ok: true, from, to, message: `${from} → ${to}` });
  };

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fixture');
    const path = url.pathname;
    const route = async (): Promise<void> => {
      if (req.method === 'GET' && path === '/api/dashboard') {
        gets++;
        return json(res, 200, snapshot);
      }
      if (req.method === 'GET' && path === '/api/stream') {
        if (!sse) return json(res, 404, { error: { code: ErrorCode.NOT_FOUND, message: 'no event stream here' } });
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
        res.write('retry: 1000\n\n');
        streams.add(res);
        req.on('close', () => streams.delete(res));
        sendEvent(res, snapshot);
        return;
      }
      const adminMatch = /^\/v1\/admin\/rollout\/([a-z]+)$/.exec(path);
      if (req.method === 'POST' && adminMatch?.[1] !== undefined) return admin(req, res, adminMatch[1]);
      if (req.method === 'GET' && path.startsWith('/vendor/uplot/')) return serveFile(res, UPLOT_DIR, path.slice('/vendor/uplot/'.length));
      if (req.method === 'GET') return serveFile(res, WEB_DIR, path === '/' ? 'index.html' : path.slice(1));
      json(res, 405, { error: { code: ErrorCode.USAGE, message: 'method not allowed' } });
    };
    route().catch((err: unknown) => {
      if (!res.headersSent) json(res, 500, { error: { code: ErrorCode.INTERNAL, message: String(err) } });
      else res.end();
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    adminCalls,
    dashboardGets: () => gets,
    streamClients: () => streams.size,
    current: () => snapshot,
    push,
    close: async () => {
      for (const res of streams) res.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
