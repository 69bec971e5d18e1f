/**
 * The decision service over HTTP: `POST /v1/decide`, `POST /v1/outcome`, `GET /v1/status`,
 * `GET /metrics`, the dashboard at `/` with its data (`/api/dashboard`, `/api/stream`), the
 * admin rollout endpoints behind a bearer token, and `GET /openapi.json` (the contract, generated
 * from the same schemas the routes validate and answer with). Routes only parse, call a service
 * and format: the caller of `/v1/decide` always gets an answer within the request deadline.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { OutcomeRequestSchema, parseDecideRequest, type OutcomeAccepted, type StatusResponse } from '../core/api.js';
import { ROLLOUT_ACTIONS, ROLLOUT_ACTION_BODY, type RolloutAction, type RolloutActionBody, type RolloutActionResponse, type RolloutHistoryResponse, type RolloutVerifyResponse, RolloutRegisterRequestSchema, type RolloutRegisterResponse } from '../core/admin-api.js';
import { generateOpenApi } from '../core/openapi.js';
import { parseStrictTime } from '../core/time.js';
import type { Settings } from '../core/settings.js';
import { ErrorCode, HTTP_STATUS, UmbraError, toUmbraError } from '../core/errors.js';
import type { Bundles } from '../services/artifacts/bundles.js';
import { DecisionEngine } from '../services/decisions/engine.js';
import { auditProblemText, auditSummary, type RolloutService } from '../services/rollout/state.js';
import type { RolloutController } from '../services/rollout/autopilot.js';
import type { Alerter } from '../services/monitoring/alerts.js';
import { buildSnapshot, buildStatus, type StatusStore } from '../services/monitoring/status.js';
import { runAction } from '../services/rollout/manual.js';
import { registerCandidate } from '../services/rollout/register.js';
import { createMetrics } from './metrics.js';
import type { DashboardSnapshot } from '../core/dashboard.js';

export interface AppDeps {
  store: StatusStore;
  rollout: RolloutService;
  engine: DecisionEngine;
  controller?: RolloutController;
  alerter?: Alerter;
  settings: Settings;
  bundles: Bundles;
  /** Admin bearer token (UMBRA_ADMIN_TOKEN or config); null disables the admin endpoints. */
  adminToken: string | null;
  now?: () => number;
}

const here = dirname(fileURLToPath(import.meta.url));
/** The web/ folder (the dashboard page), from the compiled or the source layout. */
function webRoot(): string {
  const candidates = [join(here, '..', '..', '..', 'web'), join(here, '..', '..', 'web')];
  return candidates.find((p) => existsSync(join(p, 'index.html'))) ?? candidates[0]!;
}

function sendError(reply: FastifyReply, e: UmbraError): FastifyReply {
  return reply.code(HTTP_STATUS[e.code]).send(e.toJSON());
}

