import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecisionEventSchema, OutcomeEventSchema, ScoreInputSchema } from './events.js';
import { fastDecisionEvent, fastOutcomeEvent, fastScoreInput, plainUtcTimestamp } from './events-fast.js';
import { TimestampSchema } from './events.js';

const SEED = 20261203;

/** Values that are often valid and often a little wrong. */
const scalar = fc.oneof(fc.string({ maxLength: 3 }), fc.integer({ min: -2, max: 3 }), fc.double({ min: -0.5, max: 1.5, noNaN: true }), fc.boolean(), fc.constant(null), fc.constant(undefined));
const action = fc.constantFrom('a', 'b', 'c', '', 'd');
const timestamp = fc.oneof(
  fc.date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2100-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
  fc.constantFrom('2025-09-04T10:15:42Z', '2025-09-04T10:15:42.123456Z', '2024-02-29T00:00:00.0Z', '2023-02-29T00:00:00Z', '2025-13-01T00:00:00Z', '2025-09-04T24:00:00Z', '2025-09-04T10:15:42.Z', '2025-09-04T10:15:42z', '2025-09-04T10:15:42+02:00', '2025-09-04 10:15:42Z', '2000-02-29T23:59:59.999Z', '1900-02-29T00:00:00Z', '0000-02-29T00:00:00Z'),
);

const decisionLike = fc.record(
  {
    v: fc.oneof(fc.constant(1), fc.constant(2), fc.constant('1')),
    id: fc.oneof(fc.string({ minLength: 0, maxLength: 4 }), fc.constant('x'.repeat(257))),
    ts: timestamp,
    point: fc.oneof(fc.constant(undefined), fc.constantFrom('route', 'tool', '')),
    context: fc.oneof(fc.dictionary(fc.constantFrom('text', 'lang', 'hour', '__proto__', 'x'), scalar, { maxKeys: 4 }), fc.constant(null), fc.constant([1])),
    actions: fc.oneof(fc.array(action, { minLength: 0, maxLength: 4 }), fc.constant('a')),
    action,
    propensity: fc.oneof(fc.constant(undefined), fc.double({ min: -0.2, max: 1.2, noNaN: true }), fc.constant(0), fc.constant(1)),
    probs: fc.oneof(fc.constant(undefined), fc.dictionary(action, fc.oneof(fc.double({ min: -0.1, max: 1.1, noNaN: true }), fc.constantFrom(0, 0.25, 0.5, 1)), { maxKeys: 4 })),
    policy: fc.oneof(fc.constant(undefined), fc.constantFrom('rules', '')),
    baseline: fc.oneof(fc.constant(undefined), action),
    reward: fc.oneof(fc.constant(undefined), fc.double({ min: -0.2, max: 1.2, noNaN: true })),
    outcome: fc.oneof(
      fc.constant(undefined),
      fc.record({ latency_ms: fc.oneof(fc.double({ min: -1, max: 500, noNaN: true }), fc.constant(undefined)), success: fc.oneof(fc.boolean(), fc.constant(1)), feedback: fc.constantFrom(-1, 0, 1, 2, undefined) }, { requiredKeys: [] }),
      fc.constant({ success: true, extra: 1 }),
    ),
    extra: fc.oneof(fc.constant(undefined), fc.constant('ignored')),
  },
  { requiredKeys: [] },
);

/** A decision that is valid by construction (so the fast path must accept it). */
const validDecision = fc
  .record({
    actions: fc.uniqueArray(fc.constantFrom('micro', 'planner', 'deep', 'x'), { minLength: 1, maxLength: 4 }),
    pick: fc.nat(),
    ts: fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true }).map((d) => d.toISOString()),
    context: fc.dictionary(fc.constantFrom('text', 'lang', 'hour', 'intent'), fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 4 }),
    reward: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
  })
  .map(({ actions, pick, ts, context, reward }) => {
    const action = actions[pick % actions.length]!;
    const probs = Object.fromEntries(actions.map((a) => [a, 1 / actions.length]));
    return { v: 1, id: `id-${pick}`, ts, point: 'route', context, actions, action, propensity: 1 / actions.length, probs, baseline: actions[0], ...(reward === undefined ? {} : { reward }) };
  });

