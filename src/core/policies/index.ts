/**
 * Contextual-bandit policies with exact propensities: disjoint LinUCB and linear Thompson sampling
 * over the dense feature map, reward regression on the sparse one, Beta–Bernoulli Thompson sampling
 * per group, the constant policy (the yardstick of model selection), and one exploration
 * wrapper (epsilon-greedy, softmax, floor, conservative mode) that makes every distribution exact.
 */
import type { PolicySettings } from '../config/policies.js';
import type { FeatureMap } from '../features/index.js';
import { BetaTsPolicy } from './beta.js';
import { ConstantPolicy } from './constant.js';
import { LinearPolicy } from './linear.js';
import type { Policy } from './policy.js';
import { SparsePolicy } from './sparse.js';

export * from './policy.js';
export { LinearPolicy, type LinearParams } from './linear.js';
export { SparsePolicy, type SparseParams, importanceWeights, MAX_IMPORTANCE_WEIGHT } from './sparse.js';
export { SparseModel, actionSalt, encodeTable, decodeTable, type SparseExamples, type SparseTable } from './sparse-model.js';
export { ConstantPolicy, type ConstantParams } from './constant.js';
export { BetaTsPolicy, type BetaParams, groupKey, MISSING_GROUP, POOLED_GROUP } from './beta.js';
export { RidgeArm, type RidgeArmState } from './ridge.js';
export { finalDistribution, greedyFromScores, conservativeChoice, type ArmNumbers } from './explore.js';
export { probMaxNormal, probMaxBeta, ProbMaxScratch } from './probmax.js';
export * from './artifact.js';

/** A fresh (untrained) policy for a decision point. */
export function createPolicy(point: string, settings: PolicySettings, featureMap: FeatureMap): Policy {
  switch (settings.algorithm) {
    case 'beta_ts':
      return new BetaTsPolicy(point, settings, featureMap);
    case 'sparse':
      return new SparsePolicy(point, settings, featureMap);
    case 'constant':
      return new ConstantPolicy(point, settings, featureMap);
    default:
      return new LinearPolicy(point, settings, featureMap);
  }
}
