/**
 * Contextual-bandit policies with exact propensities: disjoint LinUCB and linear Thompson sampling
 * over the shared feature map, Beta–Bernoulli Thompson sampling per group, and one exploration
 * wrapper (epsilon-greedy, softmax, floor, conservative mode) that makes every distribution exact.
 */
import type { PolicySettings } from '../config/policies.js';
import type { FeatureMap } from '../features/index.js';
import { BetaTsPolicy } from './beta.js';
import { LinearPolicy } from './linear.js';
import type { Policy } from './policy.js';

export * from './policy.js';
export { LinearPolicy, type LinearParams } from './linear.js';
export { BetaTsPolicy, type BetaParams, groupKey, MISSING_GROUP, POOLED_GROUP } from './beta.js';
export { RidgeArm, type RidgeArmState } from './ridge.js';
export { finalDistribution, greedyFromScores, conservativeChoice, type ArmNumbers } from './explore.js';
export { probMaxNormal, probMaxBeta, ProbMaxScratch } from './probmax.js';
export * from './artifact.js';

/** A fresh (untrained) policy for a decision point. */
export function createPolicy(point: string, settings: PolicySettings, featureMap: FeatureMap): Policy {
  if (settings.algorithm === 'beta_ts') return new BetaTsPolicy(point, settings, featureMap);
  return new LinearPolicy(point, settings, featureMap);
}