/** One small corruption of a valid event (or none), so that the generated events sit at the edges of validity. */
const corruption = fc.oneof(
  fc.constant((e: Record<string, unknown>) => e),
  fc.constantFrom(1e-7, 5e-7, 2e-6, 1e-3).map((d) => (e: Record<string, unknown>) => {
    const probs = { ...(e.probs as Record<string, number>) };
    const k = Object.keys(probs)[0]!;
    probs[k] = probs[k]! + d;
    return { ...e, probs };
  }),
  fc.constantFrom(1e-7, 3e-6).map((d) => (e: Record<string, unknown>) => ({ ...e, propensity: (e.propensity as number) + d })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, probs: { ...(e.probs as Record<string, number>), [e.action as string]: 0 } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, probs: { ...(e.probs as Record<string, number>), ghost: 0 } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, action: 'ghost' })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, actions: [...(e.actions as string[]), (e.actions as string[])[0]] })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, baseline: 'ghost' })),
  fc.constantFrom(-0.01, 1.01, 0, 1).map((r) => (e: Record<string, unknown>) => ({ ...e, reward: r })),
  fc.constantFrom(0, -0.1, 1.0000001).map((p) => (e: Record<string, unknown>) => ({ ...e, propensity: p, probs: undefined })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, outcome: { success: true, extra: 1 } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, outcome: { latency_ms: -1 } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, outcome: { feedback: 2 } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, outcome: { cache_hit: 'yes' } })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, outcome: { tool_ok: false, latency_ms: 4, success: true } })),
  fc.constantFrom(2, '1', 0).map((v) => (e: Record<string, unknown>) => ({ ...e, v })),
  fc.constantFrom('', 'x'.repeat(256), 'x'.repeat(257)).map((id) => (e: Record<string, unknown>) => ({ ...e, id })),
  fc.constantFrom('', 'tool', undefined).map((point) => (e: Record<string, unknown>) => ({ ...e, point })),
  fc.constantFrom({ a: { b: 1 } }, { a: [1] }, { a: 1.5 }, { __proto__x: 1 }).map((context) => (e: Record<string, unknown>) => ({ ...e, context })),
  fc.constantFrom('', 'rules').map((policy) => (e: Record<string, unknown>) => ({ ...e, policy })),
  fc.constantFrom('2025-09-04T10:15:42+02:00', '2025-09-04T10:15:60Z', '2023-02-29T00:00:00Z', '2025-09-04T10:15:42.Z', '2025-09-04T10:15:42').map((ts) => (e: Record<string, unknown>) => ({ ...e, ts })),
  fc.constant((e: Record<string, unknown>) => ({ ...e, extra: { nested: true } })),
);

