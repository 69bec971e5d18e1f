/**
 * Ground-truth harness for off-policy evaluation. A full-information data set (every action's
 * reward known for every context) becomes many bandit logs: each seeded run draws contexts with
 * replacement, draws the logged action from a known stochastic logging policy, and keeps only that
 * action's reward. The target's true value is exact (the mean over contexts of Σ π(a|x) r(x, a)),
 * so bias, RMSE and interval coverage of every estimator can be measured over the runs.
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { gunzipSync } from 'node:zlib';
import { Rng } from '../../src/core/rng.js';
import { crossFitPredictions, evaluateOffPolicy, type EstimatorName, type LoggedSample, type OpeOptions } from '../../src/core/ope/index.js';
import { sharedFile } from '../helpers/shared-data.js';

/** Contexts with dense features and every action's reward in [0, 1]. */
export interface FullInfo {
  name: string;
  features: Float64Array[];
  rewards: Float64Array[];
  nActions: number;
}

/** A policy as a distribution per context index. */
export type PolicyProbs = Float64Array[];

/** Exact value of a policy on the data set. */
export function trueValue(data: FullInfo, pi: PolicyProbs): number {
  let s = 0;
  for (let i = 0; i < data.rewards.length; i++) {
    const r = data.rewards[i]!;
    const p = pi[i]!;
    for (let a = 0; a < data.nActions; a++) s += p[a]! * r[a]!;
  }
  return s / data.rewards.length;
}

/** Bias, RMSE and coverage of one estimator over the runs. */
export interface EstimatorStats {
  runs: number;
  bias: number;
  /** Monte-Carlo standard error of the bias. */
  biasSe: number;
  rmse: number;
  /** Share of runs whose interval contained the truth. */
  coverage: number;
  meanWidth: number;
}

export interface TrialOptions {
  trials: number;
  /** Logged events per run. */
  n: number;
  seed: number;
  /** Cross-fitting folds of the reward model. @default 2 */
  folds?: number;
  lambda?: number;
  /** Which interval's coverage is measured. @default "normal" */
  interval?: 'normal' | 'bootstrap' | 'bernstein';
  /**
   * Draw each logged reward as Bernoulli(r(x, a)) instead of logging r(x, a) itself: for data sets
   * whose table holds expected rewards (the simulator's truth), this puts outcome noise back. @default false
   */
  bernoulli?: boolean;
  ope?: OpeOptions;
}

const NAMES: readonly (EstimatorName | 'logging')[] = ['ips', 'clipped_ips', 'snips', 'dm', 'dr', 'switch_dr'];

/** Run `trials` seeded logging runs and evaluate the target in each. */
export function runTrials(data: FullInfo, logger: PolicyProbs, target: PolicyProbs, o: TrialOptions): { truth: number; stats: Record<string, EstimatorStats> } {
  const truth = trueValue(data, target);
  const N = data.rewards.length;
  const K = data.nActions;
  const est: Record<string, number[]> = {};
  const cover: Record<string, number> = {};
  const width: Record<string, number> = {};
  for (const k of NAMES) {
    est[k] = [];
    cover[k] = 0;
    width[k] = 0;
  }
  const interval = o.interval ?? 'normal';
  for (let t = 0; t < o.trials; t++) {
    const rng = new Rng(o.seed, t + 1);
    const idx = new Int32Array(o.n);
    const acts = new Int32Array(o.n);
    const rew = new Float64Array(o.n);
    for (let j = 0; j < o.n; j++) {
      const i = rng.int(N);
      const a = rng.categorical(logger[i]!);
      idx[j] = i;
      acts[j] = a;
      const q = data.rewards[i]![a]!;
      rew[j] = o.bernoulli === true ? (rng.next() < q ? 1 : 0) : q;
    }
    const features = Array.from(idx, (i) => data.features[i]!);
    const pred = crossFitPredictions({ features, actions: acts, rewards: rew, nActions: K }, { folds: o.folds ?? 2, lambda: o.lambda ?? 1, seed: t });
    const samples: LoggedSample[] = new Array(o.n);
    for (let j = 0; j < o.n; j++) {
      const i = idx[j]!;
      const a = acts[j]!;
      samples[j] = { action: a, reward: rew[j]!, loggingProb: logger[i]![a]!, loggingProbs: logger[i]!, targetProbs: target[i]!, predicted: pred[j]! };
    }
    const rep = evaluateOffPolicy(samples, { seed: t, ...o.ope });
    for (const k of NAMES) {
      const e = k === 'logging' ? rep.logging : rep.estimates[k];
      if (e === undefined || e.value === null) continue;
      est[k]!.push(e.value);
      const ci = e.intervals[interval] ?? e.ci;
      if (ci !== null && ci[0] <= truth && truth <= ci[1]) cover[k]!++;
      if (ci !== null) width[k]! += ci[1] - ci[0];
    }
  }
  const stats: Record<string, EstimatorStats> = {};
  for (const k of NAMES) {
    const xs = est[k]!;
    if (xs.length === 0) continue;
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / Math.max(1, xs.length - 1));
    stats[k] = {
      runs: xs.length,
      bias: m - truth,
      biasSe: sd / Math.sqrt(xs.length),
      rmse: Math.sqrt(xs.reduce((a, b) => a + (b - truth) ** 2, 0) / xs.length),
      coverage: cover[k]! / xs.length,
      meanWidth: width[k]! / xs.length,
    };
  }
  return { truth, stats };
}

