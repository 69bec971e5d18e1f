/**
 * The drift watch after 100 %: the champion's production reward stream fed to a Page-Hinkley or
 * CUSUM detector (src/core/stats/drift.ts), one detector per champion, alerts with their numbers.
 * Pure: state and rewards in, new state and alerts out.
 */
import type { RolloutConfig } from '../config/rollout.js';
import { Cusum, PageHinkley, type CusumState, type DriftSignal, type PageHinkleyState } from '../stats/drift.js';

const fmt = (x: number, digits = 4): string => (Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : x > 0 ? '+∞' : '−∞');

/** A drift alert on the production reward stream. */
export interface DriftAlert {
  kind: 'drift';
  /** ISO time of the alert. */
  at: string;
  /** The champion whose reward stream drifted. */
  version: string;
  detector: 'page_hinkley' | 'cusum';
  direction: 'up' | 'down';
  statistic: number;
  threshold: number;
  /** Events since the detector (re)started. */
  n: number;
  /** The reward level before the change. */
  reference: number;
  message: string;
}

/** State of the drift monitor (plain JSON): one detector per champion. */
export interface DriftMonitorState {
  version: string;
  detector: 'page_hinkley' | 'cusum';
  pageHinkley: PageHinkleyState | null;
  cusum: CusumState | null;
  /** Rewards seen for this champion. */
  events: number;
  alerts: number;
}

/**
 * Feed production rewards of the champion `version` to the drift detector; returns the new state
 * and any alerts. A new champion (or a changed detector) starts a fresh detector.
 */
export function updateDrift(
  state: DriftMonitorState | null,
  rewards: readonly number[],
  ctx: { now: number; version: string },
  cfg: RolloutConfig,
): { state: DriftMonitorState; alerts: DriftAlert[] } {
  const d = cfg.drift;
  const fresh = state === null || state.version !== ctx.version || state.detector !== d.detector;
  const s: DriftMonitorState = fresh ? { version: ctx.version, detector: d.detector, pageHinkley: null, cusum: null, events: 0, alerts: 0 } : { ...state };
  const at = new Date(ctx.now).toISOString();
  const alerts: DriftAlert[] = [];
  const emit = (sig: DriftSignal): void => {
    alerts.push({
      kind: 'drift',
      at,
      version: ctx.version,
      detector: d.detector,
      direction: sig.direction,
      statistic: sig.statistic,
      threshold: sig.threshold,
      n: sig.n,
      reference: sig.reference,
      message: `drift on ${ctx.version}: reward stream moved ${sig.direction} from about ${fmt(sig.reference, 3)} (${d.detector === 'page_hinkley' ? 'Page-Hinkley' : 'CUSUM'} ${fmt(sig.statistic, 3)} > ${fmt(sig.threshold, 3)} after ${sig.n} events)`,
    });
  };
  const detector =
    d.detector === 'page_hinkley'
      ? new PageHinkley({ delta: d.delta, lambda: d.lambda, minSamples: d.min_samples, direction: d.direction, resetOnAlarm: true }, s.pageHinkley ?? undefined)
      : new Cusum({ k: d.cusum_k, h: d.cusum_h, burnIn: d.cusum_burn_in, direction: d.direction, resetOnAlarm: true }, s.cusum ?? undefined);
  for (const r of rewards) {
    if (!Number.isFinite(r)) continue;
    s.events += 1;
    const sig = detector.update(r);
    if (sig !== null) emit(sig);
  }
  if (detector instanceof PageHinkley) s.pageHinkley = detector.state;
  else s.cusum = detector.state;
  s.alerts += alerts.length;
  return { state: s, alerts };
}