describe('fast event checks', () => {
  it('agree with the schema at the edges of validity: same verdict where fast accepts, same output (property)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(validDecision, corruption, (valid, corrupt) => {
        const raw = JSON.stringify(corrupt(valid as Record<string, unknown>));
        const fast = fastDecisionEvent(JSON.parse(raw) as Record<string, unknown>);
        const ref = DecisionEventSchema.safeParse(JSON.parse(raw));
        if (fast !== undefined) {
          accepted++;
          expect(ref.success, `seed ${SEED}: ${raw}`).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(ref.data));
        }
      }),
      { numRuns: 6000, seed: SEED },
    );
    expect(accepted).toBeGreaterThan(500);
  });

  it('accept only what the schema accepts, and give exactly what it gives (property)', () => {
    fc.assert(
      fc.property(decisionLike, (raw) => {
        const o = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const fast = fastDecisionEvent(o);
        const ref = DecisionEventSchema.safeParse(JSON.parse(JSON.stringify(raw)));
        if (fast !== undefined) {
          expect(ref.success, `seed ${SEED}: ${JSON.stringify(raw)}`).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(ref.data));
        }
      }),
      { numRuns: 5000, seed: SEED },
    );
  });

  it('agree with the schema on score inputs: accept only what it accepts, give what it gives, and take the plain ones (property)', () => {
    const scoreLike = fc.record(
      {
        id: fc.oneof(fc.string({ minLength: 0, maxLength: 4 }), fc.constant('x'.repeat(257))),
        context: fc.oneof(fc.dictionary(fc.constantFrom('text', 'lang', 'hour', '__proto__', 'x'), scalar, { maxKeys: 4 }), fc.constant(null), fc.constant([1])),
        actions: fc.oneof(fc.array(action, { minLength: 0, maxLength: 4 }), fc.constant('a')),
        baseline: fc.oneof(fc.constant(undefined), action, fc.constant(3)),
        extra: fc.oneof(fc.constant(undefined), scalar),
      },
      { requiredKeys: [] },
    );
    let fastTaken = 0;
    fc.assert(
      fc.property(scoreLike, (raw) => {
        const fast = fastScoreInput(JSON.parse(JSON.stringify(raw)));
        const ref = ScoreInputSchema.safeParse(JSON.parse(JSON.stringify(raw)));
        if (fast !== undefined) {
          fastTaken++;
          expect(ref.success, `seed ${SEED}: ${JSON.stringify(raw)}`).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(ref.data));
        }
      }),
      { numRuns: 5000, seed: SEED },
    );
    expect(fastTaken).toBeGreaterThan(20);
    expect(fastScoreInput({ id: 'a', context: { lang: 'sv' }, actions: ['x', 'y'], baseline: 'x', note: 1 })).toEqual({ id: 'a', context: { lang: 'sv' }, actions: ['x', 'y'], baseline: 'x' });
  });

  it('take the fast path for plainly valid events', () => {
    fc.assert(
      fc.property(validDecision, (raw) => {
        const o = JSON.parse(JSON.stringify(raw)) as Record<string, unknown>;
        const fast = fastDecisionEvent(o);
        expect(fast, `seed ${SEED}: ${JSON.stringify(raw)}`).toBeDefined();
        expect(JSON.stringify(fast)).toBe(JSON.stringify(DecisionEventSchema.parse(JSON.parse(JSON.stringify(raw)))));
      }),
      { numRuns: 2000, seed: SEED },
    );
  });

  it('agree with the schema on outcome events', () => {
    fc.assert(
      fc.property(decisionLike, fc.constantFrom('outcome', 'feedback'), (raw, kind) => {
        const o = JSON.parse(JSON.stringify({ ...raw, kind })) as Record<string, unknown>;
        const fast = fastOutcomeEvent(o);
        const ref = OutcomeEventSchema.safeParse(JSON.parse(JSON.stringify({ ...raw, kind })));
        if (fast !== undefined) {
          expect(ref.success).toBe(true);
          expect(JSON.stringify(fast)).toBe(JSON.stringify(ref.data));
        }
      }),
      { numRuns: 3000, seed: SEED },
    );
    expect(fastOutcomeEvent({ v: 1, kind: 'outcome', id: 'a', ts: '2025-01-01T00:00:00.5Z', reward: 0.5, outcome: { latency_ms: 3, success: true } })).toEqual({ v: 1, kind: 'outcome', id: 'a', ts: '2025-01-01T00:00:00.5Z', reward: 0.5, outcome: { success: true, latency_ms: 3 } });
  });

  it('read timestamps exactly as the ISO-8601 schema where they answer yes', () => {
    fc.assert(
      fc.property(timestamp, (ts) => {
        if (plainUtcTimestamp(ts)) expect(TimestampSchema.safeParse(ts).success, ts).toBe(true);
      }),
      { numRuns: 3000, seed: SEED },
    );
    expect(plainUtcTimestamp('2025-09-04T10:15:42.123456Z')).toBe(true);
    expect(plainUtcTimestamp('2024-02-29T00:00:00Z')).toBe(true);
    for (const bad of ['2023-02-29T00:00:00Z', '2025-09-04T10:15:42.Z', '2025-09-04T10:15:60Z', '2025-09-04T10:15:42z']) expect(plainUtcTimestamp(bad), bad).toBe(false);
  });
});
