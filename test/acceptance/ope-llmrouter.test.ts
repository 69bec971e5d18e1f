/**
 * Ground truth on LLMRouter (5,608 queries × 9 models, every model's score known). Context: task
 * (one-hot) and query length; reward 0.85 · score + 0.15 · (1 − price / max price). Logger: a rule
 * (one fixed model per task) mixed half and half with uniform. Target: softmax of a fixed linear
 * scorer (seeded task × model weights plus a length × model-size term). 300 seeded runs of 1,500 events.
 */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng.js';
import { hasSharedData } from '../helpers/shared-data.js';
import { loadLlmRouter, mixUniform, runTrials, softmax, statsTable, expectUnbiasedWithCoverage } from './ope-harness.js';

describe.skipIf(!hasSharedData)('OPE ground truth: llmrouter', () => {
  const L = loadLlmRouter();
  const rng = new Rng(42);
  const taskWeights = Array.from({ length: L.tasks.length }, () => Float64Array.from({ length: L.nActions }, () => rng.normal()));
  const size = L.models.map((m) => (/49b|51b|70b/.test(m) ? 1 : -1));
  const logger = L.features.map((_, i) => {
    const p = new Float64Array(L.nActions);
    p[L.taskOf[i]! % L.nActions] = 1;
    return mixUniform(p, 0.5);
  });
  const target = L.features.map((_, i) => softmax(Float64Array.from(taskWeights[L.taskOf[i]!]!, (s, a) => 1.5 * s + 0.5 * L.lenZ[i]! * size[a]!)));

  it('IPS, SNIPS and DR are unbiased (< 0.01) with 90–98 % coverage of their 95 % intervals; DM bias is reported', () => {
    const seed = 1;
    const { truth, stats } = runTrials(L, logger, target, { trials: 300, n: 1500, seed, ope: { clip: 10, switchTau: 10 } });
    console.log(`llmrouter (seed ${seed}, 300 runs × 1,500 events)\n${statsTable('llmrouter', truth, stats)}`);
    expectUnbiasedWithCoverage(stats, seed);
    expect(Number.isFinite(stats.dm!.bias)).toBe(true);
  });

  it('the bootstrap percentile interval covers about as often (80 runs, 200 resamples)', () => {
    const seed = 3;
    const { truth, stats } = runTrials(L, logger, target, { trials: 80, n: 1500, seed, interval: 'bootstrap', ope: { bootstrap: 200, estimators: ['ips', 'snips', 'dr'] } });
    console.log(`llmrouter bootstrap (seed ${seed}, 80 runs × 1,500 events, 200 resamples)\n${statsTable('llmrouter', truth, stats)}`);
    for (const k of ['ips', 'snips', 'dr'] as const) {
      expect(stats[k]!.coverage, `${k} bootstrap coverage (seed ${seed})`).toBeGreaterThanOrEqual(0.85);
      expect(stats[k]!.coverage, `${k} bootstrap coverage (seed ${seed})`).toBeLessThanOrEqual(1);
    }
  });
});
