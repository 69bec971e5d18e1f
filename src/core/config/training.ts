/**
 * The `training` config section: how episodes become a dataset (time-ordered split, never random)
 * and which decision points are trained.
 */
import { z } from 'zod';

/** The `training` section. */
export const TrainingConfigSchema = z
  .object({
    /** Share of each point's latest episodes held out for validation (time-ordered, never random). @default 0.2 */
    validation_fraction: z.number().min(0).lt(1).default(0.2),
    /** Seed of everything random during training (recorded in artifacts). @default 42 */
    seed: z.number().int().min(0).max(0xffffffff).default(42),
    /** A point with fewer training episodes than this is reported and not trained. @default 20 */
    min_episodes: z.number().int().min(1).default(20),
    /** Decision points to train; empty means every point found in the data. @default [] */
    points: z.array(z.string().min(1)).default([]),
  })
  .strict();

/** The effective `training` section. */
export type TrainingConfig = z.output<typeof TrainingConfigSchema>;
