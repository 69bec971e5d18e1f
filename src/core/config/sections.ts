/**
 * Config sections owned by the seed's names. Sections owned by a module (reward, features,
 * telemetry, policies, rollout, server, alerts) live beside that module's config file in this folder.
 */
import { z } from 'zod';

/** The seed's `shadow_mode` section, plus Umbra's controller settings. */
export const ShadowModeSchema = z
  .object({
    /** Hours between retrainings (fractions allowed). @default 6 */
    retrain_interval_hours: z.number().positive().default(6),
    /** New episodes needed before a scheduled retraining. @default 50 */
    min_new_episodes: z.number().int().min(1).default(50),
    /**
     * New episodes that trigger a retraining before the interval is over; 0 turns the early trigger
     * off, so retraining follows `retrain_interval_hours` (the first training and explicit
     * requests aside). @default 0
     */
    early_retrain_episodes: z.number().int().min(0).default(0),
    /** Shortest time between two retrainings started by the early trigger, in minutes. @default 30 */
    min_retrain_gap_minutes: z.number().min(0).default(30),
    /** Relative improvement the seed asks of a shadow policy (0.05 = 5 %). @default 0.05 */
    promotion_threshold: z.number().min(0).default(0.05),
    /** Where candidate artifacts are kept, relative to the data directory. @default "shadow_models" */
    shadow_models_dir: z.string().min(1).default('shadow_models'),
    /** Alice's telemetry: a file, a directory of dated files, or a glob. @default "services/orchestrator/telemetry.jsonl" */
    telemetry_path: z.string().min(1).default('services/orchestrator/telemetry.jsonl'),
    /** Bounded queue between ingestion and shadow scoring. @default 10000 */
    queue_size: z.number().int().min(1).default(10_000),
    /** Per-event time budget of a candidate, in milliseconds. @default 5 */
    time_budget_ms: z.number().positive().default(5),
    /** Exploration settings trained side by side as challengers at every retraining. @default [0.02, 0.05, 0.1] */
    challenger_epsilons: z.array(z.number().min(0).max(1)).min(1).default([0.02, 0.05, 0.1]),
  })
  .strict();

/** The seed's `bootstrap` section. */
export const BootstrapSchema = z
  .object({
    /** @default 2000 */
    episodes: z.number().int().min(1).default(2000),
    /** @default "realistic" */
    scenario: z.enum(['realistic', 'optimistic', 'pessimistic', 'drift']).default('realistic'),
    /** Follow the hour-of-day and weekday traffic pattern. @default true */
    daily_patterns: z.boolean().default(true),
  })
  .strict();

/** The seed's `promotion_criteria`, made sound (docs/evaluation.md). */
export const PromotionCriteriaSchema = z
  .object({
    /** The candidate's lower bound must beat production's estimate by this many percent. @default 5 */
    min_improvement_pct: z.number().default(5),
    /** The candidate's lower bound must reach this value. @default 0.65 */
    min_policy_value: z.number().min(0).max(1).default(0.65),
    /** The estimator's variance must not exceed this. @default 0.1 */
    max_variance: z.number().min(0).default(0.1),
    /** New episodes since the last training. @default 100 */
    min_episodes: z.number().int().min(0).default(100),
    /** Largest allowed drop of the success rate versus production (fraction). @default 0.01 */
    max_success_drop: z.number().min(0).max(1).default(0.01),
    /** Smallest effective sample size for the estimate to count. @default 50 */
    min_ess: z.number().min(0).default(50),
    /** Largest share of target mass without logger support. @default 0.05 */
    max_support_deficit: z.number().min(0).max(1).default(0.05),
    /** Confidence level of the intervals the gates use. @default 0.95 */
    confidence: z.number().gt(0.5).lt(1).default(0.95),
    /** Estimator the gates use. @default "dr" */
    estimator: z.enum(['ips', 'snips', 'dr', 'switch_dr']).default('dr'),
  })
  .strict();
