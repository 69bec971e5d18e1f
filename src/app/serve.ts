/**
 * The whole decision service in one process, wired: the store in its own thread, the rollout
 * service, the decision engine with its policy workers and shadow scorer, the rollout autopilot
 * (judge and drift), alerts, and the HTTP app. Used by `umbra serve` and by `umbra demo`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Settings } from '../core/settings.js';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { hasChangeFeed, type Store } from '../store/port.js';
import type { Bundles } from '../services/artifacts/bundles.js';
import type { RolloutService } from '../services/rollout/state.js';
import { DecisionEngine } from '../services/decisions/engine.js';
import { RolloutController } from '../services/rollout/autopilot.js';
import { writeShadowStats } from '../services/shadow/stats.js';
import type { Alerter } from '../services/monitoring/alerts.js';
import { buildApp } from '../server/app.js';
import { streamUrlOf, wire } from './context.js';
import { openEventStream, type EventStream } from './stream.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  settings: Settings;
  dataDir: string;
  store: Store;
  bundles: Bundles;
  engine: DecisionEngine;
  rollout: RolloutService;
  controller: RolloutController;
  alerter: Alerter;
  close(): Promise<void>;
}

export interface ServeOptions {
  settings: Settings;
  dataDir: string;
  port?: number;
  host?: string;
  /** Use this store instead of opening the data directory's (tests). */
  store?: Store;
  /** Injectable clock (the demo and tests accelerate time). */
  now?: () => number;
  /** Judge every this many ms instead of `rollout.check_interval_s`. */
  checkIntervalMs?: number;
  loaderUrl?: string;
  shadow?: boolean;
  /** Publish the decision log to this event stream (default: the setting, `UMBRA_STREAM_URL` or `store.stream_url`). */
  streamUrl?: string;
}

/** Why the service cannot listen, as a stable code (E_LISTEN) and a sentence that says what to change. */
export function listenError(e: unknown, host: string, port: number): UmbraError {
  const code = (e as { code?: unknown }).code;
  const at = `${host}:${port}`;
  const why =
    code === 'EADDRINUSE' ? `port ${port} on ${host} is already in use (another \`umbra serve\`?): choose another with --port, or 0 for a free one`
    : code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' ? `unknown host ${JSON.stringify(host)}: give --host an address of this machine (e.g. 127.0.0.1 or 0.0.0.0)`
    : code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine: give --host one of its addresses (e.g. 127.0.0.1 or 0.0.0.0)`
    : code === 'EACCES' || code === 'EPERM' ? `not permitted to listen on ${at} (ports below 1024 need privileges): choose another --port`
    : `cannot listen on ${at}: ${(e as Error).message ?? String(e)}`;
  return new UmbraError(ErrorCode.LISTEN, why, { host, port, ...(typeof code === 'string' ? { errno: code } : {}) }, { cause: e });
}

/** Start the decision service and listen. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  const config = o.settings.config;
  const w = wire({
    settings: o.settings,
    dataDir: o.dataDir,
    mode: 'service',
    ...(o.store === undefined ? {} : { store: o.store }),
    ...(o.now === undefined ? {} : { now: o.now }),
    onTransition: (_s, records, alerter) => {
      for (const r of records) if (r.event === 'rollback') alerter.raise('rolled_back', 'critical', `${r.version} rolled back: ${r.reason}`);
    },
  });
  const { store, rollout, alerter, bundles, now } = w;
  const journal = config.server.journal === 'off' ? {} : { journalDir: join(o.dataDir, 'journal'), journalMode: config.server.journal };
  // In a fleet, decisions and outcomes go through the stream (acknowledged before the answer).
  const streamUrl = o.streamUrl ?? streamUrlOf(o.settings);
  let stream: EventStream | undefined;
  try {
    stream = streamUrl === undefined ? undefined : await openEventStream(o.settings, streamUrl, `umbra-serve-${process.pid}`);
  } catch (e) {
    await w.close();
    throw e;
  }
  const engine = new DecisionEngine({ store, rollout, settings: o.settings, bundles, now, ...journal, ...(o.loaderUrl === undefined ? {} : { loaderUrl: o.loaderUrl }), ...(o.shadow === undefined ? {} : { shadow: o.shadow }), ...(stream === undefined ? {} : { publisher: stream }) });
  await engine.start();
  // A store that pushes its changes (PostgreSQL) brings promote and rollback at once, not at the next poll.
  let pending: NodeJS.Timeout | undefined;
  const stopWatching = hasChangeFeed(store)
    ? await store
        .watch(() => {
          pending ??= setTimeout(() => {
            pending = undefined;
            void engine.refresh().catch(() => undefined);
          }, 20);
        })
        .catch(() => undefined)
    : undefined;
  const controller = new RolloutController({ store, rollout, settings: o.settings, bundles, alerter, now });
  controller.start(o.checkIntervalMs);
  // Shadow counters go to the shared state so the gates (and other processes) can read them.
  const statsId = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`; // this process's counters, beside other replicas'
  const statsTimer = setInterval(() => {
    const by = engine.shadow.stats.byCandidate;
    if (Object.keys(by).length > 0) void writeShadowStats(store, 'serve', by, statsId).catch(() => undefined);
  }, 1000);
  statsTimer.unref();
  const adminToken = process.env.UMBRA_ADMIN_TOKEN ?? config.server.admin_token;
  const app = await buildApp({ store, rollout, engine, controller, alerter, settings: o.settings, bundles, adminToken, now });
  const host = o.host ?? config.server.host;
  try {
    await app.listen({ port: o.port ?? config.server.port, host });
  } catch (e) {
    clearInterval(statsTimer);
    controller.stop();
    await app.close().catch(() => undefined);
    await engine.close().catch(() => undefined);
    await w.close().catch(() => undefined);
    throw listenError(e, host, o.port ?? config.server.port);
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (o.port ?? config.server.port);
  let closed = false;
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    settings: o.settings,
    dataDir: o.dataDir,
    store,
    bundles,
    engine,
    rollout,
    controller,
    alerter,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(statsTimer);
      if (pending !== undefined) clearTimeout(pending);
      await stopWatching?.();
      controller.stop();
      await app.close();
      const by = engine.shadow.stats.byCandidate;
      await engine.close();
      await stream?.close();
      if (Object.keys(by).length > 0) await writeShadowStats(store, 'serve', by).catch(() => undefined);
      await w.close();
    },
  };
}
