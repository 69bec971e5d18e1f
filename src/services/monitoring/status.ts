/**
 * Status and the dashboard snapshot, computed from the store so every process (the server, the
 * CLI's `monitor`, `rollout status`) shows the same truth. Reads are bounded to a recent window of
 * decisions so the cost does not grow with the age of the store. No raw user text is read or shown.
 */
import { BASELINE_POLICY_VERSION } from '../../core/api.js';
import { KPI_NAMES, SEED_BASELINE, SEED_TARGET, type Kpis } from '../../core/events.js';
import type { RewardFunction } from '../../core/reward.js';
import type { Settings } from '../../core/settings.js';
import { KpiAccumulator } from '../../core/telemetry/kpis.js';
import { evaluateOffPolicy, type LoggedSample } from '../../core/ope/index.js';
import { rolloutStatus, type AuditRecord, type RolloutState } from '../../core/rollout/index.js';
import { offlineOfEvaluation, selectionsOfEvaluation, type DashboardSnapshot } from '../../core/dashboard.js';
import type { Episode, EventReader, IngestLedger, ShadowLog, StateStore } from '../../store/port.js';
import type { RolloutService } from '../rollout/state.js';
import { parseServedTag } from '../rollout/served-tag.js';
import { readShadowStats } from '../shadow/stats.js';
import { recentAlerts, type Alert } from './alerts.js';
import type { Bundles } from '../artifacts/bundles.js';

/** The fields of `GET /v1/status` and `umbra rollout status --json`. */
export interface StatusReport {
  stage: string;
  champion: string;
  candidate: string | null;
  canaryWeight: number;
  previousChampions: string[];
  since: string;
  kpis: Kpis;
  /** Episodes behind the KPIs. */
  kpiWindow: number;
}

/** What status reads: the recent episodes, shadow records, ingest counts and the shared state. */
export type StatusStore = EventReader & ShadowLog & IngestLedger & StateStore;

export interface StatusSources {
  store: StatusStore;
  rollout: RolloutService;
  settings: Settings;
  /** The bundles, to show the model selection behind the policy in flight. */
  bundles?: Pick<Bundles, 'read'>;
  /** Decisions (of the KPI point) in the recent window. @default 20000 */
  window?: number;
  now?: () => number;
}

/** The most recent episodes of a point (bounded window), oldest first. */
async function recentEpisodes(src: StatusSources, point = 'route'): Promise<Episode[]> {
  const window = src.window ?? 20_000;
  const counts = await src.store.counts();
  const afterSeq = Math.max(0, counts.decisions - window * Math.max(1, Object.keys(counts.byPoint).length));
  const out: Episode[] = [];
  for await (const ep of src.store.episodes({ point, afterSeq, now: (src.now ?? Date.now)(), reward: src.settings.reward })) out.push(ep);
  return out.length > window ? out.slice(out.length - window) : out;
}

function kpisOf(eps: readonly Episode[], reward: RewardFunction): Kpis {
  const acc = new KpiAccumulator(reward);
  for (const e of eps) acc.add({ outcome: e.event.outcome ?? {}, reward: e.reward });
  return acc.result().kpis;
}

/** Status: rollout stage and KPIs of the recent window. */
export async function buildStatus(src: StatusSources): Promise<StatusReport & { episodes: Episode[]; state: RolloutState }> {
  const state = await src.rollout.state();
  const st = rolloutStatus(state);
  const eps = await recentEpisodes(src);
  return { ...st, kpis: kpisOf(eps, src.settings.reward), kpiWindow: eps.length, episodes: eps, state };
}

/** Time buckets of a series of episodes. */
function buckets(eps: readonly Episode[], n: number): { t: number; items: Episode[] }[] {
  if (eps.length === 0) return [];
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const e of eps) {
    const t = Date.parse(e.event.ts);
    if (t < t0) t0 = t;
    if (t > t1) t1 = t;
  }
  const span = Math.max(1, t1 - t0);
  const k = Math.max(1, Math.min(n, Math.ceil(eps.length / 50)));
  const out = Array.from({ length: k }, (_, i) => ({ t: (t0 + ((i + 1) * span) / k) / 1000, items: [] as Episode[] }));
  for (const e of eps) {
    const i = Math.max(0, Math.min(k - 1, Math.floor(((Date.parse(e.event.ts) - t0) / span) * k)));
    out[i]!.items.push(e);
  }
  // Empty buckets stay: their values are null, so charts show a gap instead of a line across it.
  return out;
}

