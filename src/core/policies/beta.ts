/**
 * Beta–Bernoulli Thompson sampling per group (for `tool`: per intent). Each (group, action) keeps a
 * Beta(α₀ + Σr, β₀ + Σ(1 − r)) posterior (rewards in [0, 1] count fractionally). A pooled table over
 * all groups answers for groups never seen. The probability that each action's draw is the largest
 * is computed by quadrature (`probMaxBeta`), not by sampling, so the served distribution is known
 * exactly; it depends only on the posterior, so it is cached per group and action set until that
 * group learns again.
 */
import type { PolicySettings } from '../config/policies.js';
import type { Context, ContextValue } from '../events.js';
import type { FeatureMap } from '../features/index.js';
import { type ArmNumbers, finalDistribution } from './explore.js';
import { BasePolicy, type Estimates, type Policy, PolicyKind, type TrainingExample, baselineIndex, checkReward } from './policy.js';
import { probMaxBeta } from './probmax.js';

/** The group key of contexts without the group value. */
export const MISSING_GROUP = '\u2205';
/** The name of the pooled table in serialised parameters. */
export const POOLED_GROUP = '*';

/** Posterior counts of one action in one group. */
export interface BetaArmState {
  action: string;
  /** Σ r over the events learned. */
  successes: number;
  /** Events learned. */
  n: number;
}

/** Serialised parameters of a Beta–Bernoulli policy. */
export interface BetaParams {
  group_by: string;
  prior: [number, number];
  groups: { group: string; arms: BetaArmState[] }[];
  pooled: BetaArmState[];
}

type Table = Map<string, { successes: number; n: number }>;

interface Numbers extends ArmNumbers {
  known: number[];
  mean: number[];
  width: number[];
  score: number[];
  alpha: number[];
  beta: number[];
}

/** The group key of a context value. */
export function groupKey(v: ContextValue | undefined): string {
  if (v === null || v === undefined) return MISSING_GROUP;
  return typeof v === 'string' ? v : `${typeof v}:${String(v)}`;
}

/** Beta–Bernoulli Thompson sampling with exact (quadrature) action probabilities. */
export class BetaTsPolicy extends BasePolicy implements Policy {
  readonly kind = PolicyKind.BETA_TS;
  private readonly groups = new Map<string, Table>();
  private readonly pooled: Table = new Map();
  private readonly cache = new Map<string, Map<string, Float64Array>>();

  knownActions(): string[] {
    return [...this.pooled.entries()].filter(([, s]) => s.n > 0).map(([a]) => a);
  }

  /** The table answering for a context: its group's when that group knows any of the actions, else the pooled one. */
  private tableFor(context: Context, actions: readonly string[]): [string, Table] {
    const key = groupKey(context[this.settings.group_by]);
    const t = this.groups.get(key);
    if (t !== undefined && actions.some((a) => (t.get(a)?.n ?? 0) > 0)) return [key, t];
    return [POOLED_GROUP, this.pooled];
  }

  private numbers(table: Table, actions: readonly string[]): Numbers {
    const [a0, b0] = this.settings.prior;
    const known: number[] = [];
    const mean: number[] = [];
    const width: number[] = [];
    const alpha: number[] = [];
    const beta: number[] = [];
    for (const act of actions) {
      const s = table.get(act);
      const a = a0 + (s?.successes ?? 0);
      const b = b0 + (s === undefined ? 0 : s.n - s.successes);
      known.push(s !== undefined && s.n > 0 ? 1 : 0);
      alpha.push(a);
      beta.push(b);
      mean.push(a / (a + b));
      width.push(Math.sqrt((a * b) / ((a + b) * (a + b) * (a + b + 1))));
    }
    return { known, mean, width, score: mean, alpha, beta };
  }

  probs(context: Context, actions: readonly string[], baseline?: string | undefined): number[] {
    const k = actions.length;
    const [group, table] = this.tableFor(context, actions);
    const nums = this.numbers(table, actions);
    const ckey = actions.join('\u0001');
    let perGroup = this.cache.get(group);
    let g = perGroup?.get(ckey);
    if (g === undefined) {
      g = new Float64Array(k);
      probMaxBeta(nums.alpha, nums.beta, nums.known, k, g);
      if (perGroup === undefined) {
        perGroup = new Map();
        this.cache.set(group, perGroup);
      }
      if (perGroup.size > 1024) perGroup.clear();
      perGroup.set(ckey, g);
    }
    const have = nums.known.some((v) => v === 1);
    const gs = Array.from(g);
    const out = new Array<number>(k);
    finalDistribution(this.settings, k, nums, gs, have, baselineIndex(actions, baseline), out);
    return out;
  }

  estimates(context: Context, actions: readonly string[]): Estimates {
    const [, table] = this.tableFor(context, actions);
    const nums = this.numbers(table, actions);
    return { mean: nums.mean, width: nums.width, known: nums.known.map((v) => v === 1) };
  }

  update(context: Context, action: string, reward: number): void {
    checkReward(reward);
    const key = groupKey(context[this.settings.group_by]);
    let t = this.groups.get(key);
    if (t === undefined) {
      t = new Map();
      this.groups.set(key, t);
    }
    add(t, action, reward);
    add(this.pooled, action, reward);
    this.cache.delete(key);
    this.cache.delete(POOLED_GROUP);
    this.count++;
  }

  fit(examples: Iterable<TrainingExample>): void {
    for (const e of examples) this.update(e.context, e.action, e.reward);
  }

  toParams(): BetaParams {
    const dump = (t: Table): BetaArmState[] => [...t.entries()].map(([action, s]) => ({ action, successes: s.successes, n: s.n }));
    return {
      group_by: this.settings.group_by,
      prior: [this.settings.prior[0], this.settings.prior[1]],
      groups: [...this.groups.entries()].map(([group, t]) => ({ group, arms: dump(t) })),
      pooled: dump(this.pooled),
    };
  }

  /** Rebuild from serialised parameters. */
  static fromParams(point: string, settings: PolicySettings, featureMap: FeatureMap, p: BetaParams): BetaTsPolicy {
    const pol = new BetaTsPolicy(point, settings, featureMap);
    for (const g of p.groups) {
      const t: Table = new Map();
      for (const a of g.arms) t.set(a.action, { successes: a.successes, n: a.n });
      pol.groups.set(g.group, t);
    }
    for (const a of p.pooled) {
      pol.pooled.set(a.action, { successes: a.successes, n: a.n });
      pol.count += a.n;
    }
    return pol;
  }
}

function add(t: Table, action: string, reward: number): void {
  const s = t.get(action);
  if (s === undefined) t.set(action, { successes: reward, n: 1 });
  else {
    s.successes += reward;
    s.n += 1;
  }
}
