/**
 * What the canary judge reads and writes: the aggregates of one slice since the canary started
 * (validated, so bad input becomes an ERROR check, never an exception), and the result of one check.
 */
import { z } from 'zod';
import { QuantileSketchStateSchema } from '../stats/quantile.js';

/** Outcome of one check. */
export const Outcome = {
  PASS: 'PASS',
  FAIL: 'FAIL',
  INSUFFICIENT_DATA: 'INSUFFICIENT_DATA',
  INCONCLUSIVE: 'INCONCLUSIVE',
  ERROR: 'ERROR',
} as const;
export type Outcome = (typeof Outcome)[keyof typeof Outcome];

const MomentSumsSchema = z.object({ n: z.number().int().min(0), sum: z.number(), sumSq: z.number().min(0) });

/** Aggregates of one slice since the canary started. Counts are of decisions assigned to the slice. */
export const SliceAggregatesSchema = z
  .object({
    /** Decisions assigned to the slice. */
    decisions: z.number().int().min(0),
    /**
     * Distinct randomisation units (sticky keys) seen in the slice. When both slices give it, the
     * sample-ratio check counts units, not decisions: keys are what the split assigns, and one key
     * sending many requests must not look like a mismatch.
     */
    units: z.number().int().min(0).optional(),
    /** Decisions where the slice's policy threw (the caller got the fallback). */
    policyErrors: z.number().int().min(0).default(0),
    /** Decisions where the slice's policy missed its deadline. */
    policyTimeouts: z.number().int().min(0).default(0),
    /** Decisions with an outcome so far (outcomes may arrive late). */
    outcomes: z.number().int().min(0),
    /** Outcomes with `success: true`. */
    successes: z.number().int().min(0),
    /** Outcomes that ended in an error or a fallback route. */
    errorOutcomes: z.number().int().min(0).default(0),
    /** Reward sums over outcomes with a reward. */
    reward: MomentSumsSchema,
    /** Cost (USD) sums over outcomes that reported a cost. */
    cost: MomentSumsSchema.default({ n: 0, sum: 0, sumSq: 0 }),
    /** Latency sketch (ms) over outcomes that reported a latency. */
    latency: QuantileSketchStateSchema.nullable().default(null),
  })
  .superRefine((s, ctx) => {
    if (s.successes > s.outcomes) ctx.addIssue({ code: 'custom', path: ['successes'], message: 'more successes than outcomes' });
    if (s.errorOutcomes > s.outcomes) ctx.addIssue({ code: 'custom', path: ['errorOutcomes'], message: 'more error outcomes than outcomes' });
    if (s.policyErrors + s.policyTimeouts > s.decisions) ctx.addIssue({ code: 'custom', path: ['policyErrors'], message: 'more policy failures than decisions' });
  });
export type SliceAggregates = z.output<typeof SliceAggregatesSchema>;
export type SliceAggregatesInput = z.input<typeof SliceAggregatesSchema>;

/** Empty aggregates (a helper for producers and tests). */
export function emptySlice(): SliceAggregates {
  return { decisions: 0, policyErrors: 0, policyTimeouts: 0, outcomes: 0, successes: 0, errorOutcomes: 0, reward: { n: 0, sum: 0, sumSq: 0 }, cost: { n: 0, sum: 0, sumSq: 0 }, latency: null };
}

/** An interval in a verdict (null ends are unbounded). */
export interface CheckInterval {
  lo: number | null;
  hi: number | null;
  /** Confidence level of the bound(s). */
  level: number;
  /** `anytime` for sequential bounds, `wilson`, `fixed` otherwise. */
  kind: 'anytime' | 'wilson' | 'fixed';
}

/** One check of a judgement. */
export interface CheckResult {
  /** Stable name, e.g. `guardrail.success_rate`. */
  name: string;
  kind: 'minimum' | 'hard' | 'guardrail' | 'primary' | 'srm';
  outcome: Outcome;
  /** What was computed, in words. */
  statistic: string;
  /** Its value (null when not computed). */
  value: number | null;
  n: { canary: number; control: number };
  interval: CheckInterval | null;
  /** The threshold the value or bound is compared with. */
  threshold: number | null;
  /** Alpha spent by this check (statistical checks). */
  alpha: number | null;
  /** The readable verdict line. */
  message: string;
}
