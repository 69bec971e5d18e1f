/**
 * Off-policy evaluation: estimators, intervals, diagnostics and the reward model (the gates that
 * read its reports live in src/core/gates). Pure: callers bring the samples (see `LoggedSample`) or the decision events (`evaluateLog`).
 */
export * from './types.js';
export * from './weights.js';
export * from './intervals.js';
export * from './estimators.js';
export * from './reward-model.js';
export * from './log.js';

export * from './columns.js';
