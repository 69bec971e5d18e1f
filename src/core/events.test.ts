import { describe, expect, it } from 'vitest';
import { DecisionEventSchema, OutcomeEventSchema } from './events.js';

const base = { v: 1, id: 'e1', ts: '2025-09-04T10:15:42.123Z', context: { text: 'hej', lang: 'sv', n: 3, ok: true, x: null }, actions: ['micro', 'planner', 'deep'], action: 'planner' };

describe('decision events', () => {
  it('accepts a minimal event and defaults the point to route', () => {
    const e = DecisionEventSchema.parse(base);
    expect(e.point).toBe('route');
  });
  it('accepts offsets and full distributions', () => {
    expect(DecisionEventSchema.safeParse({ ...base, ts: '2025-09-04T12:15:42+02:00', probs: { micro: 0.25, planner: 0.5, deep: 0.25 }, propensity: 0.5 }).success).toBe(true);
  });
  it.each([
    ['an action outside actions', { action: 'huge' }],
    ['duplicate actions', { actions: ['micro', 'micro'], action: 'micro' }],
    ['zero propensity', { propensity: 0 }],
    ['propensity above 1', { propensity: 1.5 }],
    ['probs not summing to 1', { probs: { micro: 0.5, planner: 0.4, deep: 0 } }],
    ['propensity disagreeing with probs', { probs: { micro: 0.5, planner: 0.5, deep: 0 }, propensity: 0.4 }],
    ['a baseline outside actions', { baseline: 'x' }],
    ['a reward above 1', { reward: 1.2 }],
    ['a timestamp without offset', { ts: '2025-09-04T10:15:42' }],
    ['an empty id', { id: '' }],
    ['an id over 256 chars', { id: 'x'.repeat(257) }],
    ['a nested context value', { context: { a: { b: 1 } } }],
    ['a negative latency', { outcome: { latency_ms: -1 } }],
    ['feedback 2', { outcome: { feedback: 2 } }],
  ])('rejects %s', (_name, patch) => {
    expect(DecisionEventSchema.safeParse({ ...base, ...patch }).success).toBe(false);
  });
});

describe('outcome events', () => {
  it('accepts reward or raw outcome', () => {
    expect(OutcomeEventSchema.safeParse({ v: 1, kind: 'outcome', id: 'e1', ts: '2025-09-04T10:15:42Z', outcome: { success: true } }).success).toBe(true);
    expect(OutcomeEventSchema.safeParse({ v: 1, kind: 'outcome', id: 'e1', ts: '2025-09-04T10:15:42Z', reward: 2 }).success).toBe(false);
  });
});
