/**
 * The `sim` config section: defaults of the Alice simulator behind `umbra bootstrap` and
 * `umbra simulate` (the episode count and scenario stay in the seed's `bootstrap` section).
 */
import { z } from 'zod';

/** The `sim` section; every field has a default. */
export const SimConfigSchema = z
  .object({
    /** Days of traffic a bootstrap spreads its episodes over, ending at now (or --end). @default 7 */
    days: z.number().positive().max(3660).default(7),
    /** Seed of the world when --seed is not given. @default 0 */
    seed: z.number().int().min(0).default(0),
    /** Exploration floor of simulated production (0 = Alice's deterministic rules). @default 0 */
    exploration: z.number().min(0).lt(1).default(0),
    /** Alice's fixed cache similarity threshold. @default 0.9 */
    cache_threshold: z.number().gt(0).max(1).default(0.9),
    /** Share of turns Alice logs twice (the /api/chat duplicate with empty tool_calls). @default 0.1 */
    chat_duplicate_rate: z.number().min(0).max(1).default(0.1),
    /** A feedback event is written up to this many turns after its turn. @default 30 */
    max_feedback_delay: z.number().int().min(0).default(30),
    /** `umbra simulate`: requests per (real) second. @default 5 */
    rate: z.number().positive().default(5),
    /** `umbra simulate`: seconds of (real) time to run. @default 60 */
    duration_s: z.number().positive().default(60),
    /** `umbra simulate`: simulated seconds per real second. @default 1 */
    speedup: z.number().positive().default(1),
    /** `umbra simulate --server`: hard timeout of a decide call, in milliseconds. @default 50 */
    decide_timeout_ms: z.number().int().positive().default(50),
    /** `umbra simulate --server`: most requests waiting for the decision service at once. @default 64 */
    max_in_flight: z.number().int().positive().default(64),
  })
  .strict();

export type SimConfig = z.output<typeof SimConfigSchema>;
