/**
 * Statistics for the rollout and monitoring: distributions, intervals, sequential tests valid under
 * continuous monitoring, the sample-ratio check, drift detectors and a quantile sketch. Pure code.
 */
export * from './normal.js';
export * from './gamma.js';
export * from './intervals.js';
export * from './sequential.js';
export * from './srm.js';
export * from './drift.js';
export * from './quantile.js';
