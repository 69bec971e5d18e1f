/**
 * The Alice simulator for the learning tests: evaluation runs in which learned policies serve some
 * decision points while Alice's rules serve the others, on the same seeded requests (the world's
 * draws do not depend on what is served), with the simulator's own KPIs. Logging runs go through
 * `umbra bootstrap`, the product's path.
 */
import type { Kpis } from '../../src/core/events.js';
import type { Policy } from '../../src/core/policies/index.js';
import { pickIndex } from '../../src/core/rng.js';
import { BUILTIN_POLICIES, createRun, type DecisionPoint, type ServingPolicy } from '../../src/core/sim/index.js';

/** The end of the simulated week (fixed, so runs are reproducible). */
export const SIM_END = '2025-10-06T00:00:00.000Z';

/** A learned policy as the simulator's serving hook (draws with the decision's replayable uniform). */
export function serving(policy: Policy, name: string): ServingPolicy {
  return {
    name,
    serve(q) {
      const p = policy.probs(q.context, q.actions, q.baseline);
      const i = pickIndex(p, q.draw);
      const probs: Record<string, number> = {};
      q.actions.forEach((a, j) => (probs[a] = p[j]!));
      return { action: q.actions[i]!, probs, policy: name };
    },
  };
}

/** Serve `n` requests of the realistic scenario; returns the simulator's KPIs. */
export function simKpis(seed: number, n: number, policies: Partial<Record<DecisionPoint, ServingPolicy>> = {}): Kpis {
  const run = createRun({ seed, episodes: n, endUs: Date.parse(SIM_END) * 1000, policies });
  for (const _ of run.episodes()) {
    /* the simulator accumulates the KPIs */
  }
  return run.sim.kpiSummary();
}

/** The simulator's built-in yardsticks. */
export const YARDSTICKS = BUILTIN_POLICIES;
