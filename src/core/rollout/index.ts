/**
 * The pure core of the safe rollout: sticky bucketing, the state machine, the canary judge and the
 * hash-chained audit log, and the drift watch after 100 %. The decision service persists the state and the log and calls these.
 */
export * from './bucketing.js';
export * from './machine.js';
export * from './judge.js';
export * from './audit.js';
export * from './drift.js';
export * from './fold.js';
export * from './ledger.js';
