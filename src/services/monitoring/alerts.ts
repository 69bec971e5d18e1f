/**
 * Alerts: stage changes, gate failures, rollbacks, drift and ingest errors, sent to webhooks with
 * retries and exponential backoff, every attempt recorded. Delivery runs in the background and can
 * never block or fail the code that raised the alert.
 */
import type { AlertsConfig } from '../../core/config/alerts.js';
import type { StateStore } from '../../store/port.js';
import { StateKey, updateState } from '../state-keys.js';

/** Kinds of alerts Umbra raises. */
export const AlertKind = {
  STAGE_CHANGED: 'stage_changed',
  GATE_FAILED: 'gate_failed',
  ROLLED_BACK: 'rolled_back',
  DRIFT: 'drift',
  INGEST_ERRORS: 'ingest_errors',
  SHADOW_FAILURE: 'shadow_failure',
  /** The audit log does not verify: only the baseline serves. */
  AUDIT_UNTRUSTED: 'audit_untrusted',
  /** The audit log verifies again after it did not. */
  AUDIT_TRUSTED: 'audit_trusted',
  /** An anchor outside the store did not take the chain head. */
  ANCHOR_FAILED: 'anchor_failed',
} as const;
export type AlertKind = (typeof AlertKind)[keyof typeof AlertKind];

export interface Alert {
  id: string;
  ts: string;
  kind: string;
  severity: 'info' | 'warning' | 'critical';
  message: string;
  details?: unknown;
}

/**
 * Persist an alert into the shared state's recent list (capped), so `monitor` and the dashboard of
 * any process show it, and count it by kind (a counter that only grows, for Prometheus).
 */
export async function persistAlert(store: StateStore, a: Alert, keep = 50): Promise<void> {
  await updateState<Alert[]>(store, StateKey.RECENT_ALERTS, (cur) => [a, ...(cur ?? [])].slice(0, keep));
  await updateState<Record<string, number>>(store, StateKey.ALERT_COUNTS, (counts = {}) => ({ ...counts, [a.kind]: (counts[a.kind] ?? 0) + 1 }));
}

/** How many alerts of each kind any process raised since the store was created. */
export async function alertCounts(store: StateStore): Promise<Record<string, number>> {
  return ((await store.getState(StateKey.ALERT_COUNTS))?.value ?? {}) as Record<string, number>;
}

/** The recent alerts any process raised, newest first. */
export async function recentAlerts(store: StateStore): Promise<Alert[]> {
  return ((await store.getState(StateKey.RECENT_ALERTS))?.value ?? []) as Alert[];
}

/** One delivery attempt's record. */
export interface DeliveryRecord {
  alertId: string;
  url: string;
  attempt: number;
  ts: string;
  ok: boolean;
  status: number | null;
  error: string | null;
}

export interface AlerterOptions {
  config: AlertsConfig;
  /** Called for every raised alert (e.g. to persist it); errors are swallowed. */
  onAlert?: (a: Alert) => void;
  /** Called for every delivery attempt (e.g. to persist it); errors are swallowed. */
  onDelivery?: (d: DeliveryRecord) => void;
  /** Injectable clock and sleep for tests. */
  now?: () => Date;
  sleep?: (ms: number) => Promise<void>;
  fetch?: typeof fetch;
  /** Recent alerts kept in memory for the dashboard. @default 100 */
  keep?: number;
}

/** Raises alerts and delivers them to the configured webhooks. */
export class Alerter {
  private readonly opts: AlerterOptions;
  private readonly recent: Alert[] = [];
  private readonly inflight = new Set<Promise<void>>();
  private seq = 0;
  readonly deliveries: DeliveryRecord[] = [];

  constructor(opts: AlerterOptions) {
    this.opts = opts;
  }

  /** Raise an alert; delivery happens in the background. Returns the alert. */
  raise(kind: string, severity: Alert['severity'], message: string, details?: unknown): Alert {
    const now = (this.opts.now ?? (() => new Date()))();
    const a: Alert = { id: `${now.getTime().toString(36)}-${(this.seq++).toString(36)}`, ts: now.toISOString(), kind, severity, message, ...(details === undefined ? {} : { details }) };
    this.recent.unshift(a);
    if (this.recent.length > (this.opts.keep ?? 100)) this.recent.pop();
    try {
      this.opts.onAlert?.(a);
    } catch {
      /* persisting an alert must not break the caller */
    }
    for (const hook of this.opts.config.webhooks) {
      if (hook.kinds.length > 0 && !hook.kinds.includes(kind)) continue;
      const p = this.deliver(a, hook.url).finally(() => this.inflight.delete(p));
      this.inflight.add(p);
    }
    return a;
  }

  /** The most recent alerts, newest first. */
  latest(n = 20): Alert[] {
    return this.recent.slice(0, n);
  }

  /** Wait until every delivery in flight has finished (used at shutdown and in tests). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  private async deliver(a: Alert, url: string): Promise<void> {
    const cfg = this.opts.config;
    const doFetch = this.opts.fetch ?? fetch;
    const sleep = this.opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref()));
    const body = JSON.stringify({ source: 'umbra', alert: a });
    for (let attempt = 1; attempt <= cfg.max_attempts; attempt++) {
      let status: number | null = null;
      let error: string | null = null;
      const ctl = new AbortController();
      const timer = setTimeout(() => ctl.abort(), cfg.timeout_ms);
      try {
        const res = await doFetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: ctl.signal });
        status = res.status;
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) error = `HTTP ${res.status}`;
      } catch (e) {
        error = (e as Error).name === 'AbortError' ? `timeout after ${cfg.timeout_ms} ms` : String((e as Error).message ?? e);
      } finally {
        clearTimeout(timer);
      }
      const rec: DeliveryRecord = { alertId: a.id, url, attempt, ts: new Date().toISOString(), ok: error === null, status, error };
      this.deliveries.push(rec);
      if (this.deliveries.length > 1000) this.deliveries.shift();
      try {
        this.opts.onDelivery?.(rec);
      } catch {
        /* recording must not break delivery */
      }
      if (rec.ok) return;
      if (attempt < cfg.max_attempts) {
        const base = Math.min(cfg.max_backoff_ms, cfg.backoff_ms * 2 ** (attempt - 1));
        await sleep(base / 2 + Math.random() * (base / 2));
      }
    }
  }
}