function schemaError(issues: { path: PropertyKey[]; message: string }[]): UmbraError {
  return new UmbraError(ErrorCode.SCHEMA, issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; '), { issues: issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message })) });
}

/** Build the app (not listening). */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const { engine, settings } = deps;
  const config = settings.config;
  const now = deps.now ?? Date.now;
  const started = now();
  const sc = config.server;
  const app = Fastify({
    logger: false,
    bodyLimit: sc.body_limit_bytes,
    // Hostile or broken clients cannot hold connections: headers, whole requests and idle sockets are bounded.
    keepAliveTimeout: sc.idle_timeout_ms,
    connectionTimeout: sc.idle_timeout_ms,
    requestTimeout: sc.request_timeout_ms,
    http: { headersTimeout: sc.headers_timeout_ms, requestTimeout: sc.request_timeout_ms, connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(sc.headers_timeout_ms / 4))) },
  });
  // Node's header timeout starts with the first byte: a client that connects and sends nothing is cut here.
  app.server.on('connection', (socket: Socket) => {
    const silent = setTimeout(() => socket.destroy(), sc.headers_timeout_ms);
    silent.unref();
    socket.once('data', () => clearTimeout(silent));
    socket.once('close', () => clearTimeout(silent));
  });
  // Every body this API takes is JSON: anything else is 415 E_UNSUPPORTED_MEDIA, not a schema error.
  app.removeContentTypeParser('text/plain');
  let lastSnapshot: { at: number; snap: DashboardSnapshot } | undefined;
  const valueEstimates: Record<string, number | null> = { production: null, shadow: null };
  const metrics = createMetrics({ engine, store: deps.store, rollout: deps.rollout, valueEstimates: () => valueEstimates });
  app.addHook('onClose', async () => metrics.close());

  app.setErrorHandler((err: unknown, _req, reply) => {
    const e = err as { statusCode?: number; message?: string; code?: string };
    const ue =
      err instanceof UmbraError ? err
      : e.statusCode === 413 ? new UmbraError(ErrorCode.TOO_LARGE, `request body larger than ${sc.body_limit_bytes} bytes (server.body_limit_bytes)`)
      : e.statusCode === 415 ? new UmbraError(ErrorCode.UNSUPPORTED_MEDIA, 'send the request body as application/json')
      : e.statusCode !== undefined && e.statusCode < 500 ? new UmbraError(ErrorCode.SCHEMA, `malformed request: ${e.message ?? 'unreadable body'}`)
      : toUmbraError(err);
    metrics.httpErrors.inc({ code: ue.code });
    void sendError(reply, ue);
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.httpErrors.inc({ code: ErrorCode.NOT_FOUND });
    void sendError(reply, new UmbraError(ErrorCode.NOT_FOUND, `no route ${req.method} ${req.url}`));
  });

  /** The answer to a body its schema refused (counted as an E_SCHEMA error). */
  const refuseBody = (reply: FastifyReply, issues: { path: PropertyKey[]; message: string }[]): FastifyReply => {
    metrics.httpErrors.inc({ code: ErrorCode.SCHEMA });
    return sendError(reply, schemaError(issues));
  };

  app.post('/v1/decide', async (req, reply) => {
    const parsed = parseDecideRequest(req.body);
    if (!parsed.success) return refuseBody(reply, parsed.error.issues);
    const request = parsed.data;
    if (!engine.knowsPoint(request.point)) {
      metrics.httpErrors.inc({ code: ErrorCode.UNKNOWN_POINT });
      const points = engine.points;
      return sendError(reply, new UmbraError(ErrorCode.UNKNOWN_POINT, `unknown decision point "${request.point.slice(0, 64)}"; this service answers for ${points.join(', ')} (server.points)`, { points }));
    }
    request.id ??= randomUUID(); // one id for the answer, whoever gives it
    const t0 = performance.now();
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const deadline = new Promise<ReturnType<typeof DecisionEngine.fallback>>((resolve) => {
      timer = setTimeout(() => {
        late = true;
        const fb = DecisionEngine.fallback(request, 'deadline');
        void Promise.resolve(engine.logFallback(request, fb)).then(() => resolve(fb));
      }, config.server.request_deadline_ms);
    });
    const answer = await Promise.race([engine.decide(request, { abandoned: () => late }).catch(() => DecisionEngine.fallback(request, 'engine_error')), deadline]);
    clearTimeout(timer);
    metrics.decideSeconds.observe({ served_by: answer.servedBy }, (performance.now() - t0) / 1000);
    return reply.send(answer);
  });

  app.post('/v1/outcome', async (req, reply) => {
    const parsed = OutcomeRequestSchema.safeParse(req.body);
    if (!parsed.success) return refuseBody(reply, parsed.error.issues);
    await engine.outcome(parsed.data);
    const accepted: OutcomeAccepted = { ok: true, id: parsed.data.id };
    return reply.code(202).send(accepted);
  });

  app.get('/v1/status', async (): Promise<StatusResponse> => {
    const s = await buildStatus({ store: deps.store, rollout: deps.rollout, settings, now });
    const sh = engine.shadow.stats;
    const lat = [...engine.stats.latencyUs].sort((a, b) => a - b);
    const q = (p: number): number | null => (lat.length ? lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]! : null);
    return {
      stage: s.stage,
      champion: s.champion,
      candidate: s.candidate,
      canaryWeight: s.canaryWeight,
      previousChampions: s.previousChampions,
      since: s.since,
      kpis: s.kpis,
      kpiWindow: s.kpiWindow,
      uptimeS: Math.round((now() - started) / 1000),
      decisions: { total: engine.stats.decisions, bySlice: engine.stats.bySlice, byServedBy: engine.stats.byServedBy, fallbacks: engine.stats.fallbacks, latencyUs: { p50: q(0.5), p99: q(0.99) } },
      outcomes: { received: engine.stats.outcomes },
      log: { logged: engine.stats.logged, dropped: engine.stats.logDropped, errors: engine.stats.logErrors },
      shadow: { candidates: engine.shadow.active.map((c) => c.version), scored: sh.scored, dropped: sh.dropped, shed: sh.shed, errors: sh.errors, timeouts: sh.timeouts, queueDepth: sh.queueDepth },
      policyLoadFailures: engine.loadFailures,
      judge: deps.controller?.error ?? null,
      audit: deps.rollout.audit === undefined ? null : auditSummary(deps.rollout.audit),
    };
  });

  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const snapshot = async (): Promise<DashboardSnapshot> => {
    if (lastSnapshot && now() - lastSnapshot.at < 1000) return lastSnapshot.snap;
    const fb = Object.values(engine.stats.fallbacks).reduce((a, b) => a + b, 0);
    const snap = await buildSnapshot({ store: deps.store, rollout: deps.rollout, settings, bundles: deps.bundles, now, uptimeS: Math.round((now() - started) / 1000), extra: { shadowDropped: engine.shadow.stats.dropped + engine.shadow.stats.shed, fallbacks: fb } });
    const last = (xs: (number | null)[]): number | null => [...xs].reverse().find((x) => x !== null) ?? null;
    valueEstimates.production = last(snap.value.production);
    valueEstimates.shadow = last(snap.value.shadow);
    lastSnapshot = { at: now(), snap };
    return snap;
  };
  app.get('/api/dashboard', async () => snapshot());
  const openApi = JSON.stringify(generateOpenApi());
  app.get('/openapi.json', async (_req, reply) => reply.type('application/json; charset=utf-8').send(openApi));
  app.get('/api/stream', (req: FastifyRequest, reply: FastifyReply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    let lastTs = '';
    const send = async (): Promise<void> => {
      try {
        const s = await snapshot();
        const key = JSON.stringify([s.status, s.history[0]?.seq, s.counts.decisions, s.alerts[0]?.ts]);
        if (key !== lastTs) {
          lastTs = key;
          reply.raw.write(`event: snapshot\ndata: ${JSON.stringify(s)}\n\n`);
        } else reply.raw.write(': keep-alive\n\n');
      } catch {
        /* the next tick tries again */
      }
    };
    void send();
    const t = setInterval(() => void send(), 1000);
    req.raw.on('close', () => clearInterval(t));
  });

  /** The admin bearer check; undefined when the caller may proceed, else the 401 to send. */
  const unauthorized = (req: FastifyRequest): UmbraError | undefined => {
    const token = deps.adminToken;
    const auth = req.headers.authorization ?? '';
    // The auth scheme is case-insensitive (RFC 7235 §2.1): `bearer`, `BEARER` and `Bearer` are one scheme.
    const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(auth);
    const given = m?.[1] ?? '';
    const ok = token !== null && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
    if (ok) return undefined;
    metrics.httpErrors.inc({ code: ErrorCode.UNAUTHORIZED });
    return new UmbraError(ErrorCode.UNAUTHORIZED, token === null ? 'admin endpoints are disabled: set server.admin_token or UMBRA_ADMIN_TOKEN' : 'missing or wrong bearer token');
  };

  /** An admin route: the bearer check, then `handle`, whose failures are answered as errors. */
  const admin = (handle: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>) => async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const denied = unauthorized(req);
    if (denied) return sendError(reply, denied);
    try {
      return await handle(req, reply);
    } catch (e) {
      return sendError(reply, toUmbraError(e));
    }
  };

  // Read side of the audit log, for tools that cannot run the CLI next to the data directory.
  app.get('/v1/admin/rollout/history', admin(async (req, reply) => {
    const at = (req.query as { at?: unknown }).at;
    if (typeof at === 'string' && at !== '') {
      const t = parseStrictTime(at);
      if (t === null) return sendError(reply, new UmbraError(ErrorCode.USAGE, `at must be a real ISO-8601 time or epoch milliseconds, got "${at}"`));
      const c = await deps.rollout.championAt(t);
      const answer: RolloutHistoryResponse = { at, champion: c.champion, since: c.since, seq: c.seq };
      return answer;
    }
    const answer: RolloutHistoryResponse = { records: await deps.rollout.history() };
    return answer;
  }));
  app.get('/v1/admin/rollout/verify', admin(async () => {
    const v = await deps.rollout.verify();
    const answer: RolloutVerifyResponse = { ok: v.ok, records: v.records, rows: v.rows, head: v.head, keys: v.keys, anchors: v.anchors, ...(v.problem ? { problem: v.problem, firstBad: { seq: v.problem.seq ?? v.records, reason: auditProblemText(v) } } : {}) };
    return answer;
  }));

  app.post('/v1/admin/rollout/register', admin(async (req, reply) => {
    const parsed = RolloutRegisterRequestSchema.safeParse(req.body ?? {});
    if (!parsed.success) return refuseBody(reply, parsed.error.issues);
    const r = await registerCandidate({ rollout: deps.rollout, bundles: deps.bundles, settings }, { artifact: parsed.data.artifact, point: parsed.data.point, reason: parsed.data.reason, actor: 'http:admin' });
    await engine.refresh();
    lastSnapshot = undefined;
    const last = r.applied.records[r.applied.records.length - 1]!;
    const answer: RolloutRegisterResponse = { ok: true, event: last.event, from: last.from, to: last.to, version: last.version, message: `${r.version}: registered → shadow`, points: r.points, offline: r.offline === null ? null : { passed: r.offline.passed, summary: r.offline.summary } };
    return answer;
  }));

  app.post('/v1/admin/rollout/:action', admin(async (req, reply) => {
    const name = (req.params as { action: string }).action;
    if (!(ROLLOUT_ACTIONS as readonly string[]).includes(name)) return sendError(reply, new UmbraError(ErrorCode.NOT_FOUND, `no rollout action ${name}; one of ${ROLLOUT_ACTIONS.join(', ')}`));
    const action = name as RolloutAction;
    const parsed = ROLLOUT_ACTION_BODY[action].safeParse(req.body ?? {});
    if (!parsed.success) return refuseBody(reply, parsed.error.issues);
    const body: RolloutActionBody = parsed.data;
    const r = await runAction(action, {
      store: deps.store,
      rollout: deps.rollout,
      settings,
      bundles: deps.bundles,
      actor: 'http:admin',
      ...(body.reason === undefined ? {} : { reason: body.reason }),
      ...(body.force === true ? { force: true } : {}),
      ...(body.weight === undefined ? {} : { weight: body.weight }),
      ...(body.id === undefined ? {} : { id: body.id }),
      now,
    });
    await engine.refresh();
    lastSnapshot = undefined;
    const last = r.records[r.records.length - 1];
    if (last === undefined) throw new UmbraError(ErrorCode.INTERNAL, `${action} applied but wrote no audit record`);
    const answer: RolloutActionResponse = { ok: true, event: last.event, from: last.from, to: last.to, version: last.version, message: `${last.version}: ${last.from} → ${last.to}` };
    return answer;
  }));

  // The dashboard page, with the snapshot of the moment embedded so that the page shows data as
  // soon as it loads (no wait for the first fetch; a plain headless screenshot sees it too).
  const indexPath = join(webRoot(), 'index.html');
  const page = async (_req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const html = await readFile(indexPath, 'utf8');
    let snap: DashboardSnapshot | null;
    try {
      snap = await snapshot();
    } catch {
      snap = null; // the page fetches it itself then
    }
    const embedded = snap === null ? '' : `<script type="application/json" id="initial-snapshot">${JSON.stringify(snap).replace(/</g, '\\u003c')}</script>`;
    return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html.replace('<!--initial-snapshot-->', embedded));
  };
  app.get('/', page);
  // The dashboard page's locally served chart library (no internet needed).
  const uplotDist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  await app.register(fastifyStatic, { root: webRoot(), prefix: '/', index: false });
  await app.register(fastifyStatic, { root: uplotDist, prefix: '/vendor/uplot/', decorateReply: false });
  return app;
}
