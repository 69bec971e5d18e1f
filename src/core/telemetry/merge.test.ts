import { describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../events.js';
import { compileReward } from '../reward.js';
import { fillDecision, fillOutcome, fillTurn, mergeOutcome, resolveDecision } from './merge.js';

const ev = (over: Partial<DecisionEvent> = {}): DecisionEvent => ({ v: 1, id: 'a', ts: '2025-09-04T10:00:00.000Z', point: 'route', context: { lang: 'sv' }, actions: ['micro', 'deep'], action: 'micro', ...over });
const reward = compileReward({});
const t0 = Date.parse('2025-09-04T10:00:00.000Z');

describe('merge rules', () => {
  it('fill only what the first lacked; null counts as lacking; the action never changes', () => {
    expect(fillDecision(ev(), ev())).toBeUndefined();
    const f = fillDecision(ev({ context: { lang: null, hour: 3 }, outcome: { success: false } }), ev({ action: 'deep', context: { lang: 'en', hour: 4, x: 1 }, outcome: { success: true, cost_usd: 0 }, propensity: 0.5, policy: 'p', baseline: 'deep', reward: 0.3 }));
    expect(f).toEqual(ev({ context: { lang: 'en', hour: 3, x: 1 }, outcome: { success: false, cost_usd: 0 }, policy: 'p', baseline: 'deep', reward: 0.3 }));
    expect(fillDecision(ev({ baseline: 'micro' }), ev({ baseline: 'deep' }))).toBeUndefined();
    expect(fillDecision(ev(), ev({ baseline: 'nope' }))).toBeUndefined();
    expect(fillOutcome({ feedback: 0 }, { feedback: 1 })).toBeUndefined();
    expect(fillTurn({ id: 'a', ts: 'x', route: null, outcome: {} }, { id: 'a', ts: 'y', route: 'micro', intent: 'i', outcome: { success: true } })).toEqual({ id: 'a', ts: 'x', route: 'micro', intent: 'i', outcome: { success: true } });
  });

  it('merge outcome updates field by field, later wins, and count them', () => {
    const s1 = mergeOutcome(undefined, { id: 'a', outcome: { feedback: -1, success: true } });
    const s2 = mergeOutcome(s1, { id: 'a', ts: '2025-09-04T11:00:00.000Z', reward: 0.2, outcome: { feedback: 1 } });
    const s3 = mergeOutcome(s2, { id: 'a', outcome: { success: false } });
    expect(s3).toEqual({ id: 'a', ts: '2025-09-04T11:00:00.000Z', reward: 0.2, outcome: { feedback: 1, success: false }, updates: 3 });
    expect(s1.outcome).toEqual({ feedback: -1, success: true });
  });

  it('resolve rewards: explicit (event or update), computed, default after the wait, else pending', () => {
    expect(resolveDecision(ev({ reward: 0.7, outcome: { success: false } }), undefined, reward, t0)).toMatchObject({ reward: 0.7, source: 'explicit', defaulted: false });
    expect(resolveDecision(ev({ outcome: { success: true } }), mergeOutcome(undefined, { id: 'a', reward: 0.1 }), reward, t0)).toMatchObject({ reward: 0.1, source: 'explicit' });
    const c = resolveDecision(ev({ outcome: { success: true } }), mergeOutcome(undefined, { id: 'a', outcome: { feedback: -1 } }), reward, t0)!;
    expect(c.source).toBe('computed');
    expect(c.event.outcome).toEqual({ success: true, feedback: -1 });
    expect(c.reward).toBe(reward.compute({ success: true, feedback: -1 }));
    expect(resolveDecision(ev(), undefined, reward, t0 + 1000)).toBeUndefined();
    expect(resolveDecision(ev({ outcome: {} }), undefined, reward, t0 + 1000)).toBeUndefined();
    expect(resolveDecision(ev(), undefined, reward, t0 + reward.defaultAfterS * 1000)).toMatchObject({ reward: reward.defaultReward, defaulted: true, source: 'default' });
  });
});
