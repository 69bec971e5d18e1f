import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { rolloutConfig } from '../config/rollout.js';
import { updateDrift } from './drift.js';

const T0 = Date.parse('2025-05-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('drift after 100 %', () => {
  const cfg = rolloutConfig({});
  const rewards = (rng: Rng, n: number, p: number): number[] => Array.from({ length: n }, () => (rng.next() < p ? 0.8 + 0.2 * rng.next() : 0.2 * rng.next()));

  it('raises an alert within 1,500 events of a 10-point reward drop and none on 20,000 stationary events', () => {
    for (let seed = 1; seed <= 10; seed++) {
      const rng = new Rng(seed);
      let st = updateDrift(null, [], { now: T0, version: 'c1' }, cfg).state;
      let alerts = 0;
      for (let batch = 0; batch < 40; batch++) {
        const r = updateDrift(st, rewards(rng, 500, 0.7), { now: T0 + batch * MIN, version: 'c1' }, cfg);
        st = r.state;
        alerts += r.alerts.length;
      }
      expect(alerts, `seed ${seed}: stationary`).toBe(0);
      const after = updateDrift(st, rewards(rng, 1500, 0.575), { now: T0 + HOUR, version: 'c1' }, cfg);
      expect(after.alerts.length, `seed ${seed}: drop`).toBeGreaterThanOrEqual(1);
      expect(after.alerts[0]).toMatchObject({ kind: 'drift', version: 'c1', direction: 'down', detector: 'page_hinkley' });
      expect(after.alerts[0]!.message).toContain('Page-Hinkley');
    }
  });

  it('starts a fresh detector for a new champion, and supports CUSUM', () => {
    const rng = new Rng(3);
    const a = updateDrift(null, rewards(rng, 3000, 0.7), { now: T0, version: 'a' }, cfg).state;
    const b = updateDrift(a, [0.5], { now: T0, version: 'b' }, cfg).state;
    expect(b).toMatchObject({ version: 'b', events: 1 });
    const cu = rolloutConfig({ drift: { detector: 'cusum' } });
    let st = updateDrift(null, rewards(rng, 5000, 0.7), { now: T0, version: 'a' }, cu);
    expect(st.alerts).toEqual([]);
    st = updateDrift(st.state, rewards(rng, 2000, 0.575), { now: T0, version: 'a' }, cu);
    expect(st.alerts.length).toBeGreaterThanOrEqual(1);
    expect(st.alerts[0]!.detector).toBe('cusum');
    expect(JSON.parse(JSON.stringify(st.state))).toEqual(st.state);
  });
});
