import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { drawFor } from '../rng.js';
import { AliceSim, createRun, type SimEpisode } from './engine.js';
import { aliceTurnLine, decisionLines } from './format.js';
import { MicroQuota, argmaxRoute, ruleCache, ruleScores, ruleTool } from './router.js';
import { BUILTIN_POLICIES, oraclePolicy, randomPolicy, rulesPolicy, withExploration, type PointQuery, type ServingPolicy } from './serving.js';
import { TOOLS_BY_INTENT } from './vocabulary.js';

const END_US = Date.UTC(2025, 8, 4, 12) * 1000;

function episodes(o: Partial<Parameters<typeof createRun>[0]> & { seed: number; episodes: number }): SimEpisode[] {
  return [...createRun({ endUs: END_US, ...o }).episodes()];
}

describe('determinism', () => {
  it('gives the same requests, choices and outcomes for a seed, seed 0 included', () => {
    for (const seed of [0, 17]) {
      const a = episodes({ seed, episodes: 3000, exploration: 0.1 }).map((ep) => aliceTurnLine(ep)).join('\n');
      const b = episodes({ seed, episodes: 3000, exploration: 0.1 }).map((ep) => aliceTurnLine(ep)).join('\n');
      expect(a === b, `seed ${seed}`).toBe(true);
    }
    const zero = episodes({ seed: 0, episodes: 50 }).map((ep) => ep.request.text);
    const one = episodes({ seed: 1, episodes: 50 }).map((ep) => ep.request.text);
    expect(zero).not.toEqual(one);
  });

  it('draws the same requests whoever serves them (common random numbers)', () => {
    const rules = episodes({ seed: 5, episodes: 500 });
    const oracle = episodes({ seed: 5, episodes: 500, policies: { route: oraclePolicy, cache: oraclePolicy, tool: oraclePolicy } });
    expect(rules.map((e) => [e.request.id, e.request.text, e.request.hidden.u])).toEqual(oracle.map((e) => [e.request.id, e.request.text, e.request.hidden.u]));
  });
});

