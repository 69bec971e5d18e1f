import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { RidgeRewardModel, Suff, assignFolds, crossFitFlat, crossFitPredictions, type RewardModelData } from './reward-model.js';
import { rowsOfDense } from '../features/rows.js';

/** y = 0.2 + 0.5·x1 for action 0 and 0.8 − 0.3·x1 for action 1, x1 uniform in [0, 1], bias in slot 0. */
function linearData(n: number, seed: number, noise = 0): RewardModelData {
  const rng = new Rng(seed);
  const features: Float64Array[] = [];
  const actions: number[] = [];
  const rewards: number[] = [];
  for (let i = 0; i < n; i++) {
    const x1 = rng.next();
    const a = rng.int(2);
    features.push(Float64Array.of(1, x1));
    actions.push(a);
    const y = a === 0 ? 0.2 + 0.5 * x1 : 0.8 - 0.3 * x1;
    rewards.push(Math.min(1, Math.max(0, y + noise * rng.normal())));
  }
  return { features, actions, rewards, nActions: 2 };
}

describe('ridge reward model', () => {
  it('recovers a linear reward per action (small penalty, no noise)', () => {
    // The centre carries one pseudo-event at the global mean: a shift of about 0.1/200 here.
    const m = RidgeRewardModel.fit(linearData(400, 1), { lambda: 1e-6 });
    const p = m.predict(Float64Array.of(1, 0.5));
    expect(Math.abs(p[0]! - 0.45)).toBeLessThan(1e-3);
    expect(Math.abs(p[1]! - 0.65)).toBeLessThan(1e-3);
    expect(Math.abs(m.predictOne(Float64Array.of(1, 0), 1) - 0.8)).toBeLessThan(1e-3);
    // the slopes are exact
    expect(m.predictOne(Float64Array.of(1, 1), 0) - m.predictOne(Float64Array.of(1, 0), 0)).toBeCloseTo(0.5, 6);
  });

  it('predicts the global mean for an action without data, and clips to [0, 1]', () => {
    const data: RewardModelData = {
      features: [Float64Array.of(1, 0), Float64Array.of(1, 1), Float64Array.of(1, 2)],
      actions: [0, 0, 0],
      rewards: [0, 0.5, 1],
      nActions: 2,
    };
    const m = RidgeRewardModel.fit(data, { lambda: 1e-9 });
    expect(m.predictOne(Float64Array.of(1, 5), 1)).toBeCloseTo(0.5, 12); // (0 + 0.5)/(0 + 1)
    expect(m.predictOne(Float64Array.of(1, 10), 0)).toBe(1);
    expect(m.predictOne(Float64Array.of(1, -10), 0)).toBe(0);
  });

  it('shrinks towards the action mean as the penalty grows', () => {
    const m = RidgeRewardModel.fit(linearData(200, 2), { lambda: 1e9 });
    const a = m.predictOne(Float64Array.of(1, 0), 0);
    const b = m.predictOne(Float64Array.of(1, 1), 0);
    expect(Math.abs(a - b)).toBeLessThan(1e-4);
  });
});

describe('cross-fitting', () => {
  it('assigns balanced folds reproducibly', () => {
    const f = assignFolds(103, 5, 9);
    const counts = [0, 0, 0, 0, 0];
    for (const x of f) counts[x]!++;
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    expect([...assignFolds(103, 5, 9)]).toEqual([...f]);
    expect([...assignFolds(103, 5, 10)]).not.toEqual([...f]);
  });

  it("never uses an event's own reward for its prediction", () => {
    const data = linearData(300, 3, 0.05);
    const before = crossFitPredictions(data, { folds: 5, seed: 1 });
    const changed = { ...data, rewards: Array.from(data.rewards) };
    changed.rewards[17] = 1 - changed.rewards[17]!;
    const after = crossFitPredictions(changed, { folds: 5, seed: 1 });
    expect([...after[17]!]).toEqual([...before[17]!]);
    // other folds did see it
    const fold = assignFolds(300, 5, 1);
    const other = [...fold.keys()].find((i) => fold[i] !== fold[17])!;
    expect([...after[other]!]).not.toEqual([...before[other]!]);
  });

  it('predicts close to the truth out of fold', () => {
    const data = linearData(1000, 4, 0.05);
    const pred = crossFitPredictions(data, { folds: 5, seed: 2, lambda: 0.1 });
    let err = 0;
    for (let i = 0; i < 1000; i++) {
      const x1 = (data.features as readonly Float64Array[])[i]![1]!;
      err += Math.abs(pred[i]![0]! - (0.2 + 0.5 * x1)) + Math.abs(pred[i]![1]! - (0.8 - 0.3 * x1));
    }
    expect(err / 2000).toBeLessThan(0.01);
  });
});

describe('sparse rows and dense vectors', () => {
  /** Vectors with many zeros (as feature vectors are), negative values and -0. */
  function vectors(n: number, d: number, seed: number): Float64Array[] {
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => Float64Array.from({ length: d }, (_, j) => (j === 0 ? 1 : rng.next() < 0.8 ? (rng.next() < 0.5 ? 0 : -0) : rng.normal() * 3)));
  }

  it('accumulate exactly the same sums', () => {
    const xs = vectors(500, 17, 9);
    const rows = rowsOfDense(xs);
    const dense = new Suff(17);
    const sparse = new Suff(17);
    xs.forEach((x, i) => {
      dense.add(x, (i % 7) / 7);
      sparse.addRow(rows, i, (i % 7) / 7);
    });
    expect([...sparse.xx]).toEqual([...dense.xx]);
    expect([...sparse.xy]).toEqual([...dense.xy]);
    expect([...sparse.sx]).toEqual([...dense.sx]);
    expect([sparse.sy, sparse.n]).toEqual([dense.sy, dense.n]);
  });

  it('give the same cross-fitted predictions, bit for bit', () => {
    const xs = vectors(800, 11, 4);
    const rng = new Rng(5);
    const actions = xs.map(() => rng.int(3));
    const rewards = xs.map(() => rng.next());
    const dense = crossFitPredictions({ features: xs, actions, rewards, nActions: 3 }, { folds: 4, seed: 8, lambda: 0.5 });
    const flat = crossFitFlat({ features: rowsOfDense(xs), actions, rewards, nActions: 3 }, { folds: 4, seed: 8, lambda: 0.5 });
    // The reference: the dense model predicting each row's own dense vector.
    const model = RidgeRewardModel.fit({ features: xs, actions, rewards, nActions: 3 }, { lambda: 0.5 });
    expect([...model.predict(xs[3]!)]).toEqual([model.predictOne(xs[3]!, 0), model.predictOne(xs[3]!, 1), model.predictOne(xs[3]!, 2)]);
    expect(dense.flatMap((p) => [...p])).toEqual([...flat]);
  });
});

