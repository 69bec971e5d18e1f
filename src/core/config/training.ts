/**
 * The `training` config section: how episodes become a dataset (time-ordered split, never random)
 * and which decision points are trained.
 */
import { z } from 'zod';
import { PolicyOverrideSchema } from './policies.js';

/** One candidate of model selection: a name and the policy settings that differ from the point's own. */
export const CandidateSchema = PolicyOverrideSchema.extend({
  /** Name in reports (unique). */
  name: z.string().min(1).max(64),
});
export type Candidate = z.output<typeof CandidateSchema>;

/**
 * The default candidate set: the point's configured policy, the sparse learner at two strengths of
 * L2 (light suits many clean labels, strong suits few noisy ones), the constant best action and the
 * production rules' own choice.
 */
export const DEFAULT_CANDIDATES: Candidate[] = [
  { name: 'configured' },
  { name: 'sparse', algorithm: 'sparse', l2: 0.01 },
  { name: 'sparse-strong-l2', algorithm: 'sparse', l2: 0.3 },
  { name: 'constant-best', algorithm: 'constant', constant_choice: 'best' },
  { name: 'rules', algorithm: 'constant', constant_choice: 'baseline' },
];

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
    /**
     * Model selection: each candidate (the point's policy settings with these changes) is trained on
     * the training window and estimated on the validation window; the one with the highest lower
     * confidence bound wins and is retrained on the whole window (docs/learning.md). The constant best
     * action is always in the set. Empty: train the configured policy only, as before selection.
     * @default DEFAULT_CANDIDATES
     */
    candidates: z
      .array(CandidateSchema)
      .refine((list) => new Set(list.map((c) => c.name)).size === list.length, 'candidate names must be unique')
      .default(DEFAULT_CANDIDATES.map((c) => ({ ...c }))),
    /** Interval whose lower bound selection compares (at promotion_criteria.confidence, with promotion_criteria.estimator). @default "normal" */
    selection_interval: z.enum(['normal', 'bernstein', 'bootstrap']).default('normal'),
    /** Retrain the chosen candidate on the whole window (training + validation) before packaging. @default true */
    refit: z.boolean().default(true),
  })
  .strict();

/** The effective `training` section. */
export type TrainingConfig = z.output<typeof TrainingConfigSchema>;
