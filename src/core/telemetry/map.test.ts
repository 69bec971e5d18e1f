import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../events.js';
import { DecisionEventSchema } from '../events.js';
import { createRun } from '../sim/engine.js';
import { aliceTurn as simAliceTurn } from '../sim/format.js';
import { deriveText } from '../text.js';
import { compileMapOptions, detectShape, mapRecord } from './map.js';
import type { Mapped, TurnFact } from './types.js';

const opts = compileMapOptions();

/** The turn event of spec/alice.md. */
function aliceTurn(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    v: '1',
    ts: '2025-09-04T10:15:42.123456Z',
    trace_id: '0b6c7d1e-2f4a-4c59-9e61-7a3d2b8c9f10',
    session_id: 'sess-42',
    route: 'planner',
    e2e_first_ms: 1843,
    e2e_full_ms: 1843,
    ram_peak_mb: { proc_mb: 212.4, sys_mb: 11873.9 },
    tool_calls: [{ name: 'weather.lookup', normalized_name: 'other', ok: true, klass: null, lat_ms: 120.5 }],
    rag: { top_k: 0, hits: 0, llm_model: 'qwen2.5:3b-instruct-q4_K_M', planner_schema_ok: true, repair_used: false, circuit_open: false, fallback_used: false, fallback_reason: null, blocked_by_guardian: false, tokens_used: 87 },
    energy_wh: 0.0031,
    guardian_state: 'NORMAL',
    pii_masked: true,
    consent_scopes: ['basic_logging'],
    input_text: 'Vad blir vädret i Göteborg imorgon?',
    output_text: '{"tool":"weather.lookup"}',
    lang: 'sv',
    security: { system_prompt_sha256: '9f1c2ab0' },
    ...over,
  };
}

const decisions = (m: Mapped[]): DecisionEvent[] => m.flatMap((x) => (x.kind === 'decision' ? [x.event] : []));
const turnOf = (m: Mapped[]): TurnFact | undefined => m.flatMap((x) => (x.kind === 'turn' ? [x.fact] : []))[0];
const kinds = (m: Mapped[]): string[] => m.map((x) => (x.kind === 'quarantine' ? `quarantine:${x.reason}` : x.kind === 'warning' ? `warning:${x.code}` : x.kind));
const route = (m: Mapped[]): DecisionEvent | undefined => decisions(m).find((d) => d.point === 'route');

describe('plausibility bounds', () => {
  it('drop a latency of 1.2e32 ms in Alice turns and flat records with a warning, and refuse it in canonical events', () => {
    const m = mapRecord(aliceTurn({ e2e_full_ms: 1.2e32, e2e_first_ms: 1.2e32 }), opts);
    expect(kinds(m)).toContain('warning:implausible_dropped');
    expect(route(m)!.outcome?.latency_ms).toBeUndefined();
    expect(route(m)!.outcome?.success).toBe(true);
    const canonical = { v: 1, id: 'c1', ts: '2025-09-04T10:15:42Z', point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner'], action: 'micro', outcome: { success: true, latency_ms: 1.2e32 } };
    const q = mapRecord(canonical, opts);
    expect(kinds(q)).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ ...canonical, outcome: { cost_usd: 1e6 } }, opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ ...canonical, outcome: { latency_ms: 86_400_000, cost_usd: 1000 } }, opts))).toEqual(['decision']);
  });

  it('hash long free text under any key of a canonical event and never keep it raw', () => {
    const secret = 'Jag heter Anna Svensson och bor på Storgatan 12 i Västerås, ring mig på 070-1234567';
    const m = mapRecord({ v: 1, id: 'c2', ts: '2025-09-04T10:15:42Z', point: 'route', context: { query: secret, user_text: secret, lang: 'sv' }, actions: ['micro', 'planner'], action: 'micro' }, opts);
    const d = decisions(m)[0]!;
    expect(JSON.stringify(d)).not.toContain('Svensson');
    expect(d.context).toMatchObject({ lang: 'sv', query_len: secret.length, user_text_len: secret.length });
  });
});

