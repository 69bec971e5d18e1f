/**
 * The Alice world (`umbra bootstrap`, `umbra simulate`, tests and benchmarks): a seeded simulator
 * of Alice's traffic with Alice's own rule router as production and an exact ground truth.
 */
export * from './vocabulary.js';
export * from './world.js';
export * from './texts.js';
export * from './router.js';
export * from './outcome.js';
export * from './clock.js';
export * from './kpis.js';
export * from './serving.js';
export * from './engine.js';
export * from './format.js';
