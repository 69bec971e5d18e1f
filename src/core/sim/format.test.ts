import { describe, expect, it } from 'vitest';
import { DEFAULT_PRICE_PER_1K_TOKENS } from '../config/telemetry.js';
import { DecisionEventSchema, type OutcomeSignals } from '../events.js';
import { compileReward } from '../reward.js';
import { createRun, type SimEpisode } from './engine.js';
import { AliceStream, aliceTurn, aliceTurnLine, decisionLines, truthLines } from './format.js';
import { oraclePolicy } from './serving.js';

const END_US = Date.UTC(2025, 8, 4, 12) * 1000;
const ROUTES = ['micro', 'planner', 'deep'];

interface Turn {
  trace_id: string;
  route: string;
  e2e_first_ms?: number;
  e2e_full_ms?: number;
  tool_calls: { ok: boolean; name: string }[];
  rag: { fallback_used?: boolean; planner_schema_ok?: boolean | null; blocked_by_guardian?: boolean; tokens_used?: number };
  cache_hit?: boolean;
  kind?: string;
}

/** The documented derivation (Alice turn event -> outcome signals), written independently here. */
function derive(t: Turn): OutcomeSignals {
  const o: OutcomeSignals = {
    success:
      ROUTES.includes(t.route) && t.rag.fallback_used !== true && t.rag.planner_schema_ok !== false && t.rag.blocked_by_guardian !== true && !t.tool_calls.some((c) => c.ok === false),
  };
  if (t.tool_calls.length > 0) o.tool_ok = t.tool_calls[0]!.ok;
  o.latency_ms = t.e2e_full_ms ?? t.e2e_first_ms!;
  if (t.rag.tokens_used !== undefined) o.cost_usd = (t.rag.tokens_used / 1000) * DEFAULT_PRICE_PER_1K_TOKENS[t.route]!;
  if (t.cache_hit !== undefined) o.cache_hit = t.cache_hit;
  o.guard_flag = t.rag.blocked_by_guardian === true;
  return o;
}

function run(seed: number, n: number, extra: Partial<Parameters<typeof createRun>[0]> = {}): SimEpisode[] {
  return [...createRun({ seed, episodes: n, endUs: END_US, ...extra }).episodes()];
}

describe('Alice telemetry', () => {
  it('writes the turn text exactly as JSON.stringify of the turn object', () => {
    for (const ep of [...run(1, 800), ...run(2, 800, { exploration: 0.2 })]) {
      expect(aliceTurnLine(ep)).toBe(JSON.stringify(aliceTurn(ep)));
      expect(aliceTurnLine(ep, 'always')).toBe(JSON.stringify(aliceTurn(ep, 'always')));
    }
  });

  it('round-trips through the derivation contract: signals, cost, feedback and reward (seed 3)', () => {
    const rf = compileReward();
    // Exploration spreads the choices, so that the rare tool failures occur in a short run.
    const eps = run(3, 6000, { exploration: 0.3 });
    const stream = new AliceStream();
    const lines: string[] = [];
    for (const ep of eps) lines.push(...stream.push(ep));
    lines.push(...stream.flush());
    const turns = new Map<string, Turn>();
    const feedback = new Map<string, number>();
    let duplicates = 0;
    for (const line of lines) {
      const v = JSON.parse(line) as Turn & { explicit?: { thumbs_up: boolean | null } };
      if (v.kind === 'feedback') {
        expect(turns.has(v.trace_id), 'feedback comes after its turn').toBe(true);
        feedback.set(v.trace_id, v.explicit!.thumbs_up === true ? 1 : v.explicit!.thumbs_up === false ? -1 : 0);
      } else if (turns.has(v.trace_id)) {
        duplicates++;
        expect(v.tool_calls).toEqual([]);
      } else turns.set(v.trace_id, v);
    }
    expect(duplicates).toBeGreaterThan(300);
    const kinds = new Set<string>();
    let wrong = 0;
    for (const ep of eps) {
      kinds.add(ep.outcome.branch.kind);
      const o = derive(turns.get(ep.request.id)!);
      const f = feedback.get(ep.request.id);
      if (f !== undefined) o.feedback = f as -1 | 0 | 1;
      expect(o, `${ep.request.id} (${ep.outcome.branch.kind})`).toEqual(ep.outcome.signals);
      expect(rf.compute(o)).toBe(ep.reward);
      // tool_ok means the call produced what the request needed: a wrong tool's call is never ok.
      const call = turns.get(ep.request.id)!.tool_calls[0] as { ok: boolean; klass: string | null } | undefined;
      if (ep.choices.tool !== undefined && !ep.kpi.toolRight) {
        wrong++;
        expect(call?.ok).toBe(false);
        if (ep.outcome.branch.kind !== 'tool_error' && ep.outcome.branch.kind !== 'tool_timeout') expect(call?.klass).toBe('schema');
      }
      if (call?.ok === true) expect(ep.kpi.toolRight).toBe(true);
    }
    expect(wrong).toBeGreaterThan(50);
    // Every way a request can end was exercised.
    expect([...kinds].sort()).toEqual(['blocked', 'cache_good', 'cache_stale', 'model_fail', 'model_timeout', 'ok', 'tool_error', 'tool_timeout']);
  });

  it('logs propensities, rule choices and the policy only when something else than the plain rules served', () => {
    for (const ep of run(4, 200)) expect(aliceTurn(ep)).not.toHaveProperty('route_propensity');
    for (const ep of run(4, 200, { exploration: 0.05 })) {
      const t = aliceTurn(ep);
      expect(t).toMatchObject({ route_propensity: ep.route.propensity, rule_route: ep.route.baseline, cache_propensity: ep.cache.propensity, policy: ep.route.policy });
    }
  });
});

describe('canonical decision events and truth', () => {
  it('are valid decision events with raw text, exact propensities and matching truth lines (seed 5)', () => {
    const eps = run(5, 3000, { exploration: 0.05, truth: true });
    for (const ep of eps) {
      const events = decisionLines(ep).map((l) => DecisionEventSchema.parse(JSON.parse(l)));
      const truths = truthLines(ep).map((l) => JSON.parse(l) as { id: string; point: string; expected: Record<string, number> });
      expect(events.map((e) => [e.id, e.point])).toEqual(truths.map((t) => [t.id, t.point]));
      for (const [i, e] of events.entries()) {
        expect(e.context.text).toBe(ep.request.text);
        expect(e.propensity).toBe(e.probs![e.action]);
        expect(Object.keys(truths[i]!.expected).sort()).toEqual([...e.actions].sort());
        expect(e.reward).toBe(ep.reward);
      }
    }
  });

  it('gives the oracle a tool decision only when a tool is called', () => {
    for (const ep of run(6, 500, { policies: { route: oraclePolicy, cache: oraclePolicy, tool: oraclePolicy } })) {
      const points = decisionLines(ep).map((l) => (JSON.parse(l) as { point: string }).point);
      expect(points.slice(0, 2)).toEqual(['route', 'cache']);
      expect(points.includes('tool')).toBe(ep.choices.tool !== undefined);
    }
  });
});