describe('Alice turn events', () => {
  it('become a route decision with request-only context and derived outcome signals', () => {
    const m = mapRecord(aliceTurn(), opts);
    expect(kinds(m)).toEqual(['turn', 'decision']);
    const d = route(m)!;
    expect(DecisionEventSchema.safeParse(d).success).toBe(true);
    expect(d).toMatchObject({
      v: 1,
      id: '0b6c7d1e-2f4a-4c59-9e61-7a3d2b8c9f10',
      ts: '2025-09-04T10:15:42.123Z',
      point: 'route',
      actions: ['micro', 'planner', 'deep'],
      action: 'planner',
      policy: 'rules@alice',
      baseline: 'planner',
    });
    expect(d.propensity).toBeUndefined();
    expect(d.outcome).toEqual({ success: true, guard_flag: false, tool_ok: true, latency_ms: 1843, cost_usd: (87 / 1000) * 0.006 });
    const text = deriveText('text', 'Vad blir vädret i Göteborg imorgon?');
    expect(d.context).toEqual({ ...text, lang: 'sv', guardian_state: 'NORMAL', hour: 10, weekday: 4, session_depth: null });
    // Raw text is never stored by default, and nothing measured after the decision is context.
    expect(JSON.stringify(d)).not.toContain('Göteborg');
    for (const k of Object.keys(d.context)) expect(k).not.toMatch(/latency|cost|success|tool_ok|route|e2e|output/);
    expect(turnOf(m)).toEqual({ id: d.id, ts: d.ts, route: 'planner', session: 'sess-42', outcome: d.outcome });
  });

  it('keeps the raw text only when the config says so', () => {
    const d = route(mapRecord(aliceTurn(), compileMapOptions({ store_text: true })))!;
    expect(d.context.text).toBe('Vad blir vädret i Göteborg imorgon?');
    expect(d.context.text_tokens).toBe(deriveText('text', 'Vad blir vädret i Göteborg imorgon?').text_tokens);
  });

  it('gives turns with routes outside the actions only a KPI turn fact', () => {
    for (const r of ['fallback', 'error', 'memory', 'forced-by-admin']) {
      const m = mapRecord(aliceTurn({ route: r }), opts);
      expect(kinds(m)).toEqual(['turn']);
      expect(turnOf(m)).toMatchObject({ route: r, outcome: { success: false } });
    }
  });

  it('derives success from route, fallback, schema, guardian and every tool call', () => {
    const s = (over: Record<string, unknown>): boolean | undefined => turnOf(mapRecord(aliceTurn(over), opts))?.outcome.success;
    expect(s({})).toBe(true);
    expect(s({ rag: { fallback_used: true } })).toBe(false);
    expect(s({ rag: { planner_schema_ok: false } })).toBe(false);
    expect(s({ rag: { planner_schema_ok: null } })).toBe(true);
    expect(s({ rag: { blocked_by_guardian: true } })).toBe(false);
    expect(s({ rag: null, tool_calls: [] })).toBe(true);
    expect(s({ tool_calls: [{ name: 'a', ok: true }, { name: 'b', ok: false }] })).toBe(false);
    const blocked = turnOf(mapRecord(aliceTurn({ rag: { blocked_by_guardian: true } }), opts))!;
    expect(blocked.outcome.guard_flag).toBe(true);
  });

  it('reads tool_ok from the first call, latency, cost and cache signals by the documented rules', () => {
    const o = (over: Record<string, unknown>) => turnOf(mapRecord(aliceTurn(over), opts))!.outcome;
    expect(o({ tool_calls: [{ name: 'a', ok: false }, { name: 'b', ok: true }] }).tool_ok).toBe(false);
    expect(o({ tool_calls: [] }).tool_ok).toBeUndefined();
    expect(o({ tool_calls: [{ name: 'a' }] }).tool_ok).toBeUndefined();
    expect(o({ e2e_full_ms: undefined, e2e_first_ms: 700 }).latency_ms).toBe(700);
    expect(o({ e2e_full_ms: 0, e2e_first_ms: 700 }).latency_ms).toBe(0);
    expect(o({ rag: {} }).cost_usd).toBeUndefined();
    expect(o({ route: 'deep', rag: { tokens_used: 500 } }).cost_usd).toBeCloseTo(0.005, 12);
    expect(o({ route: 'micro', rag: { tokens_used: 0 } }).cost_usd).toBe(0);
    expect(o({ route: 'fallback', rag: { tokens_used: 100 } }).cost_usd).toBeUndefined();
    expect(o({}).cache_hit).toBeUndefined();
    expect(o({ rag: { cache_hit: true } }).cache_hit).toBe(true);
    expect(o({ cache_hit: false, rag: { cache_hit: true } }).cache_hit).toBe(false);
    const priced = compileMapOptions({ price_per_1k_tokens: { planner: 1 } });
    expect(turnOf(mapRecord(aliceTurn(), priced))!.outcome.cost_usd).toBeCloseTo(0.087, 12);
  });

  it('gives a tool decision only when the intent is known, over the intent catalog', () => {
    expect(decisions(mapRecord(aliceTurn(), opts)).map((d) => d.point)).toEqual(['route']);
    const m = mapRecord(aliceTurn({ intent: 'weather' }), opts);
    const tool = decisions(m).find((d) => d.point === 'tool')!;
    expect(DecisionEventSchema.safeParse(tool).success).toBe(true);
    expect(tool).toMatchObject({ id: '0b6c7d1e-2f4a-4c59-9e61-7a3d2b8c9f10#tool', actions: ['weather.lookup', 'location.get'], action: 'weather.lookup', baseline: 'weather.lookup', outcome: { success: true, tool_ok: true } });
    expect(tool.context).toMatchObject({ route: 'planner', intent: 'weather' });
    expect(route(m)!.context.intent).toBe('weather');
    const other = decisions(mapRecord(aliceTurn({ intent: 'weather', tool_calls: [{ name: 'calendar', ok: true }] }), opts)).find((d) => d.point === 'tool')!;
    expect(other.actions).toEqual(['weather.lookup', 'location.get', 'calendar']);
    const unknown = decisions(mapRecord(aliceTurn({ intent: 'smalltalk' }), opts)).find((d) => d.point === 'tool')!;
    expect(unknown.actions).toEqual(['weather.lookup']);
    expect(decisions(mapRecord(aliceTurn({ intent: 'weather', tool_calls: [] }), opts)).map((d) => d.point)).toEqual(['route']);
  });

  it('infers the intent from the tool only when configured, and a top-level intent always wins', () => {
    const infer = compileMapOptions({ infer_intent_from_tool: true });
    expect(route(mapRecord(aliceTurn(), infer))!.context.intent).toBe('weather');
    expect(route(mapRecord(aliceTurn({ intent: 'search' }), infer))!.context.intent).toBe('search');
  });

  it('gives a cache decision when the line says whether the cache was used', () => {
    const c = (v: unknown) => decisions(mapRecord(aliceTurn({ cache_used: v, cache_hit: true }), opts)).find((d) => d.point === 'cache');
    expect(c(true)).toMatchObject({ id: '0b6c7d1e-2f4a-4c59-9e61-7a3d2b8c9f10#cache', actions: ['use', 'bypass'], action: 'use', outcome: { cache_hit: true, success: true, latency_ms: 1843 } });
    expect(c(false)?.action).toBe('bypass');
    expect(c('maybe')).toBeUndefined();
    expect(decisions(mapRecord(aliceTurn({ cache_decision: 'bypass' }), opts)).find((d) => d.point === 'cache')?.action).toBe('bypass');
  });

  it('honours a logged propensity in (0, 1], drops and counts anything else', () => {
    expect(route(mapRecord(aliceTurn({ route_propensity: 0.25 }), opts))!.propensity).toBe(0.25);
    expect(route(mapRecord(aliceTurn({ propensity: 1 }), opts))!.propensity).toBe(1);
    for (const bad of [0, 1.5, -0.1, 'x', true]) {
      const m = mapRecord(aliceTurn({ route_propensity: bad }), opts);
      expect(route(m)!.propensity).toBeUndefined();
      expect(kinds(m)).toContain('warning:propensity_dropped');
    }
  });

  it('gives the cache decision what the cache rule looks at: route, similarity and age', () => {
    const cache = (over: Record<string, unknown>) => decisions(mapRecord(aliceTurn({ cache_used: true, ...over }), opts)).find((d) => d.point === 'cache')!;
    const c = cache({ cache_similarity: 0.93, cache_age_s: 420 });
    expect(c.context).toMatchObject({ route: 'planner', cache_similarity: 0.93, cache_age_s: 420, lang: 'sv', guardian_state: 'NORMAL' });
    expect(c.context.text_tokens).toBe(route(mapRecord(aliceTurn(), opts))!.context.text_tokens);
    expect(cache({}).context).toMatchObject({ route: 'planner', cache_similarity: null, cache_age_s: null });
    expect(cache({ cache_similarity: 'high', cache_age_s: Number.NaN }).context).toMatchObject({ cache_similarity: null, cache_age_s: null });
    expect(cache({ cache_similarity: 0 }).context.cache_similarity).toBe(0);
    // Request-only: the route decision's context does not get the cache fields.
    expect(route(mapRecord(aliceTurn({ cache_used: true, cache_similarity: 0.5 }), opts))!.context).not.toHaveProperty('cache_similarity');
  });

  it("maps the rule's own choices as baselines of route, tool and cache decisions", () => {
    const m = decisions(mapRecord(aliceTurn({ intent: 'weather', cache_used: false, rule_route: 'deep', rule_tool: 'location.get', rule_cache: 'use' }), opts));
    expect(Object.fromEntries(m.map((d) => [d.point, d.baseline]))).toEqual({ route: 'deep', tool: 'location.get', cache: 'use' });
    const bad = decisions(mapRecord(aliceTurn({ intent: 'weather', cache_used: false, rule_route: 'fallback', rule_tool: 'calendar', rule_cache: 'maybe' }), opts));
    expect(Object.fromEntries(bad.map((d) => [d.point, d.baseline]))).toEqual({ route: 'planner', tool: 'weather.lookup', cache: 'bypass' });
  });

  describe('logged propensities and action distributions of route, tool and cache decisions', () => {
    const annotated = (over: Record<string, unknown> = {}) =>
      mapRecord(
        aliceTurn({
          intent: 'weather',
          cache_used: true,
          route_propensity: 0.6,
          route_probs: { micro: 0.3, planner: 0.6, deep: 0.1 },
          tool_propensity: 0.8,
          tool_probs: { 'weather.lookup': 0.8, 'location.get': 0.2 },
          cache_propensity: 0.7,
          cache_probs: { use: 0.7, bypass: 0.3 },
          ...over,
        }),
        opts,
      );
    const byPoint = (m: Mapped[]) => Object.fromEntries(decisions(m).map((d) => [d.point, d]));

    it('are kept when valid, and every decision passes the decision-log schema', () => {
      const m = annotated();
      expect(kinds(m).filter((k) => k.startsWith('warning'))).toEqual([]);
      const d = byPoint(m);
      expect(d.route).toMatchObject({ propensity: 0.6, probs: { micro: 0.3, planner: 0.6, deep: 0.1 } });
      expect(d.tool).toMatchObject({ propensity: 0.8, probs: { 'weather.lookup': 0.8, 'location.get': 0.2 } });
      expect(d.cache).toMatchObject({ propensity: 0.7, probs: { use: 0.7, bypass: 0.3 } });
      for (const e of decisions(m)) expect(DecisionEventSchema.safeParse(e).success, e.point).toBe(true);
    });

    it('give the propensity from probs when the line has none; probs may leave actions out', () => {
      const d = byPoint(annotated({ tool_propensity: undefined, cache_propensity: null, cache_probs: { use: 1 } }));
      expect(d.tool).toMatchObject({ propensity: 0.8 });
      expect(d.cache).toMatchObject({ propensity: 1, probs: { use: 1 } });
    });

    it('drop and count a propensity of 0, above 1 or not a number (and then its probs too)', () => {
      for (const [key, probsKey, point] of [
        ['route_propensity', 'route_probs', 'route'],
        ['tool_propensity', 'tool_probs', 'tool'],
        ['cache_propensity', 'cache_probs', 'cache'],
      ] as const) {
        for (const bad of [0, 1.5, -0.1, 'x', true, Number.NaN]) {
          const m = annotated({ [key]: bad });
          const d = byPoint(m)[point]!;
          expect(d.propensity, `${key}=${String(bad)}`).toBeUndefined();
          expect(d.probs, `${probsKey} after ${key}=${String(bad)}`).toBeUndefined();
          expect(kinds(m).filter((k) => k.startsWith('warning'))).toEqual(['warning:propensity_dropped', 'warning:probs_dropped']);
          expect(d.action).toBeDefined();
        }
      }
    });

    it('drop and count probs that are not a distribution over the actions agreeing with the propensity', () => {
      const badProbs: [string, unknown][] = [
        ['not an object', [0.5, 0.5]],
        ['does not sum to 1', { use: 0.7, bypass: 0.2 }],
        ['names another action', { use: 0.7, later: 0.3 }],
        ['a value out of [0, 1]', { use: 1.7, bypass: -0.7 }],
        ['a value not a number', { use: 0.7, bypass: '0.3' }],
        ['disagrees with the propensity', { use: 0.6, bypass: 0.4 }],
      ];
      for (const [why, probs] of badProbs) {
        const m = annotated({ cache_probs: probs });
        const d = byPoint(m).cache!;
        expect(d.probs, why).toBeUndefined();
        expect(d.propensity, why).toBe(0.7);
        expect(kinds(m).filter((k) => k.startsWith('warning')), why).toEqual(['warning:probs_dropped']);
      }
      // The served action must have positive probability (here without a propensity to compare).
      const zero = annotated({ cache_propensity: undefined, cache_probs: { use: 0, bypass: 1 } });
      expect(byPoint(zero).cache).not.toHaveProperty('propensity');
      expect(kinds(zero)).toContain('warning:probs_dropped');
      // route_probs over the route actions only.
      const r = annotated({ route_probs: { micro: 0.3, planner: 0.6, fallback: 0.1 } });
      expect(byPoint(r).route!.probs).toBeUndefined();
      expect(byPoint(r).route!.propensity).toBe(0.6);
    });
  });

  it('takes baseline and policy from the line when valid', () => {
    expect(route(mapRecord(aliceTurn({ baseline: 'deep' }), opts))!.baseline).toBe('deep');
    expect(route(mapRecord(aliceTurn({ rule_route: 'micro' }), opts))!.baseline).toBe('micro');
    expect(route(mapRecord(aliceTurn({ baseline: 'fallback' }), opts))!.baseline).toBe('planner');
    expect(route(mapRecord(aliceTurn({ policy: 'rules@alice-2' }), opts))!.policy).toBe('rules@alice-2');
  });

  it('quarantines turns without a usable id, timestamp or route', () => {
    expect(kinds(mapRecord(aliceTurn({ trace_id: '' }), opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord(aliceTurn({ trace_id: 'x'.repeat(251) }), opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord(aliceTurn({ ts: 'yesterday' }), opts))).toEqual(['quarantine:bad_timestamp']);
    expect(kinds(mapRecord(aliceTurn({ ts: undefined }), opts))).toEqual(['quarantine:bad_timestamp']);
    expect(kinds(mapRecord(aliceTurn({ route: 3 }), opts))).toEqual(['quarantine:schema_invalid']);
  });

  it('computes hour and weekday exactly as the UTC calendar does (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2200, 0, 1) }), (ms) => {
        const d = route(mapRecord(aliceTurn({ ts: ms }), opts))!;
        const date = new Date(ms);
        expect([d.context.hour, d.context.weekday]).toEqual([date.getUTCHours(), date.getUTCDay()]);
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it('reads hour and weekday in UTC, and session-less turns carry no session', () => {
    const d = route(mapRecord(aliceTurn({ ts: '2025-09-07T23:30:00+02:00', session_id: undefined }), opts))!;
    expect(d.ts).toBe('2025-09-07T21:30:00.000Z');
    expect(d.context).toMatchObject({ hour: 21, weekday: 0, session_depth: null });
    expect(turnOf(mapRecord(aliceTurn({ session_id: null }), opts))!.session).toBeUndefined();
  });
});

describe('feedback events', () => {
  const fb = (explicit: unknown) => mapRecord({ v: '1', kind: 'feedback', trace_id: 't1', explicit }, opts);
  const updates = (feedback: number) => [
    { kind: 'outcome', update: { id: 't1', outcome: { feedback } } },
    { kind: 'outcome', update: { id: 't1#tool', outcome: { feedback }, companion: true } },
    { kind: 'outcome', update: { id: 't1#cache', outcome: { feedback }, companion: true } },
  ];
  it('become an outcome update of the route decision and companion updates of the tool and cache decisions', () => {
    expect(fb({ thumbs_up: true, comment: null })).toEqual(updates(1));
    expect(fb({ thumbs_up: false })).toEqual(updates(-1));
    expect(fb({ thumbs_up: null })).toEqual(updates(0));
    expect(fb({ comment: 'meh' })).toEqual(updates(0));
    const timed = mapRecord({ kind: 'feedback', trace_id: 't1', ts: '2025-09-04T10:16:00Z', explicit: { thumbs_up: true } }, opts);
    expect(timed.map((m) => (m.kind === 'outcome' ? m.update.ts : undefined))).toEqual(Array(3).fill('2025-09-04T10:16:00.000Z'));
  });
  it('quarantine broken feedback', () => {
    expect(kinds(fb('yes'))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(fb({ thumbs_up: 'yes' }))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ kind: 'feedback', explicit: { thumbs_up: true } }, opts))).toEqual(['quarantine:schema_invalid']);
  });
});