/** Logged samples of production episodes against a shadow candidate's records. */
async function shadowSamples(store: ShadowLog, candidate: string, eps: readonly Episode[]): Promise<Map<string, LoggedSample>> {
  const byId = new Map<string, LoggedSample>();
  const want = new Map(eps.map((e) => [e.event.id, e] as const));
  const first = eps[0];
  if (!first) return byId;
  for await (const s of store.shadowByCandidate(candidate)) {
    const ep = want.get(s.record.id);
    if (!ep) continue;
    const actions = ep.event.actions;
    const action = actions.indexOf(ep.event.action);
    if (action < 0) continue;
    byId.set(s.record.id, {
      reward: ep.reward,
      action,
      loggingProb: ep.event.propensity,
      ...(ep.event.probs ? { loggingProbs: actions.map((a) => ep.event.probs![a] ?? 0) } : {}),
      targetProbs: actions.map((a) => s.record.probs[a] ?? 0),
      ...(ep.event.baseline !== undefined ? { baseline: actions.indexOf(ep.event.baseline) } : {}),
      defaulted: ep.defaulted,
    });
  }
  return byId;
}

/** The dashboard snapshot (see src/core/dashboard.ts). */
export async function buildSnapshot(src: StatusSources & { alerts?: readonly Alert[]; uptimeS?: number; extra?: { shadowDropped?: number; fallbacks?: number } }): Promise<DashboardSnapshot> {
  const status = await buildStatus(src);
  const { episodes, state } = status;
  const now = (src.now ?? Date.now)();
  const shadowCand = state.candidate !== null && ['shadow', 'canary', 'paused'].includes(state.versions[state.candidate]?.stage ?? '') ? state.candidate : null;

  // KPI trends and the value series over time buckets.
  const bs = buckets(episodes, 24);
  const trend: Record<string, [number, number][]> = Object.fromEntries(KPI_NAMES.map((k) => [k, []]));
  const value: DashboardSnapshot['value'] = { t: [], production: [], productionLo: [], productionHi: [], shadow: [], shadowLo: [], shadowHi: [] };
  const samples = shadowCand ? await shadowSamples(src.store, shadowCand, episodes) : new Map<string, LoggedSample>();
  for (const b of bs) {
    const k = b.items.length > 0 ? kpisOf(b.items, src.settings.reward) : null;
    if (k !== null) for (const name of KPI_NAMES) if (k[name] !== null) trend[name]!.push([b.t, k[name]!]);
    const prod = b.items.filter((e) => {
      const tag = parseServedTag(e.event.policy);
      return tag === undefined || tag.slice !== 'canary';
    });
    const n = prod.length;
    const mean = n > 0 ? prod.reduce((s, e) => s + e.reward, 0) / n : null;
    const sd = n > 1 && mean !== null ? Math.sqrt(prod.reduce((s, e) => s + (e.reward - mean) ** 2, 0) / (n - 1)) : null;
    value.t.push(b.t);
    value.production.push(mean);
    value.productionLo.push(mean !== null && sd !== null ? Math.max(0, mean - (1.96 * sd) / Math.sqrt(n)) : null);
    value.productionHi.push(mean !== null && sd !== null ? Math.min(1, mean + (1.96 * sd) / Math.sqrt(n)) : null);
    const ss = b.items.map((e) => samples.get(e.event.id)).filter((x): x is LoggedSample => x !== undefined);
    const est = ss.length >= 20 ? evaluateOffPolicy(ss, { estimators: ['snips'] }).estimates.snips : undefined;
    value.shadow.push(est?.value ?? null);
    value.shadowLo.push(est?.ci?.[0] ?? null);
    value.shadowHi.push(est?.ci?.[1] ?? null);
  }

  // Overall diagnostics and agreement of the shadow candidate.
  let diagnostics: DashboardSnapshot['diagnostics'] = { ess: null, supportDeficit: null, maxWeight: null, n: null };
  let agreement: number | null = null;
  if (samples.size > 0) {
    const rep = evaluateOffPolicy(samples.values(), { estimators: ['snips'] });
    diagnostics = { ess: rep.diagnostics.ess, supportDeficit: rep.diagnostics.supportDeficit, maxWeight: rep.diagnostics.maxWeight, n: rep.n };
    agreement = rep.diagnostics.agreementRate;
  }

  // Action distributions per slice.
  const slices: Record<string, Record<string, number>> = { production: {}, canary: {}, control: {}, shadow: {} };
  for (const e of episodes) {
    const tag = parseServedTag(e.event.policy);
    const slice = tag?.slice ?? 'production';
    const m = (slices[slice] ??= {});
    m[e.event.action] = (m[e.event.action] ?? 0) + 1;
  }
  if (shadowCand) {
    for await (const s of src.store.shadowByCandidate(shadowCand)) slices.shadow![s.record.action] = (slices.shadow![s.record.action] ?? 0) + 1;
  }

  const alertList = src.alerts ?? (await recentAlerts(src.store));
  const inFlight = status.candidate !== null && ['registered', 'shadow', 'canary', 'paused'].includes(state.versions[status.candidate]?.stage ?? '');
  const history = (await src.rollout.history()).slice(-50).reverse().map((r: AuditRecord) => ({ seq: r.seq, ts: r.ts, event: r.event, from: r.from, to: r.to, actor: r.actor, reason: r.reason || null, policy: r.version }));
  const counts = await src.store.counts();
  const quarantine = await src.store.quarantineCounts();
  const shadowStats = await readShadowStats(src.store);
  return {
    ts: new Date(now).toISOString(),
    status: {
      stage: status.stage,
      champion: status.champion === BASELINE_POLICY_VERSION ? 'baseline' : status.champion,
      candidate: status.candidate,
      canaryWeight: status.canaryWeight,
      uptimeS: src.uptimeS ?? 0,
      candidateInFlight: inFlight,
      production: productionHealth(src, alertList, now, status.champion),
    },
    kpis: KPI_NAMES.map((name) => ({ name, baseline: SEED_BASELINE[name], now: status.kpis[name], target: SEED_TARGET[name], trend: trend[name] ?? [] })),
    value,
    slices,
    agreement,
    diagnostics,
    counts: {
      decisions: counts.decisions,
      quarantined: { total: counts.quarantined, byReason: quarantine },
      // One measure everywhere (dashboard, monitor, shadow status): decisions the candidate scored in
      // the shadow, summed over every scoring process (the service and the shadow controller).
      shadowScored: status.candidate === null ? 0 : (shadowStats[status.candidate]?.scored ?? 0),
      shadowDropped: src.extra?.shadowDropped ?? 0,
      fallbacks: src.extra?.fallbacks ?? 0,
    },
    history,
    alerts: alertList.slice(0, 20).map((a) => ({ ts: a.ts, kind: a.kind, severity: a.severity, message: a.message })),
    selection: selectionInFlight(src, status.candidate ?? (status.champion === BASELINE_POLICY_VERSION ? null : status.champion)),
    offline: offlineEvaluation(src, inFlight ? status.candidate : null, status.candidate, status.champion === BASELINE_POLICY_VERSION ? null : status.champion),
  };
}

