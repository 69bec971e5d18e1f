/**
 * The `ope` config section: how off-policy evaluation runs (estimator settings, intervals, the
 * reward model behind DM/DR) and which interval the promotion gates use. The gate thresholds
 * themselves are the seed's `promotion_criteria` section.
 */
import { z } from 'zod';

/** The estimators `ope.estimators` may name. */
export const OPE_ESTIMATOR_NAMES = ['ips', 'clipped_ips', 'snips', 'dm', 'dr', 'switch_dr'] as const;

/** The `ope` section. */
export const OpeConfigSchema = z
  .object({
    /** Estimators computed by `umbra ope` and the pipeline. @default ["ips", "clipped_ips", "snips", "dm", "dr", "switch_dr"] */
    estimators: z.array(z.enum(OPE_ESTIMATOR_NAMES)).min(1).default([...OPE_ESTIMATOR_NAMES]),
    /** Weight cap of clipped IPS. @default 100 */
    clip: z.number().positive().default(100),
    /** Switch-DR threshold: events with a larger importance weight use the reward model only. @default 20 */
    switch_tau: z.number().positive().default(20),
    /** Bootstrap resamples (0: normal and Bernstein intervals only). @default 0 */
    bootstrap: z.number().int().min(0).max(100_000).default(0),
    /** Seed of the bootstrap and of the reward model's folds. @default 0 */
    seed: z.number().int().min(0).default(0),
    /** An effective sample size below this is flagged `low_ess` in reports. @default 100 */
    min_ess_warn: z.number().min(0).default(100),
    /** A weight tail index (GPD shape) above this is flagged `heavy_tail`. @default 0.7 */
    max_tail_index: z.number().positive().default(0.7),
    /** A support deficit above this is flagged `support_deficit` in reports. @default 0.01 */
    support_warn: z.number().min(0).max(1).default(0.01),
    /**
     * Interval whose lower bound the promotion gates use: `bernstein` (finite-sample, robust to heavy
     * tails), `normal` (CLT) or `bootstrap` (needs `bootstrap` > 0). @default "bernstein"
     */
    gate_interval: z.enum(['bernstein', 'normal', 'bootstrap']).default('bernstein'),
    /** Folds of the cross-fitted reward model (DM, DR, Switch-DR). @default 5 */
    model_folds: z.number().int().min(2).max(20).default(5),
    /** Ridge penalty of the reward model. @default 1 */
    model_lambda: z.number().positive().default(1),
    /**
     * A logged event without a target distribution (`umbra ope --target`): `error` stops with the
     * missing ids; `skip` leaves it out and counts it (the estimate then covers fewer events). @default "error"
     */
    missing_target: z.enum(['error', 'skip']).default('error'),
  })
  .strict();

/** The effective `ope` section. */
export type OpeConfig = z.output<typeof OpeConfigSchema>;