describe('flat RL records', () => {
  const base = { timestamp: '2024-09-04T10:01:00Z', intent: 'weather', route: 'planner', tool: 'weather.lookup', success: 1, latency_ms: 450, cost_usd: 0.003, cache_hit: 0, guardian_state: 'NORMAL', lang: 'sv' };

  it('become a route decision and a tool decision, with a content-hash id', () => {
    const m = mapRecord(base, opts);
    expect(kinds(m)).toEqual(['turn', 'decision', 'decision']);
    const [r, t] = decisions(m);
    expect(r).toMatchObject({ point: 'route', action: 'planner', actions: ['micro', 'planner', 'deep'], outcome: { success: true, latency_ms: 450, cost_usd: 0.003, cache_hit: false } });
    expect(r!.context).toEqual({ lang: 'sv', guardian_state: 'NORMAL', hour: 10, weekday: 3, session_depth: null, intent: 'weather' });
    expect(t).toMatchObject({ id: `${r!.id}#tool`, point: 'tool', action: 'weather.lookup', actions: ['weather.lookup', 'location.get'], context: { route: 'planner' }, outcome: { success: true } });
    expect(r!.id).toMatch(/^rl:[0-9a-f]{24}$/);
    expect(decisions(mapRecord({ ...base }, opts))[0]!.id).toBe(r!.id);
    for (const d of decisions(m)) expect(DecisionEventSchema.safeParse(d).success).toBe(true);
  });

  it('read camelCase aliases, and the same record written with aliases gets the same id', () => {
    const camel = { timestamp: base.timestamp, intent: 'weather', route: 'planner', tool: 'weather.lookup', success: true, latencyMs: 450, costUsd: 0.003, cacheHit: false, guardian_state: 'NORMAL', lang: 'sv' };
    const a = decisions(mapRecord(base, opts))[0]!;
    const b = decisions(mapRecord(camel, opts))[0]!;
    expect(b.outcome).toEqual(a.outcome);
    expect(b.id).toBe(a.id);
    const withSession = turnOf(mapRecord({ ...base, sessionId: 's-1', userId: 'u' }, opts))!;
    expect(withSession.session).toBe('s-1');
  });

  it('do not reproduce the original precedence bugs: 0 and false are values, snake_case wins', () => {
    const o = (rec: Record<string, unknown>) => decisions(mapRecord(rec, opts))[0]!.outcome!;
    expect(o({ ...base, latency_ms: 0, latencyMs: 500 }).latency_ms).toBe(0);
    expect(o({ ...base, cache_hit: 0, cacheHit: 1 }).cache_hit).toBe(false);
    expect(o({ ...base, cache_hit: false, cacheHit: true }).cache_hit).toBe(false);
    expect(o({ ...base, cost_usd: 0, costUsd: 9 }).cost_usd).toBe(0);
    expect(o({ ...base, success: 0 }).success).toBe(false);
    expect(o({ ...base, success: false, tool_success: 1 }).success).toBe(false);
    expect(o({ ...base, latency_ms: null, latencyMs: 300 }).latency_ms).toBe(300);
    expect(turnOf(mapRecord({ ...base, session_id: 'snake', sessionId: 'camel' }, opts))!.session).toBe('snake');
  });

  it('always honour a top-level intent and route', () => {
    const [r, t] = decisions(mapRecord({ ...base, route: 'deep', intent: 'calculation', tool: 'calculator' }, opts));
    expect(r!.action).toBe('deep');
    expect(r!.context.intent).toBe('calculation');
    expect(t!.actions).toEqual(['calculator', 'math.solver']);
  });

  it('accept epoch milliseconds and seconds, and ids when given', () => {
    const ms = Date.parse('2024-09-04T10:01:00Z');
    expect(decisions(mapRecord({ ...base, timestamp: ms }, opts))[0]!.ts).toBe('2024-09-04T10:01:00.000Z');
    expect(decisions(mapRecord({ ...base, timestamp: ms / 1000 }, opts))[0]!.ts).toBe('2024-09-04T10:01:00.000Z');
    expect(decisions(mapRecord({ ...base, timestamp: String(ms) }, opts))[0]!.ts).toBe('2024-09-04T10:01:00.000Z');
    expect(decisions(mapRecord({ ...base, trace_id: 'abc' }, opts))[0]!.id).toBe('abc');
    expect(decisions(mapRecord({ ...base, id: 17 }, opts))[0]!.id).toBe('17');
  });

  it('keep valid propensities and drop preference scores that are not propensities, without quarantine', () => {
    const m = mapRecord({ ...base, route_propensity: 0.6, tool_propensity: 0.3, intent_confidence: 0.91, tool_success: true }, opts);
    const [r, t] = decisions(m);
    expect(r!.propensity).toBe(0.6);
    expect(t!.propensity).toBe(0.3);
    expect(t!.outcome).toEqual({ success: true, tool_ok: true });
    expect(r!.context.intent_confidence).toBe(0.91);
    const bad = mapRecord({ ...base, route_propensity: 0, tool_propensity: 2.5 }, opts);
    expect(kinds(bad)).toEqual(['turn', 'decision', 'warning:propensity_dropped', 'decision', 'warning:propensity_dropped']);
    expect(kinds(bad).filter((k) => k === 'warning:propensity_dropped')).toHaveLength(2);
    expect(decisions(bad).every((d) => d.propensity === undefined)).toBe(true);
  });

  it('give non-routable records only a turn fact and quarantine broken ones', () => {
    expect(kinds(mapRecord({ ...base, route: 'fallback', tool: undefined }, opts))).toEqual(['turn']);
    expect(kinds(mapRecord({ ...base, timestamp: 'soon' }, opts))).toEqual(['quarantine:bad_timestamp']);
    expect(kinds(mapRecord({ ...base, timestamp: undefined }, opts))).toEqual(['quarantine:bad_timestamp']);
    expect(kinds(mapRecord({ ...base, route: 5 }, opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ ...base, id: '' }, opts))).toEqual(['quarantine:schema_invalid']);
  });
});

