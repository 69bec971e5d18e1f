import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { LiveSessions, buildSchedule, isoMicros } from './clock.js';
import { HOUR_WEIGHTS, utcHour, utcWeekday } from './world.js';

const END_US = Date.UTC(2025, 8, 4, 0) * 1000; // a Thursday, on an hour boundary

/** Upper 0.999 quantile of chi-square with 23 degrees of freedom. */
const CHI2_23_999 = 49.73;

describe('schedule', () => {
  it('keeps every timestamp inside [end - days, end), in time order, sessions in order', () => {
    const s = buildSchedule(new Rng(1), { n: 20_000, endUs: END_US, days: 7, dailyPattern: true, sessionPrefix: 's', langOf: () => 'sv' });
    let prev = -Infinity;
    const lastDepth = new Map<string, number>();
    for (let i = 0; i < s.n; i++) {
      const slot = s.slot(i);
      expect(slot.tsUs).toBeLessThan(END_US);
      expect(slot.tsUs).toBeGreaterThanOrEqual(END_US - 7 * 86_400_000_000);
      expect(slot.tsUs).toBeGreaterThanOrEqual(prev);
      prev = slot.tsUs;
      expect(slot.sessionDepth).toBe((lastDepth.get(slot.sessionId) ?? 0) + 1);
      lastDepth.set(slot.sessionId, slot.sessionDepth);
    }
  });

  // Turns of one session share an hour, so turn counts are over-dispersed; the independent draws
  // are the sessions. The chi-square test counts session starts; turn shares are checked directly.
  const hourHistograms = (seed: number, n: number, dailyPattern: boolean): { starts: number[]; turns: number[] } => {
    const s = buildSchedule(new Rng(seed), { n, endUs: END_US, days: 14, dailyPattern, sessionPrefix: 's', langOf: () => 'sv' });
    const starts = new Array<number>(24).fill(0);
    const turns = new Array<number>(24).fill(0);
    for (let i = 0; i < n; i++) {
      const slot = s.slot(i);
      const h = utcHour(slot.tsUs);
      turns[h]!++;
      if (slot.sessionDepth === 1) starts[h]!++;
    }
    return { starts, turns };
  };
  const chi2 = (hist: number[], weights: readonly number[]): number => {
    const n = hist.reduce((a, b) => a + b, 0);
    const total = weights.reduce((a, b) => a + b, 0);
    let x = 0;
    for (let h = 0; h < 24; h++) {
      const e = (n * weights[h]!) / total;
      x += (hist[h]! - e) ** 2 / e;
    }
    return x;
  };

  it('follows the hour-of-day weights (chi-square on session starts, seed 4)', () => {
    const { starts, turns } = hourHistograms(4, 200_000, true);
    expect(chi2(starts, HOUR_WEIGHTS), `seed 4, session starts per hour ${starts.join(',')}`).toBeLessThan(CHI2_23_999);
    const total = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
    for (let h = 0; h < 24; h++) expect(Math.abs(turns[h]! / 200_000 - HOUR_WEIGHTS[h]! / total), `hour ${h}`).toBeLessThan(0.004);
  });

  it('is uniform over hours without the daily pattern (chi-square, seed 2)', () => {
    const { starts } = hourHistograms(2, 100_000, false);
    expect(chi2(starts, new Array<number>(24).fill(1)), `seed 2, ${starts.join(',')}`).toBeLessThan(CHI2_23_999);
  });

  it('would notice the original bug (uniform hours) under the daily weights', () => {
    const { starts } = hourHistograms(2, 100_000, false);
    expect(chi2(starts, HOUR_WEIGHTS)).toBeGreaterThan(1000);
  });

  it('has quieter weekends', () => {
    const n = 50_000;
    const s = buildSchedule(new Rng(6), { n, endUs: END_US, days: 28, dailyPattern: true, sessionPrefix: 's', langOf: () => 'sv' });
    const byDay = new Array<number>(7).fill(0);
    for (let i = 0; i < n; i++) byDay[utcWeekday(s.slot(i).tsUs)]!++;
    expect(byDay[0]!).toBeLessThan(byDay[3]! * 0.75);
    expect(byDay[6]!).toBeLessThan(byDay[3]! * 0.8);
  });
});

describe('time helpers', () => {
  it('formats microseconds like Alice and agrees with Date', () => {
    for (const us of [0, 1_000_000_000_000_123, Date.UTC(2024, 1, 29, 23, 59, 59, 999) * 1000 + 999, END_US + 42]) {
      const ms = Math.floor(us / 1000);
      expect(isoMicros(us)).toBe(`${new Date(ms).toISOString().slice(0, 23)}${String(us - ms * 1000).padStart(3, '0')}Z`);
      expect(utcHour(us)).toBe(new Date(ms).getUTCHours());
      expect(utcWeekday(us)).toBe(new Date(ms).getUTCDay());
    }
  });
});

describe('live sessions', () => {
  it('continue recent sessions and count their depth', () => {
    const live = new LiveSessions(new Rng(1), 'l', 50, () => 'en');
    const depth = new Map<string, number>();
    let continued = 0;
    for (let i = 0; i < 2000; i++) {
      const s = live.next(1e15 + i * 5_000_000, i / 2000);
      const d = depth.get(s.sessionId) ?? 0;
      expect(s.sessionDepth).toBe(d + 1);
      if (d > 0) continued++;
      depth.set(s.sessionId, s.sessionDepth);
    }
    expect(continued).toBeGreaterThan(400);
    expect(depth.size).toBeGreaterThan(400);
  });
});