/** Alert kinds that speak of production itself (not of a candidate). */
const PRODUCTION_ALERTS = new Set(['drift', 'audit_untrusted']);
/** How long a critical production alert marks production as degraded. */
const DEGRADED_FOR_MS = 15 * 60_000;

/** Production's own health (see DashboardSnapshotSchema): never a candidate's fate. */
function productionHealth(src: StatusSources, alerts: readonly Alert[], now: number, champion: string): DashboardSnapshot['status']['production'] {
  const audit = src.rollout.audit;
  if (audit !== undefined && !audit.ok) return { health: 'baseline_only', reason: 'the audit log does not verify: only the caller\'s own rules serve until it does' };
  const recent = alerts.find((a) => PRODUCTION_ALERTS.has(a.kind) && (a.severity === 'critical' || a.kind === 'drift') && now - Date.parse(a.ts) < DEGRADED_FOR_MS);
  if (recent !== undefined) return { health: 'degraded', reason: `${recent.kind} at ${recent.ts}: ${recent.message}` };
  const who = champion === BASELINE_POLICY_VERSION ? 'the caller\'s own rules' : champion;
  return { health: 'healthy', reason: `${who} serving production; no production alert in the last 15 minutes` };
}

/** The offline evaluation of the candidate in flight, else the last candidate, else the champion. */
function offlineEvaluation(src: StatusSources, inFlight: string | null, last: string | null, champion: string | null): DashboardSnapshot['offline'] {
  if (src.bundles === undefined) return null;
  const tries: [string | null, 'candidate' | 'last_candidate' | 'champion'][] = [
    [inFlight, 'candidate'],
    [inFlight === null ? last : null, 'last_candidate'],
    [champion, 'champion'],
  ];
  for (const [version, of] of tries) {
    if (version === null) continue;
    try {
      const points = offlineOfEvaluation(src.bundles.read(version).evaluation);
      if (Object.keys(points).length > 0) return { version, of, points };
    } catch {
      /* no bundle (the baseline, a foreign id): try the next */
    }
  }
  return null;
}

/** The model selection recorded in the bundle of `version` (null without one, or when it records none). */
function selectionInFlight(src: StatusSources, version: string | null): DashboardSnapshot['selection'] {
  if (version === null || src.bundles === undefined) return null;
  try {
    const points = selectionsOfEvaluation(src.bundles.read(version).evaluation);
    return Object.keys(points).length > 0 ? { version, points } : null;
  } catch {
    return null; // a missing or unreadable bundle shows as "no selection", never as an error of the page
  }
}
