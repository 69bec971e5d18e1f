/**
 * The composition root: one compiled configuration in; the store, the bundle registry, the alerter
 * and the rollout service out, wired once. Every command and long-running process gets its parts
 * here, so which store adapter serves (and how it is tuned for the job) is decided in one place and
 * services only ever receive the roles they use.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AuditRecord, RolloutState } from '../core/rollout/index.js';
import { compileConfig } from '../core/config/index.js';
import { compileSettings, type Settings } from '../core/settings.js';
import { readJsonFile } from '../platform/fs.js';
import { Bundles } from '../services/artifacts/bundles.js';
import { AlertKind, Alerter, persistAlert } from '../services/monitoring/alerts.js';
import { auditProblemText, RolloutService, type AuditCheck } from '../services/rollout/state.js';
import { HeadFileAnchor, WebhookAnchor, type AuditAnchor } from '../services/rollout/anchor.js';
import { envKeys, fileKeys, type AuditKeySource } from '../services/rollout/keys.js';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { redactUrl } from '../core/redact.js';
import { hasBundleArchive } from '../store/port.js';
import { isPostgresUrl, openPostgresStore, openSqliteStore, PostgresStore, SqliteStore, storePath, WorkerStore, type Store } from '../store/index.js';

/**
 * How a process uses the store, which decides how the adapter is opened:
 * - `direct`: one-shot commands and the shadow controller; the SQLite store on this thread;
 * - `bulk`: bulk writers (`umbra ingest`); the store in its own thread, so parsing and writing overlap;
 * - `service`: the decision service; the store in its own thread at a lower priority, with group
 *   commit of the decision log, so another process's write lock never blocks an answer.
 */
export type StoreMode = 'direct' | 'bulk' | 'service';

/**
 * The one setting that selects the store of every command and service: `UMBRA_STORE_URL` (which
 * `--store` sets), else `store.url` of the config, else undefined (the SQLite file in the data
 * directory). A `sqlite:PATH` URL names another SQLite file.
 */
export function storeUrlOf(settings: Settings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.UMBRA_STORE_URL?.trim();
  const url = fromEnv !== undefined && fromEnv !== '' ? fromEnv : settings.config.store.url;
  if (url !== undefined && !isPostgresUrl(url) && !/^sqlite:/i.test(url)) {
    throw new UmbraError(ErrorCode.CONFIG_INVALID, `the store URL must start with postgres:// or sqlite:, got ${redactUrl(url)}`);
  }
  return url;
}

