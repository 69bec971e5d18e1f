/**
 * Off-policy evaluation: estimators, intervals, diagnostics, the reward model and the promotion
 * gates. Pure: callers bring the samples (see `LoggedSample`) or the decision events (`evaluateLog`).
 */
export * from './types.js';
export * from './weights.js';
export * from './intervals.js';
export * from './estimators.js';
export * from './reward-model.js';
export * from './log.js';
export * from './gates.js';
