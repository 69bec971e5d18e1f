/**
 * The `rollout` config section: every threshold of the shadow → canary → production state machine
 * and its canary judge (docs/rollout.md). Durations are in seconds, rates and weights are fractions.
 */
import { z } from 'zod';

/** One guardrail: harm beyond max(floor_abs, floor_rel × control value) is what the test looks for. */
function guardrail(floorAbs: number, floorRel: number, what: string) {
  return z
    .object({
      /** Whether this guardrail is checked (alpha is split across the enabled ones). @default true */
      enabled: z.boolean().default(true),
      /** Smallest harm that matters, in the metric's unit. */
      floor_abs: z.number().min(0).default(floorAbs),
      /** Smallest harm that matters, relative to the control slice's value (0.1 = 10 %). */
      floor_rel: z.number().min(0).default(floorRel),
    })
    .strict()
    .describe(what);
}

/** Hard breakers: no statistics, just caps on the candidate's own failures. */
export const HardBreakersSchema = z
  .object({
    /** Largest share of canary decisions where the candidate policy threw. @default 0.05 */
    max_error_rate: z.number().min(0).max(1).default(0.05),
    /** Largest share of canary decisions where the candidate missed its deadline. @default 0.05 */
    max_timeout_rate: z.number().min(0).max(1).default(0.05),
    /** Canary decisions needed before a breaker may trip. @default 50 */
    min_decisions: z.number().int().min(1).default(50),
  })
  .strict();

/** The guardrails (harm only, one-sided sequential tests). */
export const GuardrailsSchema = z
  .object({
    /** Success rate (harm = control − canary). Floors: 1 point absolute. @default { enabled: true, floor_abs: 0.01, floor_rel: 0 } */
    success_rate: guardrail(0.01, 0, 'success rate: harm = control − canary').prefault({}),
    /** Error/fallback outcome rate (harm = canary − control). @default { enabled: true, floor_abs: 0.01, floor_rel: 0 } */
    error_rate: guardrail(0.01, 0, 'error or fallback rate: harm = canary − control').prefault({}),
    /** p95 latency in ms (harm = canary − control). @default { enabled: true, floor_abs: 50, floor_rel: 0.1 } */
    p95_latency_ms: guardrail(50, 0.1, 'p95 latency (ms): harm = canary − control').prefault({}),
    /** Mean cost per request in USD (harm = canary − control). @default { enabled: true, floor_abs: 0.0002, floor_rel: 0.1 } */
    cost_per_request: guardrail(0.0002, 0.1, 'cost per request (USD): harm = canary − control').prefault({}),
  })
  .strict();

/** Drift detection on the reward stream after 100 %. */
export const DriftSchema = z
  .object({
    /** Which detector watches the reward stream. @default "page_hinkley" */
    detector: z.enum(['page_hinkley', 'cusum']).default('page_hinkley'),
    /** Page-Hinkley: tolerated drift per event (reward units). @default 0.02 */
    delta: z.number().min(0).default(0.02),
    /** Page-Hinkley: alarm threshold. @default 40 */
    lambda: z.number().positive().default(40),
    /** Page-Hinkley: events before any alarm. @default 100 */
    min_samples: z.number().int().min(1).default(100),
    /** CUSUM: slack per event (reward units). @default 0.05 */
    cusum_k: z.number().min(0).default(0.05),
    /** CUSUM: alarm threshold. @default 25 */
    cusum_h: z.number().positive().default(25),
    /** CUSUM: events that fix the reference mean. @default 2000 */
    cusum_burn_in: z.number().int().min(1).default(2000),
    /** Which direction of change raises an alert. @default "down" */
    direction: z.enum(['down', 'up', 'both']).default('down'),
  })
  .strict();

