import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { Cusum, PageHinkley, type CusumParams, type PageHinkleyParams } from './drift.js';

const PH: PageHinkleyParams = { delta: 0.02, lambda: 40, minSamples: 100, direction: 'down', resetOnAlarm: true };
const CUSUM: CusumParams = { k: 0.05, h: 25, burnIn: 2000, direction: 'down', resetOnAlarm: true };

/**
 * A bounded, success-driven reward like the default one: near 0.9 on success, near 0.1 otherwise,
 * so its mean is 0.1 + 0.8 · pSuccess (0.66 at 0.7; 0.56 at 0.575, a 10-point drop). sd about 0.4.
 */
function reward(rng: Rng, pSuccess: number): number {
  return rng.next() < pSuccess ? 0.8 + 0.2 * rng.next() : 0.2 * rng.next();
}

/** Alarms raised over `n` stationary events. */
function alarmsOver<T>(det: { update(x: number): T | null }, rng: Rng, n: number): number {
  let alarms = 0;
  for (let i = 0; i < n; i++) if (det.update(reward(rng, 0.7)) !== null) alarms++;
  return alarms;
}

describe('Page-Hinkley', () => {
  it('stays quiet on 50,000 stationary rewards (20 seeds)', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed);
      expect(alarmsOver(new PageHinkley(PH), rng, 50_000), `seed ${seed}`).toBe(0);
    }
  });

  it('detects a 10-point drop of the mean reward within 1,500 events (20 seeds; median about 530), pointing down', () => {
    const delays: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const rng = new Rng(seed, 1);
      const ph = new PageHinkley(PH);
      for (let i = 0; i < 5000; i++) ph.update(reward(rng, 0.7));
      let at = -1;
      for (let i = 0; i < 1500 && at < 0; i++) {
        const s = ph.update(reward(rng, 0.575));
        if (s !== null) {
          at = i;
          expect(s.direction).toBe('down');
          expect(s.statistic).toBeGreaterThan(s.threshold);
        }
      }
      expect(at, `seed ${seed}`).toBeGreaterThanOrEqual(0);
      delays.push(at + 1);
    }
    delays.sort((a, b) => a - b);
    console.log(`[measured] Page-Hinkley (δ 0.02, λ 40): 10-point reward drop detected after median ${delays[10]} / max ${delays[19]} events (20 seeds); 0 alarms over 20 × 50,000 stationary events`);
  });

  it('resumes from persisted JSON state exactly', () => {
    const rng = new Rng(9);
    const xs = Array.from({ length: 3000 }, (_, i) => reward(rng, i < 1500 ? 0.7 : 0.5));
    const whole = new PageHinkley(PH);
    const alarmsWhole = xs.map((x) => whole.update(x) !== null);
    let part = new PageHinkley(PH);
    const alarmsPart = xs.map((x, i) => {
      if (i % 700 === 0) part = new PageHinkley(PH, JSON.parse(JSON.stringify(part.state)) as PageHinkley['state']);
      return part.update(x) !== null;
    });
    expect(alarmsPart).toEqual(alarmsWhole);
    expect(alarmsWhole.some(Boolean)).toBe(true);
    expect(whole.update(Number.NaN)).toBeNull();
  });

  it('watches only the configured direction', () => {
    const rng = new Rng(4);
    const ph = new PageHinkley({ ...PH, direction: 'down' });
    for (let i = 0; i < 2000; i++) ph.update(reward(rng, 0.5));
    for (let i = 0; i < 3000; i++) expect(ph.update(reward(rng, 0.8))).toBeNull();
    const both = new PageHinkley({ ...PH, direction: 'both' });
    for (let i = 0; i < 2000; i++) both.update(reward(rng, 0.5));
    let up = false;
    for (let i = 0; i < 3000 && !up; i++) up = both.update(reward(rng, 0.8))?.direction === 'up';
    expect(up).toBe(true);
  });
});

describe('CUSUM', () => {
  it('stays quiet on a stationary stream and detects a 10-point drop within 2,000 events (expected about 500)', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new Rng(seed, 2);
      const c = new Cusum(CUSUM);
      expect(alarmsOver(c, rng, 30_000), `seed ${seed}`).toBe(0);
      let at = -1;
      for (let i = 0; i < 2000 && at < 0; i++) if (c.update(reward(rng, 0.575)) !== null) at = i;
      expect(at, `seed ${seed}`).toBeGreaterThanOrEqual(0);
      expect(c.state.n).toBe(0);
      expect(c.state.alarms).toBe(1);
    }
  });
});