/** The NATS JetStream URL decision events go through: `UMBRA_STREAM_URL` (which `--stream` sets), else `store.stream_url`. */
export function streamUrlOf(settings: Settings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const fromEnv = env.UMBRA_STREAM_URL?.trim();
  const url = fromEnv !== undefined && fromEnv !== '' ? fromEnv : settings.config.store.stream_url;
  if (url !== undefined && !/^(nats|tls):\/\//i.test(url)) throw new UmbraError(ErrorCode.CONFIG_INVALID, `the stream URL must start with nats:// or tls://, got ${redactUrl(url)}`);
  return url;
}

/** Where the store of a data directory lives, fit to show (a PostgreSQL URL has its password replaced). */
export function storeLocation(settings: Settings, dataDir: string): string {
  const url = storeUrlOf(settings);
  if (isPostgresUrl(url)) return redactUrl(url);
  return sqlitePathOf(settings, dataDir, url);
}

function sqlitePathOf(settings: Settings, dataDir: string, url: string | undefined): string {
  if (url === undefined) return storePath(dataDir, settings.config);
  const p = url.replace(/^sqlite:(\/\/)?/i, '');
  return resolve(dataDir, p);
}

/** Open the store of a data directory for a job. */
export function openStore(settings: Settings, dataDir: string, mode: StoreMode = 'direct'): Store {
  const s = settings.config.store;
  const url = storeUrlOf(settings);
  // PostgreSQL serves every mode the same way: the server is the other thread.
  if (isPostgresUrl(url)) return openPostgresStore(url, { poolSize: s.pool_size });
  const path = sqlitePathOf(settings, dataDir, url);
  if (mode === 'direct') return openSqliteStore(path, { busyTimeoutMs: s.busy_timeout_ms, cacheMb: s.cache_mb });
  if (mode === 'bulk') return new WorkerStore(path, { busyTimeoutMs: s.busy_timeout_ms, cacheMb: s.cache_mb });
  const server = settings.config.server;
  return new WorkerStore(path, { busyTimeoutMs: Math.max(30_000, s.busy_timeout_ms), cacheMb: s.cache_mb, groupCommitMs: server.log_commit_ms, priority: server.background_priority });
}

/** The store file of a data directory under its settings (whether or not it exists); undefined for a PostgreSQL store. */
export function storeFile(settings: Settings, dataDir: string): string | undefined {
  const url = storeUrlOf(settings);
  return isPostgresUrl(url) ? undefined : sqlitePathOf(settings, dataDir, url);
}

/**
 * The effective settings: the config file given (`--config`), else `<data-dir>/config.json` when
 * present, else the defaults.
 */
export function loadSettings(o: { dataDir: string; configPath?: string | undefined }): Settings {
  const path = o.configPath ?? join(o.dataDir, 'config.json');
  if (o.configPath === undefined && !existsSync(path)) return compileSettings(compileConfig({}));
  return compileSettings(compileConfig(readJsonFile(path, 'config file'), path));
}

/** The shared parts of a process, wired. */
export interface Wired {
  settings: Settings;
  dataDir: string;
  store: Store;
  bundles: Bundles;
  alerter: Alerter;
  rollout: RolloutService;
  now: () => number;
  /** Drain the alerter and close the store (unless it was handed in). */
  close(): Promise<void>;
}

export interface WireOptions {
  settings: Settings;
  dataDir: string;
  /** @default "direct" */
  mode?: StoreMode;
  /** Use this store instead of opening the data directory's (tests); it is not closed by `close`. */
  store?: Store;
  /** Injectable clock (the demo and tests accelerate time). @default Date.now */
  now?: () => number;
  /** Called after every applied rollout transition, with the alerter at hand. */
  onTransition?: (state: RolloutState, records: AuditRecord[], alerter: Alerter) => void;
  /** The audit key text. @default process.env.UMBRA_AUDIT_KEY */
  auditKey?: string | undefined;
}

/**
 * The audit keys of a data directory: `UMBRA_AUDIT_KEY` when set, else the key file
 * (`audit.key_file`, relative to the data directory), created on the first signed record.
 */
export function auditKeys(settings: Settings, dataDir: string, envKey: string | undefined = process.env.UMBRA_AUDIT_KEY): AuditKeySource {
  if (envKey !== undefined && envKey.trim() !== '') return envKeys(envKey);
  return fileKeys(resolve(dataDir, settings.config.audit.key_file));
}

/** The anchors of a data directory: the head file beside the store, and the configured webhooks. */
export function auditAnchors(settings: Settings, dataDir: string): AuditAnchor[] {
  const a = settings.config.audit;
  return [new HeadFileAnchor(resolve(dataDir, a.head_file)), ...a.anchor_webhooks.map((w) => new WebhookAnchor({ url: w.url, timeoutMs: w.timeout_ms }))];
}

/** Alerts for the audit log's verdicts: critical when it stops verifying, info when it verifies again. */
function auditAlert(alerter: Alerter, c: AuditCheck): void {
  if (c.ok) alerter.raise(AlertKind.AUDIT_TRUSTED, 'info', 'the audit log verifies again; the rollout state it folds to serves');
  else alerter.raise(AlertKind.AUDIT_UNTRUSTED, 'critical', `the audit log does not verify; only the baseline serves until it does: ${auditProblemText(c)}`, { problem: c.problem, keys: c.keys.status, anchors: c.anchors });
}

/** Open the store and wire the bundles, the alerter and the rollout service on it. */
export function wire(o: WireOptions): Wired {
  const store = o.store ?? openStore(o.settings, o.dataDir, o.mode);
  const now = o.now ?? Date.now;
  const alerter = new Alerter({ config: o.settings.config.alerts, now: () => new Date(now()), onAlert: (a) => void persistAlert(store, a).catch(() => undefined) });
  const onTransition = o.onTransition;
  const rollout = new RolloutService(store, {
    settings: o.settings,
    now,
    keys: auditKeys(o.settings, o.dataDir, 'auditKey' in o ? o.auditKey : process.env.UMBRA_AUDIT_KEY),
    anchors: auditAnchors(o.settings, o.dataDir),
    reverifyMs: o.settings.config.audit.reverify_s * 1000,
    onAudit: (c) => auditAlert(alerter, c),
    onAnchorError: (name, e) => alerter.raise(AlertKind.ANCHOR_FAILED, 'warning', `${name} did not take the audit head: ${e.message}`),
    ...(onTransition === undefined ? {} : { onTransition: (s, r) => onTransition(s, r, alerter) }),
  });
  let closed = false;
  return {
    settings: o.settings,
    dataDir: o.dataDir,
    store,
    bundles: Bundles.of(o.dataDir, o.settings.config, hasBundleArchive(store) ? store : undefined),
    alerter,
    rollout,
    now,
    async close() {
      if (closed) return;
      closed = true;
      await alerter.drain();
      if (o.store === undefined) await store.close();
    },
  };
}

/** Run `fn` with wired parts and close them afterwards, whatever happens. */
export async function withWired<T>(o: WireOptions, fn: (w: Wired) => Promise<T>): Promise<T> {
  const w = wire(o);
  try {
    return await fn(w);
  } finally {
    await w.close();
  }
}

/** What `umbra store migrate` reports. */
export interface MigrateReport {
  kind: string;
  location: string;
  version: number;
  migrations: { version: number; name: string; appliedAt: string }[];
}

/**
 * Apply the store's pending migrations (once, whoever runs first: PostgreSQL under an advisory
 * lock, SQLite in immediate transactions) and report the schema version.
 */
export async function migrateStore(settings: Settings, dataDir: string): Promise<MigrateReport> {
  const store = openStore(settings, dataDir, 'direct');
  try {
    const location = storeLocation(settings, dataDir);
    if (store instanceof PostgresStore) {
      const version = await store.migrate();
      return { kind: store.kind, location, version, migrations: await store.migrations() };
    }
    if (store instanceof SqliteStore) {
      const rows = store.database.prepare('SELECT version, name, applied_at FROM schema_migrations ORDER BY version').all() as { version: number; name: string; applied_at: string }[];
      return { kind: store.kind, location, version: rows.reduce((m, r) => Math.max(m, r.version), 0), migrations: rows.map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })) };
    }
    return { kind: store.kind, location, version: 0, migrations: [] };
  } finally {
    await store.close();
  }
}
