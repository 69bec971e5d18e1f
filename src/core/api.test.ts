import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DecideRequestSchema, parseDecideRequest } from './api.js';

/** What a parse gives, comparable across both paths: the data, or the error issues. */
function outcome(r: ReturnType<typeof DecideRequestSchema.safeParse>): unknown {
  return r.success ? { ok: r.data } : { issues: r.error.issues.map((i) => [i.path, i.message]) };
}

const str = fc.oneof(fc.constantFrom('', 'micro', 'planner', 'deep', 'route', '__proto__', 'constructor'), fc.string({ maxLength: 4 }), fc.string({ minLength: 250, maxLength: 260 }));
const value = fc.oneof(str, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined), fc.array(fc.integer(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 2 }), fc.integer(), { maxKeys: 2 }));
const actions = fc.oneof(fc.constantFrom(['micro', 'planner', 'deep'], ['micro'], ['a', 'a'], [], ['', 'x']), fc.array(str, { maxLength: 4 }), value);
const request = fc.record(
  {
    point: fc.oneof(str, value),
    context: fc.oneof(fc.dictionary(str, value, { maxKeys: 5 }), value),
    actions,
    baselineAction: fc.oneof(fc.constantFrom('micro', 'planner', 'deep', 'a'), str, value),
    stickyKey: fc.oneof(str, value),
    id: fc.oneof(str, value),
    extra: value,
  },
  { requiredKeys: [] },
);

/** Valid requests (some with optional fields), then the same with one field replaced by anything. */
const primitive = fc.oneof(fc.string({ maxLength: 6 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
const valid = fc
  .tuple(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }), fc.nat(), fc.dictionary(fc.string({ maxLength: 6 }), primitive, { maxKeys: 6 }))
  .chain(([acts, k, context]) =>
    fc.record(
      { point: fc.string({ minLength: 1, maxLength: 5 }), context: fc.constant(context), actions: fc.constant(acts), baselineAction: fc.constant(acts[k % acts.length]!), stickyKey: fc.string({ minLength: 1, maxLength: 9 }), id: fc.string({ minLength: 1, maxLength: 9 }) },
      { requiredKeys: ['context', 'actions', 'baselineAction'] },
    ),
  );
const mutated = fc.tuple(valid, fc.constantFrom('point', 'context', 'actions', 'baselineAction', 'stickyKey', 'id', 'extra'), value).map(([r, k, v]) => ({ ...r, [k]: v }));

describe('parseDecideRequest', () => {
  it('gives exactly what the schema gives, on any input', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof(valid, mutated, request, value), (body) => {
        const r = parseDecideRequest(body);
        if (r.success) accepted++;
        expect(outcome(r)).toEqual(outcome(DecideRequestSchema.safeParse(body)));
      }),
      { numRuns: 3000, seed: 20261128 },
    );
    // Both paths were exercised: valid requests as well as every kind of invalid one.
    expect(accepted).toBeGreaterThan(500);
    expect(accepted).toBeLessThan(2500);
  });

  it('takes a typical request through the fast path, with defaults, copies and no unknown keys', () => {
    const ctx = { text: 'Hej, vad blir vädret i Göteborg?', lang: 'sv', hour: 9, urgent: false, prev: null };
    const body = { context: ctx, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'user-1' };
    const r = parseDecideRequest(body);
    expect(r).toEqual({ success: true, data: { point: 'route', context: ctx, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'user-1' } });
    expect(r.success && r.data.context).not.toBe(ctx);
    expect(r.success && r.data.actions).not.toBe(body.actions);
    expect(outcome(parseDecideRequest({ ...body, baselineAction: 'nope' }))).toEqual(outcome(DecideRequestSchema.safeParse({ ...body, baselineAction: 'nope' })));
    expect(parseDecideRequest({ ...body, junk: 1 })).toEqual(DecideRequestSchema.safeParse({ ...body, junk: 1 }));
  });
});