describe('logged propensities', () => {
  it('are in (0, 1] and equal the probability production used (the router replayed independently)', () => {
    const e = 0.1;
    const eps = episodes({ seed: 21, episodes: 40_000, exploration: e });
    const quota = new MicroQuota();
    const counts = { routeBase: 0, cacheBase: 0, toolBase: 0, route: 0, cache: 0, tool: 0 };
    for (const ep of eps) {
      const req = ep.request;
      // Alice's rules, recomputed from the text and the served history alone.
      let rule = argmaxRoute(ruleScores(req.text));
      if (rule === 'micro' && quota.exceeded(req.tsUs)) rule = 'planner';
      quota.record(req.tsUs, ep.choices.route);
      // Plain checks in the loop (expect() per decision would dominate the run time).
      const bad: string[] = [];
      if (ep.route.baseline !== rule) bad.push(`route baseline ${ep.route.baseline} != ${rule}`);
      if (ep.cache.baseline !== ruleCache(req.cacheSimilarity)) bad.push('cache baseline');
      if (ep.tool !== undefined && ep.tool.baseline !== ruleTool(req.text, TOOLS_BY_INTENT[req.hidden.intent])) bad.push('tool baseline');
      for (const d of [ep.route, ep.cache, ep.tool]) {
        if (d === undefined) continue;
        if (!(d.propensity > 0 && d.propensity <= 1) || d.probs[d.action] !== d.propensity) bad.push(`${d.id}: propensity ${d.propensity}`);
        const k = d.actions.length;
        for (const a of d.actions) if (Math.abs(d.probs[a]! - (a === d.baseline ? 1 - e : e / (k - 1))) > 1e-12) bad.push(`${d.id}: probs ${JSON.stringify(d.probs)}`);
        if (d.policy !== 'rules+e0.1@alice') bad.push(`${d.id}: policy ${d.policy}`);
      }
      if (bad.length > 0) expect(bad, `seed 21, request ${req.id}`).toEqual([]);
      counts.route++;
      counts.cache++;
      if (ep.route.action === ep.route.baseline) counts.routeBase++;
      if (ep.cache.action === ep.cache.baseline) counts.cacheBase++;
      if (ep.tool !== undefined) {
        counts.tool++;
        if (ep.tool.action === ep.tool.baseline) counts.toolBase++;
      }
    }
    // Empirical frequencies of serving the rule choice match 1 - e (binomial, 5 standard errors).
    for (const [hit, n] of [
      [counts.routeBase, counts.route],
      [counts.cacheBase, counts.cache],
      [counts.toolBase, counts.tool],
    ] as const) {
      const se = Math.sqrt((e * (1 - e)) / n);
      expect(Math.abs(hit / n - (1 - e)), `seed 21: ${hit}/${n}`).toBeLessThan(5 * se);
    }
  });

  it('are 1 for Alice without exploration, 1/k for the random policy', () => {
    for (const ep of episodes({ seed: 2, episodes: 300 })) {
      expect(ep.route).toMatchObject({ propensity: 1, policy: 'rules@alice' });
      expect(ep.route.action).toBe(ep.route.baseline);
    }
    for (const ep of episodes({ seed: 2, episodes: 300, policies: { route: randomPolicy, cache: randomPolicy, tool: randomPolicy } })) {
      expect(ep.route.propensity).toBeCloseTo(1 / 3, 12);
      expect(ep.cache.propensity).toBe(0.5);
      if (ep.tool !== undefined) expect(ep.tool.propensity).toBeCloseTo(1 / ep.tool.actions.length, 12);
    }
  });

  it('exploration floors always form a distribution with the served action inside (property)', () => {
    fc.assert(
      fc.property(fc.double({ min: 0.001, max: 0.99, noNaN: true }), fc.integer({ min: 1, max: 6 }), fc.double({ min: 0, max: 0.999999, noNaN: true }), fc.boolean(), (e, k, draw, random) => {
        const actions = Array.from({ length: k }, (_, i) => `a${i}`);
        const q: PointQuery = { point: 'route', id: 'x', context: {}, actions, baseline: actions[k - 1]!, draw, oracle: () => ({}) };
        const c = withExploration(random ? randomPolicy : rulesPolicy, e).serve(q);
        const sum = actions.reduce((s, a) => s + (c.probs[a] ?? 0), 0);
        expect(sum).toBeCloseTo(1, 9);
        expect(c.probs[c.action]).toBeGreaterThan(0);
        expect(actions).toContain(c.action);
      }),
      { seed: 7, numRuns: 300 },
    );
  });

  it('serves the draw of the decision id (replayable)', () => {
    const [ep] = episodes({ seed: 4, episodes: 1, exploration: 0.5 });
    const q: PointQuery = { point: 'route', id: ep!.route.id, context: {}, actions: ep!.route.actions, baseline: ep!.route.baseline, draw: drawFor(4, ep!.route.id), oracle: () => ({}) };
    expect(withExploration(rulesPolicy, 0.5).serve(q).action).toBe(ep!.route.action);
  });
});

describe('truth', () => {
  it('the expected reward of what was served averages to the realised reward (seed 8)', () => {
    const eps = episodes({ seed: 8, episodes: 40_000, truth: true, exploration: 0.05 });
    let realised = 0;
    let expected = 0;
    let sq = 0;
    for (const ep of eps) {
      const e = ep.cache.expected![ep.cache.action]!;
      // Every point's truth of the served action is the value of the request as served.
      const r = ep.route.expected![ep.route.action]!;
      const t = ep.tool === undefined ? e : ep.tool.expected![ep.tool.action]!;
      if (Math.abs(r - e) > 1e-6 || Math.abs(t - e) > 1e-6) expect({ r, t }, ep.request.id).toEqual({ r: e, t: e });
      realised += ep.reward;
      expected += e;
      sq += (ep.reward - e) ** 2;
    }
    const n = eps.length;
    const se = Math.sqrt(sq / n / n);
    expect(Math.abs(realised / n - expected / n), `seed 8: realised ${realised / n} vs truth ${expected / n}`).toBeLessThan(5 * se);
  });

  it('a cached answer makes the route irrelevant, and the truth says so', () => {
    for (const ep of episodes({ seed: 12, episodes: 2000, truth: true })) {
      if (ep.choices.cache !== 'use') continue;
      const v = Object.values(ep.route.expected!);
      expect(Math.max(...v) - Math.min(...v)).toBe(0);
    }
  });

  it('the oracle serves the best action at every point', () => {
    for (const ep of episodes({ seed: 13, episodes: 1500, truth: true, policies: { route: oraclePolicy, cache: oraclePolicy, tool: oraclePolicy } })) {
      const best = Math.max(...Object.values(ep.cache.expected!));
      expect(ep.cache.expected![ep.cache.action]).toBeCloseTo(best, 6);
      if (ep.tool !== undefined) expect(ep.tool.action).toBe(TOOLS_BY_INTENT[ep.request.hidden.intent][0]);
    }
  });
});

