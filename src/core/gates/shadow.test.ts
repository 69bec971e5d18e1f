import { describe, expect, it } from 'vitest';
import { rolloutConfig } from '../config/rollout.js';
import { shadowGates } from './shadow.js';

const T0 = Date.parse('2025-05-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('shadow gates', () => {
  const cfg = rolloutConfig({});
  const offline = { passed: true, summary: 'DR lower bound 0.71 ≥ 0.65; improvement 7 % > 5 %' };
  it('pass with offline gates, enough shadow time and decisions, and low error rates', () => {
    const g = shadowGates({ now: T0 + 2 * HOUR, shadowSince: T0, decisions: 500, errors: 2, timeouts: 1, offline }, cfg);
    expect(g.passed).toBe(true);
    expect(g.summary).toContain('shadow gates passed');
  });
  it('fail with a reason for each missing piece', () => {
    const g = shadowGates({ now: T0 + 10 * MIN, shadowSince: new Date(T0).toISOString(), decisions: 50, errors: 10, timeouts: 0, offline: null }, cfg);
    expect(g.passed).toBe(false);
    for (const s of ['offline gates: not evaluated', 'shadow ran 10 min of 60 min', '50 of 100 decisions', 'error rate 10/50']) expect(g.summary).toContain(s);
  });
});
