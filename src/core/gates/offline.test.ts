import { describe, expect, it } from 'vitest';
import { PromotionCriteriaSchema } from '../config/sections.js';
import { evaluateOffPolicy } from '../ope/estimators.js';
import { evaluateOfflineGates as evaluateGates, lowerBound, type PromotionCriteria } from './offline.js';
import type { LoggedSample } from '../ope/types.js';

/**
 * 2,000 events, a uniform logger over two actions. Action 0 earns 1 on 9 events in 10, action 1
 * earns 0.5. The candidate always takes action 0: its value is 0.9; the log's own value is 0.7.
 */
function log(success = false): LoggedSample[] {
  const out: LoggedSample[] = [];
  for (let i = 0; i < 2000; i++) {
    const a = i % 2;
    const r = a === 0 ? (Math.floor(i / 2) % 10 === 0 ? 0 : 1) : success ? 1 : 0.5;
    out.push({ action: a, reward: r, loggingProb: 0.5, loggingProbs: [0.5, 0.5], targetProbs: [1, 0], predicted: [0.9, 0.5] });
  }
  return out;
}

const criteria = (over: Partial<PromotionCriteria> = {}): PromotionCriteria => PromotionCriteriaSchema.parse({ estimator: 'ips', ...over });

describe('promotion gates', () => {
  const rep = evaluateOffPolicy(log());
  const succ = evaluateOffPolicy(log(true).map((s) => ({ ...s, reward: s.action === 0 ? (s.reward === 1 ? 1 : 0) : 1 })));

  it('measure exactly what the criteria name (normal interval, 95 %)', () => {
    const g = evaluateGates({ candidate: rep, candidateSuccess: succ, newEpisodes: 150 }, criteria(), { interval: 'normal' });
    const by = Object.fromEntries(g.gates.map((x) => [x.name, x]));
    const ips = rep.estimates.ips!;
    expect(ips.value).toBeCloseTo(0.9, 12);
    expect(rep.logging.value).toBeCloseTo(0.7, 12);
    const lb = ips.value! - 1.959964 * ips.stderr!;
    expect(by.min_episodes).toMatchObject({ value: 150, threshold: 100, pass: true });
    expect(by.identified?.pass).toBe(true);
    expect(by.min_policy_value?.value).toBeCloseTo(lb, 5);
    expect(by.min_policy_value).toMatchObject({ threshold: 0.65, pass: true });
    expect(by.min_improvement_pct?.value).toBeCloseTo(((lb - 0.7) / 0.7) * 100, 3);
    expect(by.min_improvement_pct?.pass).toBe(true);
    expect(by.max_variance?.value).toBeCloseTo(ips.variance!, 15);
    expect(by.min_ess?.value).toBeCloseTo(rep.diagnostics.ess, 12);
    expect(by.max_support_deficit).toMatchObject({ value: 0, pass: true });
    // candidate success: 0.9 on action 0 (its only action), production 0.95 → drop of lb_success from 0.95
    const sLb = succ.estimates.ips!.intervals.normal![0];
    expect(by.max_success_drop?.value).toBeCloseTo(0.95 - sLb, 5);
    expect(by.max_success_drop?.pass).toBe(false);
    expect(g.pass).toBe(false);
    expect(g.verdict).toBe('hold');
    expect(g.summary).toMatch(/^HOLD: 1 of 8 gates fail — max_success_drop/);
    for (const x of g.gates) expect(x.reason.length).toBeGreaterThan(10);
  });

  it('promote when everything holds, with words', () => {
    const g = evaluateGates({ candidate: rep, candidateSuccess: rep, newEpisodes: 100 }, criteria({ max_success_drop: 0.5 }), { interval: 'normal' });
    expect(g.pass).toBe(true);
    expect(g.summary).toMatch(/^PROMOTE: all 8 gates pass/);
  });

  it('fail closed without success signals unless allowed', () => {
    const closed = evaluateGates({ candidate: rep, newEpisodes: 500 }, criteria(), { interval: 'normal' });
    const gate = closed.gates.find((x) => x.name === 'max_success_drop')!;
    expect(gate.pass).toBe(false);
    expect(gate.reason).toMatch(/cannot be checked/);
    const open = evaluateGates({ candidate: rep, newEpisodes: 500 }, criteria(), { interval: 'normal', requireSuccess: false });
    expect(open.gates.find((x) => x.name === 'max_success_drop')!.pass).toBe(true);
  });

  it('use the Bernstein lower bound by default, which is lower than the normal one', () => {
    const g = evaluateGates({ candidate: rep, candidateSuccess: rep, newEpisodes: 500 }, criteria());
    expect(g.interval).toBe('bernstein');
    const v = g.gates.find((x) => x.name === 'min_policy_value')!.value!;
    expect(v).toBeCloseTo(rep.estimates.ips!.intervals.bernstein![0], 12);
    expect(v).toBeLessThan(rep.estimates.ips!.intervals.normal![0]);
  });

  it('recompute the bound at the criteria confidence', () => {
    const ips = rep.estimates.ips!;
    const { lo, used } = lowerBound(ips, 'normal', 0.9, 0.95);
    expect(used).toBe('normal');
    expect(lo).toBeCloseTo(0.9 - 1.644854 * ips.stderr!, 5);
  });

  it('compare with an explicit production value and fail min_episodes and improvement with reasons', () => {
    const g = evaluateGates({ candidate: rep, candidateSuccess: rep, newEpisodes: 20, production: { value: 0.88 } }, criteria(), { interval: 'normal' });
    const by = Object.fromEntries(g.gates.map((x) => [x.name, x]));
    expect(by.min_episodes?.pass).toBe(false);
    expect(by.min_episodes?.reason).toMatch(/only 20 new episodes/);
    expect(by.min_improvement_pct?.pass).toBe(false);
    expect(by.min_improvement_pct?.reason).toMatch(/production's estimate 0\.8800/);
  });

  it('fail the value gates of an unidentified estimate and carry the fix', () => {
    const det = evaluateOffPolicy(
      Array.from({ length: 300 }, (_, i) => ({ action: i % 2, reward: 1, loggingProb: undefined, targetProbs: [0.5, 0.5] })),
    );
    const g = evaluateGates({ candidate: det, candidateSuccess: det, newEpisodes: 300 }, criteria());
    const by = Object.fromEntries(g.gates.map((x) => [x.name, x]));
    expect(by.identified?.pass).toBe(false);
    expect(by.identified?.reason).toMatch(/not identified.*exploration floor/);
    expect(by.min_policy_value).toMatchObject({ value: null, pass: false });
    expect(by.max_variance).toMatchObject({ value: null, pass: false });
    expect(by.max_support_deficit).toMatchObject({ value: 0.5, pass: false });
    expect(g.verdict).toBe('hold');
  });

  it('fail when the configured estimator needs a reward model that is missing', () => {
    const noModel = evaluateOffPolicy(log().map(({ predicted: _p, ...s }) => s));
    const g = evaluateGates({ candidate: noModel, candidateSuccess: noModel, newEpisodes: 500 }, criteria({ estimator: 'dr' }));
    expect(g.gates.find((x) => x.name === 'identified')!.reason).toMatch(/no reward-model predictions/);
    expect(g.pass).toBe(false);
  });
});
