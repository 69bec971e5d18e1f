/**
 * The serving hook: who decides at each decision point of the simulated production. Alice's rules
 * serve by default; the oracle (best action by the world's truth) and a uniform random policy are
 * the yardsticks; anything else (a learned policy, the decision service) plugs in through the same
 * `ServingPolicy` interface. Every choice comes with the exact distribution it was drawn from, so
 * logged propensities are the probabilities production really used.
 */
import type { Context } from '../events.js';
import { pickIndex } from '../rng.js';
import type { DecisionPoint } from './vocabulary.js';

/** What a serving policy sees for one decision. */
export interface PointQuery {
  readonly point: DecisionPoint;
  /** The decision's id (the trace id for route, `<trace>#cache`, `<trace>#tool`). */
  readonly id: string;
  /** Observable context, raw `text` included (features are the policy's business). */
  readonly context: Context;
  readonly actions: readonly string[];
  /** Production's rule choice for this decision (the `baselineAction` of the decision API). */
  readonly baseline: string;
  /** The decision's replayable uniform draw in [0, 1) (`drawFor(seed, id)`). */
  readonly draw: number;
  /**
   * The world's expected reward of each action here when the later points are served optimally
   * (for the route: assuming the model path runs). Only the oracle may look: it is the truth.
   */
  oracle(): Readonly<Record<string, number>>;
}

/** A served choice with the exact distribution it was drawn from. */
export interface ServeChoice {
  action: string;
  /** Probability of each action (sums to 1; `probs[action]` is the propensity, > 0). */
  probs: Record<string, number>;
  /** Who served, e.g. `rules@alice`. */
  policy: string;
}

/**
 * A serving policy. `serve` must be a pure function of the query (the simulator calls it again,
 * hypothetically, to compute what production would have done on paths it did not take).
 */
export interface ServingPolicy {
  readonly name: string;
  serve(q: PointQuery): ServeChoice;
}

/** One policy per decision point. */
export type PolicySet = Readonly<Record<DecisionPoint, ServingPolicy>>;

function oneHot(actions: readonly string[], a: string): Record<string, number> {
  const p: Record<string, number> = {};
  for (const x of actions) p[x] = x === a ? 1 : 0;
  return p;
}

/** Alice's rules: serve the baseline. */
export const rulesPolicy: ServingPolicy = {
  name: 'rules@alice',
  serve(q) {
    return { action: q.baseline, probs: oneHot(q.actions, q.baseline), policy: 'rules@alice' };
  },
};

/** The oracle: the action with the highest expected reward by the world's truth (ties: baseline, then order). */
export const oraclePolicy: ServingPolicy = {
  name: 'oracle@sim',
  serve(q) {
    const v = q.oracle();
    let best = q.baseline;
    let bestV = v[q.baseline] ?? -Infinity;
    for (const a of q.actions) {
      const x = v[a] ?? -Infinity;
      if (x > bestV + 1e-12) {
        best = a;
        bestV = x;
      }
    }
    return { action: best, probs: oneHot(q.actions, best), policy: 'oracle@sim' };
  },
};

/** Uniformly random over the eligible actions. */
export const randomPolicy: ServingPolicy = {
  name: 'random@sim',
  serve(q) {
    const k = q.actions.length;
    const probs: Record<string, number> = {};
    for (const a of q.actions) probs[a] = 1 / k;
    return { action: q.actions[Math.min(k - 1, Math.floor(q.draw * k))]!, probs, policy: 'random@sim' };
  },
};

/** The built-in policies by the names `--policy` accepts. */
export const BUILTIN_POLICIES = { rules: rulesPolicy, oracle: oraclePolicy, random: randomPolicy } as const;
/** `rules`, `oracle` or `random`. */
export type BuiltinPolicyName = keyof typeof BUILTIN_POLICIES;

/**
 * An exploration floor around any policy: a deterministic choice keeps 1 − e and the other actions
 * share e; a stochastic one is mixed with the uniform distribution (weight e). The served action is
 * drawn from the final distribution with the decision's draw, so the logged propensity is exact.
 */
export function withExploration(base: ServingPolicy, e: number): ServingPolicy {
  if (!(e > 0)) return base;
  if (e >= 1) throw new RangeError(`exploration must be below 1, got ${e}`);
  const tag = `+e${e}`;
  return {
    name: withTag(base.name, tag),
    serve(q) {
      const b = base.serve(q);
      const k = q.actions.length;
      if (k === 1) return b;
      const probs: Record<string, number> = {};
      const deterministic = (b.probs[b.action] ?? 0) >= 1 - 1e-12;
      for (const a of q.actions) {
        const p = b.probs[a] ?? 0;
        probs[a] = deterministic ? (a === b.action ? 1 - e : e / (k - 1)) : (1 - e) * p + e / k;
      }
      const weights = q.actions.map((a) => probs[a]!);
      const action = q.actions[pickIndex(weights, q.draw)]!;
      return { action, probs, policy: withTag(b.policy, tag) };
    },
  };
}

function withTag(name: string, tag: string): string {
  const at = name.indexOf('@');
  return at < 0 ? `${name}${tag}` : `${name.slice(0, at)}${tag}${name.slice(at)}`;
}
