/**
 * Prometheus metrics of the decision service, in a registry of its own (never prom-client's
 * global one). Counters are read from the engine's own counters at scrape time, so the request
 * path does no metrics bookkeeping beyond one histogram observation.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionEngine } from '../services/decisions/engine.js';
import type { IngestLedger, StateStore } from '../store/port.js';
import type { RolloutService } from '../services/rollout/state.js';
import { AlertKind, alertCounts } from '../services/monitoring/alerts.js';

/** Numeric code of each rollout stage for the `umbra_rollout_stage` gauge. */
export const STAGE_CODE: Record<string, number> = { production: 0, registered: 1, shadow: 2, canary: 3, paused: 4, rolled_back: 5, aborted: 6, rejected: 7, retired: 8 };

export interface ServerMetrics {
  registry: Registry;
  /** Stop the event-loop delay monitor. */
  close(): void;
  decideSeconds: Histogram<'served_by'>;
  httpErrors: Counter<'code'>;
}

/** The metrics of one decision service, read from its engine, store and rollout at scrape time. */
export function createMetrics(deps: { engine: DecisionEngine; store: IngestLedger & StateStore; rollout: RolloutService; valueEstimates: () => Record<string, number | null> }): ServerMetrics {
  const registry = new Registry();
  const { engine, store, rollout } = deps;
  const decideSeconds = new Histogram({ name: 'umbra_decide_duration_seconds', help: 'Time to answer POST /v1/decide inside the server.', labelNames: ['served_by'] as const, buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05], registers: [registry] });
  const httpErrors = new Counter({ name: 'umbra_http_errors_total', help: 'Requests answered with an error, by stable error code.', labelNames: ['code'] as const, registers: [registry] });
  /** A gauge of one label, set afresh at each scrape from the (label value, number) pairs `read` gives. */
  const labelledGauge = (name: string, help: string, label: string, read: () => Iterable<readonly [string, number]>): void => {
    new Gauge({
      name,
      help,
      labelNames: [label],
      registers: [registry],
      collect() {
        this.reset();
        for (const [value, n] of read()) this.set({ [label]: value }, n);
      },
    });
  };
  new Gauge({
    name: 'umbra_decisions_total',
    help: 'Decisions answered, by slice and by who served them.',
    labelNames: ['slice', 'served_by'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [slice, n] of Object.entries(engine.stats.bySlice)) this.set({ slice, served_by: '' }, n);
      for (const [sb, n] of Object.entries(engine.stats.byServedBy)) this.set({ slice: '', served_by: sb }, n);
    },
  });
  labelledGauge('umbra_fallbacks_total', 'Decisions answered with the baseline because of a failure, by reason.', 'reason', () => Object.entries(engine.stats.fallbacks));
  new Gauge({
    name: 'umbra_outcomes_total',
    help: 'Outcomes received on POST /v1/outcome.',
    registers: [registry],
    collect() {
      this.set(engine.stats.outcomes);
    },
  });
  new Counter({
    name: 'umbra_alerts_total',
    help: 'Alerts raised by any Umbra process on this store (rolled_back, drift, shadow_failure, ingest_errors, gate_failed, stage_changed), by kind.',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      try {
        const counts = await alertCounts(store);
        this.reset();
        // every known kind from 0, so the first alert of a kind is an increase Prometheus can see
        for (const kind of new Set([...Object.values(AlertKind), ...Object.keys(counts)])) this.inc({ kind }, counts[kind] ?? 0);
      } catch {
        /* a scrape must not fail because the store is busy; the counter keeps its last values */
      }
    },
  });
  labelledGauge('umbra_shadow_events_total', 'Shadow scoring: scored, dropped (queue full), shed (CPU share), errors, timeouts.', 'result', () => {
    const s = engine.shadow.stats;
    return (['scored', 'dropped', 'shed', 'errors', 'timeouts'] as const).map((k) => [k, s[k]]);
  });
  new Gauge({
    name: 'umbra_decision_log_events_total',
    help: 'Decision-log writes: logged, dropped (buffer full), errors (store failures).',
    labelNames: ['result'] as const,
    registers: [registry],
    collect() {
      this.set({ result: 'logged' }, engine.stats.logged);
      this.set({ result: 'dropped' }, engine.stats.logDropped);
      this.set({ result: 'errors' }, engine.stats.logErrors);
    },
  });
  new Gauge({
    name: 'umbra_quarantined_lines',
    help: 'Quarantined telemetry lines in the store, by reason code.',
    labelNames: ['reason'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const [reason, n] of Object.entries(await store.quarantineCounts())) this.set({ reason }, n);
      } catch {
        /* a scrape must not fail because the store is busy */
      }
    },
  });
  new Gauge({
    name: 'umbra_rollout_stage',
    help: 'Rollout stage of the candidate (0 production/none, 1 registered, 2 shadow, 3 canary, 4 paused, 5 rolled_back, 6 aborted, 7 rejected, 8 retired).',
    registers: [registry],
    async collect() {
      try {
        this.set(STAGE_CODE[(await rollout.status()).stage] ?? -1);
      } catch {
        this.set(-1);
      }
    },
  });
  new Gauge({
    name: 'umbra_audit_verified',
    help: 'Whether the rollout audit log verified at its last check (1), or not (0: only the baseline serves).',
    registers: [registry],
    async collect() {
      try {
        await rollout.state();
      } catch {
        /* the last verdict stands */
      }
      this.set(rollout.trusted ? 1 : 0);
    },
  });
  new Gauge({
    name: 'umbra_rollout_canary_weight_ratio',
    help: 'Share of sticky keys on the canary slice.',
    registers: [registry],
    async collect() {
      try {
        this.set((await rollout.status()).canaryWeight);
      } catch {
        /* keep the last value */
      }
    },
  });
  labelledGauge('umbra_policy_value_estimate', 'Latest policy value estimates (mean reward in [0, 1]) for production and the shadow candidate.', 'policy', () =>
    Object.entries(deps.valueEstimates()).filter((e): e is [string, number] => e[1] !== null),
  );
  // How long the event loop was blocked: anything here delays every request in flight.
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  new Gauge({
    name: 'umbra_event_loop_delay_seconds',
    help: 'Delay of the event loop of the decision service since the previous scrape (p50, p99, max).',
    labelNames: ['quantile'] as const,
    registers: [registry],
    collect() {
      // The monitor samples every 10 ms and reports the time between samples: the delay is what exceeds 10 ms.
      const over = (ns: number): number => Math.max(0, ns / 1e9 - 0.01);
      this.set({ quantile: '0.5' }, over(loopDelay.percentile(50)));
      this.set({ quantile: '0.99' }, over(loopDelay.percentile(99)));
      this.set({ quantile: 'max' }, over(loopDelay.max));
      loopDelay.reset();
    },
  });
  return { registry, decideSeconds, httpErrors, close: () => loopDelay.disable() };
}
