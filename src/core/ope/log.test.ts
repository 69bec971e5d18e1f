import { describe, expect, it } from 'vitest';
import { DecisionEventSchema, type DecisionEvent } from '../events.js';
import { Rng } from '../rng.js';
import { evaluateLog, toLoggedSample } from './log.js';

const ev = (over: Partial<DecisionEvent> & { id: string }): DecisionEvent =>
  DecisionEventSchema.parse({ v: 1, ts: '2024-01-01T00:00:00Z', context: { x: 1 }, actions: ['micro', 'planner', 'deep'], action: 'micro', ...over });

describe('toLoggedSample', () => {
  it("aligns the logger's and the target's distributions with the event's actions", () => {
    const s = toLoggedSample(ev({ id: 'a', action: 'deep', propensity: 0.2, probs: { micro: 0.5, planner: 0.3, deep: 0.2 }, baseline: 'micro' }), 0.7, { planner: 0.25, deep: 0.75 });
    if ('error' in s) throw new Error(s.error);
    expect(s.action).toBe(2);
    expect(s.loggingProb).toBe(0.2);
    expect(Array.from(s.loggingProbs!)).toEqual([0.5, 0.3, 0.2]);
    expect(Array.from(s.targetProbs)).toEqual([0, 0.25, 0.75]);
    expect(s.baseline).toBe(0);
    expect(s.reward).toBe(0.7);
  });
  it('leaves a missing propensity undefined (never 1)', () => {
    const s = toLoggedSample(ev({ id: 'b' }), 1, { micro: 1 });
    expect('error' in s ? s.error : s.loggingProb).toBeUndefined();
  });
  it('refuses a target naming an action the event does not have', () => {
    expect(toLoggedSample(ev({ id: 'c' }), 1, { huge: 1 })).toEqual({ error: expect.stringMatching(/"huge"/) });
  });
});

describe('evaluateLog', () => {
  it('cross-fits the reward model from features and evaluates reward and success', () => {
    const rng = new Rng(5);
    const events: DecisionEvent[] = [];
    const rewards: number[] = [];
    const success: boolean[] = [];
    const features: Float64Array[] = [];
    const targets: Record<string, number>[] = [];
    const acts = ['micro', 'planner', 'deep'];
    for (let i = 0; i < 600; i++) {
      const x = rng.next();
      const a = rng.int(3);
      const probs = { micro: 1 / 3, planner: 1 / 3, deep: 1 / 3 };
      events.push(ev({ id: `e${i}`, action: acts[a]!, propensity: 1 / 3, probs }));
      const p = a === 2 ? x : 0.5;
      const ok = rng.next() < p;
      rewards.push(ok ? 1 : 0);
      success.push(ok);
      features.push(Float64Array.of(1, x));
      targets.push(x > 0.5 ? { deep: 1 } : { micro: 1 });
    }
    const out = evaluateLog({ events, rewards, success, targets, features }, { folds: 4, seed: 3 });
    expect(out.actions).toEqual(acts);
    expect(out.report.n).toBe(600);
    expect(out.successN).toBe(600);
    // reward = success here, so both evaluations agree
    expect(out.success?.estimates.ips?.value).toBeCloseTo(out.report.estimates.ips!.value!, 12);
    // the true value is E[max(x, 0.5)] over x > 0.5 … = 0.5·0.5 + 0.5·0.75 = 0.625
    for (const k of ['ips', 'snips', 'dr', 'dm'] as const) {
      const e = out.report.estimates[k]!;
      expect(Math.abs(e.value! - 0.625), k).toBeLessThan(0.1);
    }
    expect(out.report.estimates.dm?.label).toBe('model-based');
  });

  it('computes no model-based estimate without features', () => {
    const e = [ev({ id: 'a', propensity: 0.5, probs: { micro: 0.5, planner: 0.5, deep: 0 } })];
    const out = evaluateLog({ events: e, rewards: [1], targets: [{ micro: 1 }] });
    expect(out.report.estimates.dm?.value).toBeNull();
    expect(out.report.estimates.ips?.value).toBe(2);
    expect(out.success).toBeUndefined();
  });
});