/** The `rollout` section. */
export const RolloutConfigSchema = z
  .object({
    /** `auto` promotes when the gates pass; `manual` waits for `umbra rollout promote`. Rollbacks are automatic in both. @default "auto" */
    mode: z.enum(['auto', 'manual']).default('auto'),
    /** Seconds between canary judgements. @default 60 */
    check_interval_s: z.number().positive().default(60),
    /** Canary share of sticky keys, as a fraction; an equal control slice is carved out beside it. At most 0.5. @default 0.05 */
    canary_weight: z.number().gt(0).max(0.5).default(0.05),
    /** Minimum time in shadow before canary. @default 3600 */
    shadow_min_duration_s: z.number().min(0).default(3600),
    /** Minimum decisions scored in shadow before canary. @default 100 */
    shadow_min_decisions: z.number().int().min(0).default(100),
    /** Minimum canary wall time before promotion (24 h). @default 86400 */
    canary_min_duration_s: z.number().min(0).default(86_400),
    /** Minimum decisions per slice (canary and control) before promotion. @default 2000 */
    canary_min_decisions_per_slice: z.number().int().min(1).default(2000),
    /** `any`: the minimum is met by either the duration or the decisions; `all`: both are needed. @default "any" */
    canary_min_rule: z.enum(['any', 'all']).default('any'),
    /** A canary that has not earned promotion after this long pauses for a human (7 days). @default 604800 */
    canary_max_duration_s: z.number().positive().default(604_800),
    /** Outcomes per slice before a statistical check says anything but INSUFFICIENT_DATA. @default 100 */
    min_outcomes_per_check: z.number().int().min(2).default(100),
    /** Type-I error of all guardrails together (split equally across the enabled ones). @default 0.05 */
    guardrail_alpha: z.number().gt(0).lt(0.5).default(0.05),
    /** Type-I error of the primary non-inferiority test. @default 0.05 */
    primary_alpha: z.number().gt(0).lt(0.5).default(0.05),
    /** Non-inferiority margin on the reward (0.01 = 1 point on the [0, 1] scale). @default 0.01 */
    noninferiority_margin: z.number().min(0).max(1).default(0.01),
    /** Samples per slice at which the sequential bounds are tightest; 0 means canary_min_decisions_per_slice. @default 0 */
    sequential_plan_samples: z.number().int().min(0).default(0),
    /** A sample-ratio mismatch below this p-value pauses the canary. @default 0.001 */
    srm_p: z.number().gt(0).lt(1).default(0.001),
    /** Decisions (canary + control) before the sample-ratio check is run. @default 200 */
    srm_min_decisions: z.number().int().min(2).default(200),
    /** Consecutive ERROR judgements that make the canary blind. @default 4 */
    blind_consecutive_errors: z.number().int().min(1).default(4),
    /** …and the least time they must span, in seconds, before blindness rolls back. @default 900 */
    blind_window_s: z.number().min(0).default(900),
    /** Wait after a rollback or abort before `retry` is allowed. @default 1800 */
    retry_cooldown_s: z.number().min(0).default(1800),
    /** A version rolled back this many times is rejected for good. @default 2 */
    max_rollbacks: z.number().int().min(1).default(2),
    /** Previous champions kept loaded for instant rollback. @default 3 */
    keep_champions: z.number().int().min(1).max(20).default(3),
    /** Relative accuracy of the latency sketches (p95 within this fraction). @default 0.01 */
    latency_sketch_accuracy: z.number().gt(0).max(0.1).default(0.01),
    hard_breakers: HardBreakersSchema.prefault({}),
    guardrails: GuardrailsSchema.prefault({}),
    drift: DriftSchema.prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // The sketch rounds p95 by up to its accuracy in each slice; a floor below twice that could
    // let rounding alone look like harm.
    const lat = c.guardrails.p95_latency_ms;
    if (lat.enabled && lat.floor_rel < 2 * c.latency_sketch_accuracy) {
      ctx.addIssue({ code: 'custom', path: ['guardrails', 'p95_latency_ms', 'floor_rel'], message: `must be at least twice latency_sketch_accuracy (${2 * c.latency_sketch_accuracy})` });
    }
  });

export type RolloutConfig = z.output<typeof RolloutConfigSchema>;
export type RolloutConfigInput = z.input<typeof RolloutConfigSchema>;

/** The rollout section with defaults applied to `partial` (throws a ZodError on invalid input). */
export function rolloutConfig(partial: RolloutConfigInput = {}): RolloutConfig {
  return RolloutConfigSchema.parse(partial);
}
