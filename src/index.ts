/**
 * Umbra as a library: the pure core (events, reward, config, features, policies, evaluation,
 * rollout, statistics, the Alice simulator) and the adapters (store, ingestion), for programs that
 * embed Umbra instead of calling the CLI. The decision-API client is `umbra/client`.
 */
export * from './core/errors.js';
export * from './core/events.js';
export * from './core/api.js';
export * from './core/reward.js';
export * from './core/hash.js';
export * from './core/rng.js';
export * from './core/text.js';
export * from './core/config/index.js';
export * as features from './core/features/index.js';
export * as policies from './core/policies/index.js';
export * as ope from './core/ope/index.js';
export * as rollout from './core/rollout/index.js';
export * as stats from './core/stats/index.js';
export * as sim from './core/sim/index.js';
export * as telemetry from './core/telemetry/index.js';
export * as store from './store/index.js';
export { ingest } from './ingest/ingest.js';
export { loadLog } from './ingest/load.js';
export { VERSION } from './version.js';
