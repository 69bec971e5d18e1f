/**
 * When requests happen. Sessions start in hour slots drawn by the hour-of-day and weekday weights
 * (or uniformly without the daily pattern), and all turns of a session stay inside their slot, so
 * the hour histogram of turns follows the weights exactly in expectation. Every timestamp lies in
 * [end − days, end): nothing is ever in the future of `end` (the original generator's bug).
 */
import type { Rng } from '../rng.js';
import type { LangGroup } from './vocabulary.js';
import { HOUR_WEIGHTS, WEEKDAY_WEIGHTS, type Slot } from './world.js';

const HOUR_US = 3_600_000_000;
const DAY_US = 24 * HOUR_US;

/** How to lay requests out in time. */
export interface ScheduleOptions {
  /** Number of requests. */
  n: number;
  /** Exclusive end of the window, microseconds since the epoch. */
  endUs: number;
  /** Length of the window in days. @default 7 */
  days: number;
  /** Follow the hour-of-day and weekday weights; else uniform in time. @default true */
  dailyPattern: boolean;
  /** Seed-derived prefix of session ids, so that runs with different seeds do not collide. */
  sessionPrefix: string;
  /** Language group of a new session starting at position t in [0, 1] of the window. */
  langOf: (rng: Rng, t: number) => LangGroup;
}

/** The turns of a run in time order, in typed arrays (a million requests fit easily). */
export class Schedule {
  readonly n: number;
  readonly startUs: number;
  readonly endUs: number;
  private readonly ts: Float64Array;
  private readonly session: Uint32Array;
  private readonly depth: Uint16Array;
  private readonly sessionUser: Uint32Array;
  private readonly sessionLang: Uint8Array;
  private readonly prefix: string;

  /** @internal built by `buildSchedule`. */
  constructor(f: { ts: Float64Array; session: Uint32Array; depth: Uint16Array; sessionUser: Uint32Array; sessionLang: Uint8Array; prefix: string; startUs: number; endUs: number }) {
    this.n = f.ts.length;
    this.ts = f.ts;
    this.session = f.session;
    this.depth = f.depth;
    this.sessionUser = f.sessionUser;
    this.sessionLang = f.sessionLang;
    this.prefix = f.prefix;
    this.startUs = f.startUs;
    this.endUs = f.endUs;
  }

  /** The i-th turn in time order. */
  slot(i: number): Slot {
    const s = this.session[i]!;
    return {
      tsUs: this.ts[i]!,
      userId: `u-${this.sessionUser[s]!}`,
      sessionId: `${this.prefix}-${s.toString(36)}`,
      sessionDepth: this.depth[i]!,
      langGroup: LANGS[this.sessionLang[s]!]!,
    };
  }

  /** Position of turn i in the window, in [0, 1). */
  position(i: number): number {
    return (this.ts[i]! - this.startUs) / (this.endUs - this.startUs);
  }
}

const LANGS: readonly LangGroup[] = ['sv', 'en', 'other'];

