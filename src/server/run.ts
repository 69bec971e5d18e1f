/**
 * Starting and stopping the whole decision service in one process: store, rollout service, the
 * decision engine with its policy workers and shadow scorer, the rollout controller (judge and
 * drift), alerts, and the HTTP app. Used by `umbra serve` and by `umbra demo`.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../core/config/index.js';
import { storePath } from '../store/index.js';
import { WorkerStore } from '../store/worker-store.js';
import type { Store } from '../store/port.js';
import { RolloutService } from '../services/rollout-service.js';
import { DecisionEngine } from '../services/decision-engine.js';
import { RolloutController, writeShadowStats } from '../services/rollout-controller.js';
import { Alerter, persistAlert } from '../services/alerts.js';
import { buildApp } from './app.js';

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  store: Store;
  engine: DecisionEngine;
  rollout: RolloutService;
  controller: RolloutController;
  alerter: Alerter;
  close(): Promise<void>;
}

export interface ServeOptions {
  config: Config;
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
}

/** Start the decision service and listen. */
export async function startServer(o: ServeOptions): Promise<RunningServer> {
  // The store runs in a worker thread: a write waiting for another process's lock (the shadow
  // controller ingesting) must never block the event loop that answers /v1/decide.
  // Its writes (decision log, shadow records) are committed in groups, and it steps back for the
  // event loop when the cores are busy (server.background_priority).
  const store =
    o.store ??
    new WorkerStore(storePath(o.dataDir, o.config), {
      busyTimeoutMs: Math.max(30_000, o.config.store.busy_timeout_ms),
      cacheMb: o.config.store.cache_mb,
      groupCommitMs: o.config.server.log_commit_ms,
      priority: o.config.server.background_priority,
    });
  const now = o.now ?? Date.now;
  const alerter = new Alerter({ config: o.config.alerts, now: () => new Date(now()), onAlert: (a) => void persistAlert(store, a).catch(() => undefined) });
  const rollout = new RolloutService(store, {
    config: o.config,
    now,
    onTransition: (_s, records) => {
      for (const r of records) if (r.event === 'rollback') alerter.raise('rolled_back', 'critical', `${r.version} rolled back: ${r.reason}`);
    },
  });
  const engine = new DecisionEngine({ store, rollout, config: o.config, dataDir: o.dataDir, now, ...(o.loaderUrl === undefined ? {} : { loaderUrl: o.loaderUrl }), ...(o.shadow === undefined ? {} : { shadow: o.shadow }) });
  await engine.start();
  const controller = new RolloutController({ store, rollout, config: o.config, dataDir: o.dataDir, alerter, now });
  controller.start(o.checkIntervalMs);
  // Shadow counters go to the store so the gates (and other processes) can read them.
  const statsTimer = setInterval(() => {
    const by = engine.shadow.stats.byCandidate;
    if (Object.keys(by).length > 0) void writeShadowStats(store, 'serve', by).catch(() => undefined);
  }, 1000);
  statsTimer.unref();
  const adminToken = process.env.UMBRA_ADMIN_TOKEN ?? o.config.server.admin_token;
  const app = await buildApp({ store, rollout, engine, controller, alerter, config: o.config, dataDir: o.dataDir, adminToken, now });
  const host = o.host ?? o.config.server.host;
  await app.listen({ port: o.port ?? o.config.server.port, host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (o.port ?? o.config.server.port);
  let closed = false;
  return {
    app,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    store,
    engine,
    rollout,
    controller,
    alerter,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(statsTimer);
      controller.stop();
      await app.close();
      const by = engine.shadow.stats.byCandidate;
      await engine.close();
      if (Object.keys(by).length > 0) await writeShadowStats(store, 'serve', by).catch(() => undefined);
      await alerter.drain();
      if (!o.store) await store.close();
    },
  };
}
