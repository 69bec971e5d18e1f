/**
 * Streaming change detectors for the reward stream after a policy reaches 100 %: there is no
 * control slice any more, so a slow degradation (traffic changing under the policy) can only be
 * seen as a shift of the stream against its own past. Both detectors keep O(1) plain-JSON state,
 * so a service can persist them and resume after a restart exactly where it stopped.
 *
 * - Page-Hinkley: cumulative deviation from the running mean, minus a tolerance δ per event; alarm
 *   when it rises more than λ above its running minimum. Needs no reference period.
 * - CUSUM (Page's two-sided): deviations from a reference mean learnt over a burn-in period, minus a
 *   slack k per event, clipped at zero; alarm above h.
 */

/** Which direction of change to watch: a reward drop is `down`. */
export type DriftDirection = 'up' | 'down' | 'both';

/** An alarm raised by a detector. */
export interface DriftSignal {
  /** Direction of the detected change. */
  direction: 'up' | 'down';
  /** The detector's statistic when it crossed the threshold. */
  statistic: number;
  /** The threshold it crossed. */
  threshold: number;
  /** Number of events the detector had seen since its last reset (alarm included). */
  n: number;
  /** Reference level of the stream before the change (running mean or burn-in mean). */
  reference: number;
}

/** Page-Hinkley parameters. */
export interface PageHinkleyParams {
  /** Tolerated drift per event (same unit as the values). */
  delta: number;
  /** Alarm threshold λ. */
  lambda: number;
  /** Events before any alarm may fire (the running mean needs a few values). */
  minSamples: number;
  direction: DriftDirection;
  /** Start afresh after an alarm, so that a later second change is detected too. */
  resetOnAlarm: boolean;
}

/** Page-Hinkley state (plain JSON). */
export interface PageHinkleyState {
  n: number;
  mean: number;
  /** Cumulative sums and their running minima, one pair per direction. */
  sumUp: number;
  minUp: number;
  sumDown: number;
  minDown: number;
  /** Alarms raised since the detector was created. */
  alarms: number;
}

/** A test over a stream with its parameters and a JSON state, copied in and out. */
abstract class StreamTest<P, S extends object> {
  readonly params: P;
  protected s: S;

  /** `state` is copied (a fresh one need not be). */
  constructor(params: P, state: S) {
    this.params = params;
    this.s = { ...state };
  }

  /** Copy of the state. */
  get state(): S {
    return { ...this.s };
  }
}

/** Fresh Page-Hinkley state. */
export function pageHinkleyInitial(): PageHinkleyState {
  return { n: 0, mean: 0, sumUp: 0, minUp: 0, sumDown: 0, minDown: 0, alarms: 0 };
}

/** The Page-Hinkley test over a stream; `state` is JSON and can be persisted between calls. */
export class PageHinkley extends StreamTest<PageHinkleyParams, PageHinkleyState> {
  constructor(params: PageHinkleyParams, state?: PageHinkleyState) {
    super(params, state === undefined ? pageHinkleyInitial() : state);
  }

  /** Current statistics per direction (height above the running minimum). */
  get statistics(): { up: number; down: number } {
    return { up: this.s.sumUp - this.s.minUp, down: this.s.sumDown - this.s.minDown };
  }

  /** Feed one value; returns the alarm when this value completes a detected change. Non-finite values are ignored. */
  update(x: number): DriftSignal | null {
    if (!Number.isFinite(x)) return null;
    const s = this.s;
    const p = this.params;
    const before = s.mean;
    s.n += 1;
    s.mean += (x - s.mean) / s.n;
    s.sumUp += x - s.mean - p.delta;
    s.minUp = Math.min(s.minUp, s.sumUp);
    s.sumDown += s.mean - x - p.delta;
    s.minDown = Math.min(s.minDown, s.sumDown);
    if (s.n < p.minSamples) return null;
    const up = s.sumUp - s.minUp;
    const down = s.sumDown - s.minDown;
    let signal: DriftSignal | null = null;
    if ((p.direction === 'down' || p.direction === 'both') && down > p.lambda) {
      signal = { direction: 'down', statistic: down, threshold: p.lambda, n: s.n, reference: before };
    } else if ((p.direction === 'up' || p.direction === 'both') && up > p.lambda) {
      signal = { direction: 'up', statistic: up, threshold: p.lambda, n: s.n, reference: before };
    }
    if (signal !== null) {
      const alarms = s.alarms + 1;
      this.s = p.resetOnAlarm ? { ...pageHinkleyInitial(), alarms } : { ...s, alarms };
    }
    return signal;
  }
}

/** CUSUM parameters. */
export interface CusumParams {
  /** Slack per event (same unit as the values), typically half the shift worth detecting. */
  k: number;
  /** Alarm threshold h. */
  h: number;
  /** Events used to learn the reference mean before monitoring starts. */
  burnIn: number;
  direction: DriftDirection;
  /** Start afresh (new burn-in) after an alarm. */
  resetOnAlarm: boolean;
}

/** CUSUM state (plain JSON). */
export interface CusumState {
  /** Events seen since the last reset. */
  n: number;
  /** Reference mean (learnt during burn-in, then frozen). */
  reference: number;
  sHigh: number;
  sLow: number;
  alarms: number;
}

/** Fresh CUSUM state. */
export function cusumInitial(): CusumState {
  return { n: 0, reference: 0, sHigh: 0, sLow: 0, alarms: 0 };
}

/** Page's two-sided CUSUM against a reference mean learnt over a burn-in period. */
export class Cusum extends StreamTest<CusumParams, CusumState> {
  constructor(params: CusumParams, state?: CusumState) {
    super(params, state === undefined ? cusumInitial() : state);
  }

  /** Feed one value; returns the alarm when this value completes a detected change. Non-finite values are ignored. */
  update(x: number): DriftSignal | null {
    if (!Number.isFinite(x)) return null;
    const s = this.s;
    const p = this.params;
    s.n += 1;
    if (s.n <= p.burnIn) {
      s.reference += (x - s.reference) / s.n;
      return null;
    }
    s.sHigh = Math.max(0, s.sHigh + x - s.reference - p.k);
    s.sLow = Math.max(0, s.sLow + s.reference - x - p.k);
    let signal: DriftSignal | null = null;
    if ((p.direction === 'down' || p.direction === 'both') && s.sLow > p.h) {
      signal = { direction: 'down', statistic: s.sLow, threshold: p.h, n: s.n, reference: s.reference };
    } else if ((p.direction === 'up' || p.direction === 'both') && s.sHigh > p.h) {
      signal = { direction: 'up', statistic: s.sHigh, threshold: p.h, n: s.n, reference: s.reference };
    }
    if (signal !== null) {
      const alarms = s.alarms + 1;
      this.s = p.resetOnAlarm ? { ...cusumInitial(), alarms } : { ...s, sHigh: 0, sLow: 0, alarms };
    }
    return signal;
  }
}
