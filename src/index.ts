/**
 * Umbra as a library: the pure core (events, reward, config, features, policies, evaluation,
 * rollout) and the adapters, for programs that embed Umbra instead of calling the CLI.
 */
export * from './core/errors.js';
export * from './core/events.js';
export * from './core/reward.js';
export * from './core/hash.js';
export * from './core/rng.js';
export * from './core/config/index.js';
export { VERSION } from './version.js';
