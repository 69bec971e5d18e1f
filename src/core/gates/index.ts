/**
 * Every gate of the lifecycle in one place: the offline gates on an off-policy evaluation
 * (`evaluateOfflineGates`, the seed's promotion criteria made sound), their verdict as a bundle
 * stores it (`storedOfflineGates`), the shadow → canary gate (`shadowGates`), and the verdict a
 * rollout transition carries (`GateReport`). The canary judge turns its verdict into the same
 * `GateReport` (src/core/rollout/judge.ts, `gateFromVerdict`).
 */
export * from './verdict.js';
export * from './offline.js';
export * from './stored.js';
export * from './shadow.js';
