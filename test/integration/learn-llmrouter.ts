/**
 * The LLMRouter data (real, full information: every model's score on every query) turned into a
 * routing bandit for the learning tests and docs/learning.md:
 * - context = { text: the query, task: its task name }, actions = the nine models;
 * - natural reward = score − 0.1 · price / 0.9 (price = mean of the input and output price per
 *   million tokens from default_llm.json; 0.9 is the largest of the nine), in [−0.1, 1];
 * - the logged reward is that mapped affinely into [0, 1]: (r + 0.1) / 1.1 (same ordering, same argmax);
 * - the training log is written by a known stochastic logger (uniform over the nine, propensity 1/9,
 *   drawn with `drawFor(seed, id)`), so only the served model's reward is seen.
 * True values on the test set are exact: V(π) = mean over queries of Σ_a π(a | x) r(x, a).
 */
import { readFileSync } from 'node:fs';
import type { Context, DecisionEventInput } from '../../src/core/events.js';
import { drawFor } from '../../src/core/rng.js';
import { sharedFile } from '../helpers/shared-data.js';

/** One query with every model's natural reward. */
export interface RouterQuery {
  id: string;
  context: Context;
  /** Natural reward per model (score − cost penalty), aligned with `models`. */
  rewards: number[];
}

/** Cost penalty weight: the most expensive model loses 0.1 of score. */
export const COST_WEIGHT = 0.1;

/** Map a natural reward in [−0.1, 1] into [0, 1]. */
export function toUnit(r: number): number {
  return (r + COST_WEIGHT) / (1 + COST_WEIGHT);
}

interface Raw {
  question: string;
  scores: Record<string, number>;
}

/** Load train and test queries (models in the order of the data). */
export function loadRouterData(): { models: string[]; train: RouterQuery[]; test: RouterQuery[] } {
  const prices = JSON.parse(readFileSync(sharedFile('llmrouter', 'default_llm.json'), 'utf8')) as Record<string, { input_price: number; output_price: number }>;
  const task = new Map<string, string>();
  for (const f of ['default_query_train.jsonl', 'default_query_test.jsonl']) {
    for (const line of readFileSync(sharedFile('llmrouter', f), 'utf8').split('\n')) {
      if (line.trim() === '') continue;
      const r = JSON.parse(line) as { query: string; task_name: string };
      if (!task.has(r.query)) task.set(r.query, r.task_name);
    }
  }
  const trainRaw = JSON.parse(readFileSync(sharedFile('llmrouter', 'train.json'), 'utf8')) as Raw[];
  const testRaw = JSON.parse(readFileSync(sharedFile('llmrouter', 'test.json'), 'utf8')) as Raw[];
  const models = Object.keys(trainRaw[0]!.scores);
  const maxPrice = Math.max(...models.map((m) => (prices[m]!.input_price + prices[m]!.output_price) / 2));
  const penalty = models.map((m) => (COST_WEIGHT * (prices[m]!.input_price + prices[m]!.output_price)) / 2 / maxPrice);
  const convert = (rows: Raw[], prefix: string): RouterQuery[] =>
    rows.map((r, i) => ({
      id: `${prefix}-${i}`,
      context: { text: r.question, task: task.get(r.question) ?? null },
      rewards: models.map((m, j) => r.scores[m]! - penalty[j]!),
    }));
  return { models, train: convert(trainRaw, 'train'), test: convert(testRaw, 'test') };
}

/** The training log: uniform logging over the models, one canonical decision event per query. */
export function uniformLog(models: readonly string[], train: readonly RouterQuery[], seed: number): DecisionEventInput[] {
  const t0 = Date.UTC(2025, 0, 1);
  // A seeded shuffle of the order, so the time-ordered validation window is not one block of tasks.
  const order = train.map((_, i) => i).sort((a, b) => drawFor(seed, `order-${a}`) - drawFor(seed, `order-${b}`));
  return order.map((i, t) => {
    const q = train[i]!;
    const a = Math.min(models.length - 1, Math.floor(drawFor(seed, q.id) * models.length));
    const probs = Object.fromEntries(models.map((m) => [m, 1 / models.length]));
    return {
      v: 1,
      id: q.id,
      ts: new Date(t0 + t * 60_000).toISOString(),
      point: 'route',
      context: q.context,
      actions: [...models],
      action: models[a]!,
      propensity: 1 / models.length,
      probs,
      policy: 'uniform@test',
      reward: toUnit(q.rewards[a]!),
    };
  });
}

/** Exact value of a policy on queries: mean of Σ_a π(a | x) r(x, a) (natural units). */
export function trueValue(queries: readonly RouterQuery[], probsOf: (q: RouterQuery) => ArrayLike<number>): number {
  let s = 0;
  for (const q of queries) {
    const p = probsOf(q);
    for (let a = 0; a < q.rewards.length; a++) s += p[a]! * q.rewards[a]!;
  }
  return s / queries.length;
}

/** The yardsticks: uniform random, the best single model (chosen on the test set itself), the per-query oracle. */
export function yardsticks(models: readonly string[], test: readonly RouterQuery[]): { random: number; bestSingle: number; bestSingleModel: string; oracle: number } {
  const k = models.length;
  const random = trueValue(test, () => new Array<number>(k).fill(1 / k));
  let bestSingle = -Infinity;
  let bestSingleModel = '';
  for (let a = 0; a < k; a++) {
    const v = test.reduce((s, q) => s + q.rewards[a]!, 0) / test.length;
    if (v > bestSingle) {
      bestSingle = v;
      bestSingleModel = models[a]!;
    }
  }
  const oracle = test.reduce((s, q) => s + Math.max(...q.rewards), 0) / test.length;
  return { random, bestSingle, bestSingleModel, oracle };
}