describe('canonical events', () => {
  const ev = { v: 1, id: 'e1', ts: '2025-09-04T10:00:00Z', context: { text: 'Hej där', lang: 'sv' }, actions: ['a', 'b'], action: 'b', propensity: 0.5 };
  it('pass through with free text expanded (raw text dropped unless configured)', () => {
    const [m] = mapRecord(ev, opts);
    expect(m).toEqual({ kind: 'decision', event: { ...ev, point: 'route', context: { lang: 'sv', ...deriveText('text', 'Hej där') } } });
    const kept = mapRecord(ev, compileMapOptions({ store_text: true }))[0]!;
    expect(kept.kind === 'decision' && kept.event.context.text).toBe('Hej där');
    const other = mapRecord({ ...ev, context: { q: 'Hej' } }, compileMapOptions({ text_keys: ['q'] }))[0]!;
    expect(other.kind === 'decision' && other.event.context.q_len).toBe(3);
  });
  it('quarantine events that break the format', () => {
    expect(kinds(mapRecord({ ...ev, action: 'c' }, opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ ...ev, propensity: 0 }, opts))).toEqual(['quarantine:schema_invalid']);
    expect(kinds(mapRecord({ ...ev, ts: 'now' }, opts))).toEqual(['quarantine:schema_invalid']);
  });
  it('outcome events become outcome updates', () => {
    expect(mapRecord({ v: 1, kind: 'outcome', id: 'e1', ts: '2025-09-04T10:00:01Z', reward: 0.5, outcome: { success: true } }, opts)).toEqual([
      { kind: 'outcome', update: { id: 'e1', ts: '2025-09-04T10:00:01Z', reward: 0.5, outcome: { success: true } } },
    ]);
    expect(kinds(mapRecord({ v: 1, kind: 'outcome', id: 'e1', ts: '2025-09-04T10:00:01Z', reward: 2 }, opts))).toEqual(['quarantine:schema_invalid']);
  });
});