/** The acceptance bar of every data set: IPS, SNIPS and DR unbiased (< 0.01) with 90–98 % coverage of their 95 % intervals. */
export function expectUnbiasedWithCoverage(stats: Record<string, EstimatorStats>, seed: number): void {
  for (const k of ['ips', 'snips', 'dr'] as const) {
    const s = stats[k]!;
    expect(Math.abs(s.bias), `${k} bias (seed ${seed})`).toBeLessThan(0.01);
    expect(s.coverage, `${k} coverage (seed ${seed})`).toBeGreaterThanOrEqual(0.9);
    expect(s.coverage, `${k} coverage (seed ${seed})`).toBeLessThanOrEqual(0.98);
  }
}

/** The results as a Markdown table (printed by the tests, copied into docs/evaluation.md). */
export function statsTable(title: string, truth: number, stats: Record<string, EstimatorStats>): string {
  const rows = Object.entries(stats).map(
    ([k, s]) =>
      `| ${title} | ${k} | ${s.bias >= 0 ? '+' : ''}${s.bias.toFixed(4)} ± ${s.biasSe.toFixed(4)} | ${s.rmse.toFixed(4)} | ${(s.coverage * 100).toFixed(1)} % | ${s.meanWidth.toFixed(4)} |`,
  );
  return [`truth ${truth.toFixed(4)}`, '| data | estimator | bias ± MC s.e. | RMSE | 95 % coverage | mean width |', '|---|---|---|---|---|---|', ...rows].join('\n');
}

/** Softmax of scores with temperature 1. */
export function softmax(scores: ArrayLike<number>): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < scores.length; i++) m = Math.max(m, scores[i]!);
  const out = new Float64Array(scores.length);
  let z = 0;
  for (let i = 0; i < scores.length; i++) z += out[i] = Math.exp(scores[i]! - m);
  for (let i = 0; i < out.length; i++) out[i]! /= z;
  return out;
}

/** (1 − ε)·p + ε·uniform. */
export function mixUniform(p: Float64Array, eps: number): Float64Array {
  return p.map((x) => (1 - eps) * x + eps / p.length);
}

/** The digits data set: 2×2-pooled pixels (16 features + bias) and reward 1 for the right label. */
export function loadDigits(): FullInfo & { labels: Int32Array; pixels: Float64Array[] } {
  const text = gunzipSync(readFileSync(sharedFile('digits', 'digits.csv.gz'))).toString('utf8');
  const features: Float64Array[] = [];
  const rewards: Float64Array[] = [];
  const pixels: Float64Array[] = [];
  const labels: number[] = [];
  for (const line of text.split('\n')) {
    const cells = line.trim().split(',').map(Number);
    if (cells.length !== 65 || cells.some((x) => !Number.isFinite(x))) continue;
    const px = Float64Array.from(cells.slice(0, 64), (v) => v / 16);
    const label = cells[64]!;
    const f = new Float64Array(17);
    f[0] = 1;
    for (let r = 0; r < 8; r++) for (let c = 0; c < 8; c++) f[1 + (r >> 1) * 4 + (c >> 1)]! += px[r * 8 + c]! / 4;
    const rw = new Float64Array(10);
    rw[label] = 1;
    features.push(f);
    rewards.push(rw);
    pixels.push(px);
    labels.push(label);
  }
  return { name: 'digits', features, rewards, nActions: 10, labels: Int32Array.from(labels), pixels };
}

/** LLMRouter: 9 models; context = task (one-hot) and query length; reward = 0.85·score + 0.15·(1 − price/max price). */
export function loadLlmRouter(): FullInfo & { tasks: string[]; taskOf: Int32Array; models: string[]; lenZ: Float64Array } {
  const train = JSON.parse(readFileSync(sharedFile('llmrouter', 'train.json'), 'utf8')) as { question: string; scores: Record<string, number> }[];
  const prices = JSON.parse(readFileSync(sharedFile('llmrouter', 'default_llm.json'), 'utf8')) as Record<string, { input_price: number; output_price: number }>;
  const taskByQuery = new Map<string, string>();
  for (const line of readFileSync(sharedFile('llmrouter', 'default_query_train.jsonl'), 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const q = JSON.parse(line) as { query: string; task_name: string };
    taskByQuery.set(q.query, q.task_name);
  }
  const models = Object.keys(train[0]!.scores).sort();
  const price = models.map((m) => (prices[m]?.input_price ?? 0) + (prices[m]?.output_price ?? 0));
  const maxPrice = Math.max(...price);
  const tasks = [...new Set(train.map((x) => taskByQuery.get(x.question) ?? 'unknown'))].sort();
  const features: Float64Array[] = [];
  const rewards: Float64Array[] = [];
  const taskOf: number[] = [];
  const lens = train.map((x) => Math.log1p(x.question.length));
  const lm = lens.reduce((a, b) => a + b, 0) / lens.length;
  const ls = Math.sqrt(lens.reduce((a, b) => a + (b - lm) ** 2, 0) / lens.length);
  const lenZ = Float64Array.from(lens, (l) => (l - lm) / ls);
  train.forEach((x, i) => {
    const t = tasks.indexOf(taskByQuery.get(x.question) ?? 'unknown');
    const f = new Float64Array(2 + tasks.length);
    f[0] = 1;
    f[1] = lenZ[i]!;
    f[2 + t] = 1;
    features.push(f);
    rewards.push(Float64Array.from(models, (m, a) => 0.85 * Math.min(1, Math.max(0, x.scores[m] ?? 0)) + 0.15 * (1 - price[a]! / maxPrice)));
    taskOf.push(t);
  });
  return { name: 'llmrouter', features, rewards, nActions: models.length, tasks, taskOf: Int32Array.from(taskOf), models, lenZ };
}
