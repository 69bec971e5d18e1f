/**
 * The demo's settings stay honest: they compile under the real config schema, keep the production
 * canary weight, automatic mode and the exploration floor, and the KPI table prints every KPI with
 * missing values shown as such rather than as zeros.
 */
import { describe, expect, it } from 'vitest';
import { compileConfig } from '../core/config/index.js';
import { KPI_NAMES, SEED_BASELINE, SEED_TARGET } from '../core/events.js';
import { PhaseBudget, demoConfig, kpiTable, type DemoKpiRow } from './demo.js';

describe('demoConfig', () => {
  for (const quick of [false, true]) {
    it(`compiles and keeps the 5 % canary, auto mode and the 5 % floor (quick=${quick})`, () => {
      const c = compileConfig(demoConfig(quick));
      expect(c.rollout.canary_weight).toBe(0.05);
      expect(c.rollout.mode).toBe('auto');
      expect(c.server.exploration_floor).toBe(0.05);
      // rollbacks stay possible: hard breakers and guardrails are on
      expect(c.rollout.guardrails.success_rate.enabled).toBe(true);
      expect(c.rollout.guardrails.success_rate.floor_abs).toBe(0.01);
      expect(c.rollout.hard_breakers.max_error_rate).toBe(0.05);
      // the canary needs a few hundred decisions per slice, never a handful
      expect(c.rollout.canary_min_decisions_per_slice).toBeGreaterThanOrEqual(200);
      expect(c.policies.default.conservative.enabled).toBe(true);
    });
  }
});

describe('kpiTable', () => {
  it('prints one row per KPI with units, and "-" where nothing was measured', () => {
    const rows: DemoKpiRow[] = KPI_NAMES.map((name) => ({ name, seedBaseline: SEED_BASELINE[name], rules: name === 'p95LatencyMs' ? 9596.4 : 0.5, umbra: name === 'cacheHitRate' ? null : 0.75, seedTarget: SEED_TARGET[name] }));
    const lines = kpiTable(rows).split('\n');
    expect(lines).toHaveLength(2 + KPI_NAMES.length);
    const row = (n: string): string => lines.find((l) => l.startsWith(n))!;
    expect(row('p95LatencyMs')).toContain('9580 ms');
    expect(row('p95LatencyMs')).toContain('9596 ms');
    expect(row('successRate')).toContain('83.0 %');
    expect(row('successRate')).toContain('75.0 %');
    expect(row('policyValue')).toContain('0.750');
    expect(row('cacheHitRate').split(/\s{2,}/)).toContain('-');
    // columns line up: every line has the same width
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('PhaseBudget', () => {
  it('ends a phase at its nominal length only once the traffic delivered its decisions, and always at the cap', () => {
    const answered = { n: 100 };
    const b = new PhaseBudget(answered, 50_000, 15_000, 200_000);
    const t0 = Date.now();
    expect(b.spent(t0 + 10_000)).toBe(false);
    // nominal length reached, but a loaded machine delivered only half the decisions
    answered.n += 7_500;
    expect(b.spent(t0 + 60_000)).toBe(false);
    answered.n += 7_500;
    expect(b.spent(t0 + 60_000)).toBe(true);
    // enough decisions early do not end it before the nominal length
    expect(b.spent(t0 + 40_000)).toBe(false);
    // the hard cap ends it however little traffic came
    const slow = new PhaseBudget({ n: 0 }, 50_000, 15_000, 200_000);
    expect(slow.spent(Date.now() + 199_000)).toBe(false);
    expect(slow.spent(Date.now() + 200_001)).toBe(true);
  });
});