describe('shapes and garbage', () => {
  it('detects shapes in the documented order', () => {
    expect(detectShape({ kind: 'feedback', trace_id: 'x', ts: 'x' })).toBe('feedback');
    expect(detectShape({ kind: 'outcome' })).toBe('outcome');
    expect(detectShape({ actions: [], trace_id: 'x', ts: 'y' })).toBe('decision');
    expect(detectShape({ trace_id: 'x', ts: 'y' })).toBe('turn');
    expect(detectShape({ trace_id: 'x', timestamp: 'y', route: 'micro' })).toBe('flat');
    expect(detectShape({ intent: 'x' })).toBe('flat');
    expect(detectShape({ hello: 1 })).toBeUndefined();
  });
  it('quarantines values that are not objects or of no known shape', () => {
    for (const v of [null, 3, 'x', [1, 2], true]) expect(kinds(mapRecord(v, opts))).toEqual(['quarantine:not_object']);
    expect(kinds(mapRecord({ hello: 'world' }, opts))).toEqual(['quarantine:unknown_shape']);
    expect(kinds(mapRecord({}, opts))).toEqual(['quarantine:unknown_shape']);
  });
  it('never throws, whatever the value (property)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.record({ trace_id: fc.anything(), ts: fc.anything(), route: fc.anything(), rag: fc.anything(), tool_calls: fc.anything(), intent: fc.anything(), input_text: fc.anything() }, { requiredKeys: [] }), fc.record({ timestamp: fc.anything(), route: fc.anything(), intent: fc.anything(), tool: fc.anything(), latency_ms: fc.anything(), route_propensity: fc.anything() }, { requiredKeys: [] })), (v) => {
        const m = mapRecord(v, opts);
        expect(m.length).toBeGreaterThan(0);
        for (const x of m) if (x.kind === 'decision') expect(DecisionEventSchema.safeParse(x.event).success).toBe(true);
      }),
      { numRuns: 500, seed: 4242 },
    );
  });
});