describe('serving hook', () => {
  it('lets any policy serve any point and logs it', () => {
    const alwaysDeep: ServingPolicy = {
      name: 'deep@test',
      serve: () => ({ action: 'deep', probs: { micro: 0, planner: 0, deep: 1 }, policy: 'deep@test' }),
    };
    const sim = new AliceSim({ seed: 1, policies: { route: alwaysDeep } });
    const run = createRun({ seed: 1, episodes: 200, endUs: END_US, policies: { route: alwaysDeep } });
    for (const ep of run.episodes()) {
      expect(ep.route).toMatchObject({ action: 'deep', policy: 'deep@test', propensity: 1 });
      expect(['micro', 'planner', 'deep']).toContain(ep.route.baseline);
    }
    expect(sim.policies.cache.name).toBe('rules@alice');
    expect(Object.keys(BUILTIN_POLICIES)).toEqual(['rules', 'oracle', 'random']);
  });

  it('split into routeQuery and complete, a remote answer for the route is honoured', () => {
    const run = createRun({ seed: 3, episodes: 50, endUs: END_US });
    const sim = run.sim;
    for (let i = 0; i < 50; i++) {
      const p = sim.routeQuery(sim.request(run.schedule.slot(i), i, run.schedule.position(i)));
      expect(p.query.context.text).toBe(p.request.text);
      expect(p.query.context).not.toHaveProperty('success');
      const ep = sim.complete(p, { action: 'planner', probs: { planner: 0.9 }, policy: 'linucb@remote' });
      expect(ep.route).toMatchObject({ action: 'planner', propensity: 0.9, policy: 'linucb@remote' });
    }
  });

  it('keeps outcomes out of every context', () => {
    for (const ep of episodes({ seed: 6, episodes: 300 })) {
      for (const line of decisionLines(ep)) {
        const ctx = (JSON.parse(line) as { context: Record<string, unknown> }).context;
        for (const k of ['success', 'latency_ms', 'cost_usd', 'cache_hit', 'tool_ok', 'reward', 'action']) expect(ctx).not.toHaveProperty(k);
      }
    }
  });
});

describe('scenarios', () => {
  it('drift shifts the mix mid-stream; optimistic beats realistic beats pessimistic under the rules', () => {
    const eps = episodes({ seed: 9, episodes: 20_000, scenario: 'drift' });
    const share = (xs: SimEpisode[]): number => xs.filter((e) => e.request.hidden.intent === 'complex_query').length / xs.length;
    expect(share(eps.slice(-8000))).toBeGreaterThan(share(eps.slice(0, 8000)) + 0.05);
    const value = (scenario: 'realistic' | 'optimistic' | 'pessimistic'): number => {
      const r = createRun({ seed: 9, episodes: 20_000, endUs: END_US, scenario });
      for (const _ of r.episodes());
      return r.sim.kpiSummary().policyValue!;
    };
    const [o, r, p] = [value('optimistic'), value('realistic'), value('pessimistic')];
    expect(o).toBeGreaterThan(r + 0.01);
    expect(r).toBeGreaterThan(p + 0.01);
  });
});