/** Lay out `n` turns in sessions over the window. */
export function buildSchedule(rng: Rng, o: ScheduleOptions): Schedule {
  const endUs = Math.floor(o.endUs);
  const startUs = endUs - Math.round(o.days * DAY_US);
  // Hour slots covering [startUs, endUs), clipped at both ends.
  const firstHour = Math.floor(startUs / HOUR_US) * HOUR_US;
  const slotStart: number[] = [];
  const slotEnd: number[] = [];
  const cum: number[] = [];
  let total = 0;
  for (let h = firstHour; h < endUs; h += HOUR_US) {
    const s = Math.max(h, startUs);
    const e = Math.min(h + HOUR_US, endUs);
    if (e <= s) continue;
    const date = new Date(h / 1000);
    const w = o.dailyPattern ? (HOUR_WEIGHTS[date.getUTCHours()] ?? 1) * (WEEKDAY_WEIGHTS[date.getUTCDay()] ?? 1) : 1;
    total += (w * (e - s)) / HOUR_US;
    slotStart.push(s);
    slotEnd.push(e);
    cum.push(total);
  }
  const users = Math.max(20, Math.round(o.n / 15));
  const ts = new Float64Array(o.n);
  const sessOf = new Uint32Array(o.n);
  const depthOf = new Uint16Array(o.n);
  const sessionUser: number[] = [];
  const sessionLang: number[] = [];
  let i = 0;
  let s = 0;
  while (i < o.n) {
    // Slot by weight (binary search in the cumulative weights).
    const target = rng.next() * total;
    let lo = 0;
    let hi = cum.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cum[mid]! > target) hi = mid;
      else lo = mid + 1;
    }
    const a = slotStart[lo]!;
    const b = slotEnd[lo]!;
    // Turns per session: geometric with mean 2.5; gaps of tens of seconds.
    const k = Math.min(o.n - i, 1 + Math.floor(Math.log(1 - rng.next()) / Math.log(0.6)));
    const gaps: number[] = [0];
    let span = 0;
    for (let j = 1; j < k; j++) {
      const g = (5 + -Math.log(1 - rng.next()) * 40) * 1_000_000;
      gaps.push(g);
      span += g;
    }
    const room = b - a - 1;
    const squeeze = span > room * 0.9 ? (room * 0.9) / span : 1;
    const start = a + rng.next() * (room - span * squeeze);
    let t = start;
    const user = Math.floor(users * rng.next() * rng.next());
    sessionUser.push(user);
    sessionLang.push(LANGS.indexOf(o.langOf(rng, (start - startUs) / (endUs - startUs))));
    for (let j = 0; j < k; j++) {
      t += gaps[j]! * squeeze;
      ts[i] = Math.min(b - 1, Math.floor(t));
      sessOf[i] = s;
      depthOf[i] = Math.min(65535, j + 1);
      i++;
    }
    s++;
  }
  // Time order; a session's turns keep their order (stable sort on equal times).
  const idx = new Uint32Array(o.n);
  for (let j = 0; j < o.n; j++) idx[j] = j;
  idx.sort((x, y) => ts[x]! - ts[y]! || x - y);
  const ts2 = new Float64Array(o.n);
  const sess2 = new Uint32Array(o.n);
  const depth2 = new Uint16Array(o.n);
  for (let j = 0; j < o.n; j++) {
    const k = idx[j]!;
    ts2[j] = ts[k]!;
    sess2[j] = sessOf[k]!;
    depth2[j] = depthOf[k]!;
  }
  return new Schedule({
    ts: ts2,
    session: sess2,
    depth: depth2,
    sessionUser: Uint32Array.from(sessionUser),
    sessionLang: Uint8Array.from(sessionLang),
    prefix: o.sessionPrefix,
    startUs,
    endUs,
  });
}

const P2 = Array.from({ length: 100 }, (_, i) => (i < 10 ? `0${i}` : `${i}`));

/** ISO-8601 UTC with microseconds, as Alice writes it (`2025-09-04T10:15:42.123456Z`). */
export function isoMicros(tsUs: number): string {
  const us = Math.floor(tsUs);
  const days = Math.floor(us / 86_400_000_000);
  let rest = us - days * 86_400_000_000;
  const hh = Math.floor(rest / 3_600_000_000);
  rest -= hh * 3_600_000_000;
  const mm = Math.floor(rest / 60_000_000);
  rest -= mm * 60_000_000;
  const ss = Math.floor(rest / 1_000_000);
  const frac = rest - ss * 1_000_000;
  // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${P2[m]}-${P2[d]}T${P2[hh]}:${P2[mm]}:${P2[ss]}.${String(frac).padStart(6, '0')}Z`;
}

/**
 * Sessions for a live stream (`umbra simulate`): each new request continues a recent session of
 * the same user or starts a new one, so session depth and sticky keys behave as in production.
 */
export class LiveSessions {
  private readonly rng: Rng;
  private readonly prefix: string;
  private readonly users: number;
  private readonly langOf: (rng: Rng, t: number) => LangGroup;
  private readonly active: { id: string; user: number; lang: LangGroup; depth: number; maxDepth: number; lastUs: number }[] = [];
  private count = 0;

  constructor(rng: Rng, prefix: string, users: number, langOf: (rng: Rng, t: number) => LangGroup) {
    this.rng = rng;
    this.prefix = prefix;
    this.users = Math.max(1, Math.floor(users));
    this.langOf = langOf;
  }

  /** The slot of the next request at `tsUs`; `t` in [0, 1] is the position in the run. */
  next(tsUs: number, t: number): Slot {
    // Sessions idle for ten simulated minutes, or at their length, are over.
    let w = 0;
    for (const s of this.active) if (tsUs - s.lastUs <= 600_000_000 && s.depth < s.maxDepth) this.active[w++] = s;
    this.active.length = w;
    const u = this.rng.next();
    let s = w > 0 && u < 0.6 ? this.active[this.rng.int(w)] : undefined;
    if (s === undefined) {
      const maxDepth = 1 + Math.floor(Math.log(1 - this.rng.next()) / Math.log(0.6));
      s = { id: `${this.prefix}-${(this.count++).toString(36)}`, user: Math.floor(this.users * this.rng.next() * this.rng.next()), lang: this.langOf(this.rng, t), depth: 0, maxDepth, lastUs: tsUs };
      this.active.push(s);
    }
    s.depth++;
    s.lastUs = tsUs;
    return { tsUs, userId: `u-${s.user}`, sessionId: s.id, sessionDepth: s.depth, langGroup: s.lang };
  }
}