describe("the simulator's annotated Alice lines", () => {
  it('map to route, tool and cache decisions with their logged distributions, cache features and rule baselines', () => {
    const seed = 11;
    const eps = [...createRun({ seed, episodes: 400, endUs: Date.UTC(2025, 8, 4, 12) * 1000, exploration: 0.2 }).episodes()];
    let tools = 0;
    let caches = 0;
    for (const ep of eps) {
      const line = simAliceTurn(ep, 'always') as Record<string, unknown>;
      const m = mapRecord(JSON.parse(JSON.stringify(line)), opts);
      expect(kinds(m).filter((k) => k.startsWith('warning') || k.startsWith('quarantine')), `seed ${seed}, ${String(line.trace_id)}`).toEqual([]);
      for (const d of decisions(m)) {
        expect(DecisionEventSchema.safeParse(d).success, `seed ${seed}, ${d.id}`).toBe(true);
        expect(d.propensity, `seed ${seed}, ${d.id}`).toBeGreaterThan(0);
        if (d.point === 'tool') {
          tools++;
          expect(d.baseline).toBe(line.rule_tool);
          expect(d.probs).toEqual(line.tool_probs);
        }
        if (d.point === 'cache') {
          caches++;
          expect(d.baseline).toBe(line.rule_cache);
          expect(d.probs).toEqual(line.cache_probs);
          expect(d.context).toMatchObject({ route: line.route, cache_similarity: line.cache_similarity, cache_age_s: line.cache_age_s });
        }
      }
    }
    expect(caches).toBeGreaterThan(0);
    expect(tools).toBeGreaterThan(0);
  });
});
