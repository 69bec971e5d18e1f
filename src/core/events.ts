/**
 * The canonical decision log, format v1 (see docs/decision-log.md). Field names are fixed: other
 * programs rely on them. These zod schemas are the single source of truth; `schemas/*.json` is
 * generated from them and pinned by a snapshot test.
 */
import { z } from 'zod';

/** Tolerance for a distribution summing to one. */
export const PROB_SUM_TOLERANCE = 1e-6;

/** A context value: categories and free text (strings), numbers, booleans, or null. */
export const ContextValueSchema = z.union([z.string(), z.number(), z.boolean(), z.null()]);
export type ContextValue = z.infer<typeof ContextValueSchema>;

/** What was known before deciding. Never the action or anything measured after it. */
export const ContextSchema = z.record(z.string(), ContextValueSchema);
export type Context = z.infer<typeof ContextSchema>;

/** ISO-8601 timestamp with an offset or `Z`. */
export const TimestampSchema = z.iso.datetime({ offset: true });

/**
 * Plausibility bounds of numeric outcome signals: a latency over a day or a cost over 1,000 USD for
 * one request is a unit mix-up or a broken clock, not a measurement. Canonical events and
 * `/v1/outcome` bodies beyond them are refused (quarantined as `schema_invalid`, or 400
 * `E_SCHEMA`); Alice's shapes drop the value with an `implausible_dropped` warning and keep the rest.
 */
export const MAX_LATENCY_MS = 86_400_000;
/** @see MAX_LATENCY_MS */
export const MAX_COST_USD = 1_000;

/** Raw outcome signals from which the configured reward function computes the reward. */
export const OutcomeSignalsSchema = z.object({
  success: z.boolean().optional(),
  tool_ok: z.boolean().optional(),
  latency_ms: z.number().min(0).max(MAX_LATENCY_MS).optional(),
  cost_usd: z.number().min(0).max(MAX_COST_USD).optional(),
  cache_hit: z.boolean().optional(),
  guard_flag: z.boolean().optional(),
  feedback: z.union([z.literal(-1), z.literal(0), z.literal(1)]).optional(),
});
export type OutcomeSignals = z.infer<typeof OutcomeSignalsSchema>;

const EventId = z.string().min(1).max(256);

/** A decision event: one decision at one decision point. */
export const DecisionEventSchema = z
  .object({
    v: z.literal(1),
    id: EventId,
    ts: TimestampSchema,
    point: z.string().min(1).default('route'),
    context: ContextSchema,
    actions: z.array(z.string().min(1)).min(1),
    action: z.string().min(1),
    propensity: z.number().gt(0).max(1).optional(),
    probs: z.record(z.string(), z.number().min(0).max(1)).optional(),
    policy: z.string().min(1).optional(),
    baseline: z.string().min(1).optional(),
    reward: z.number().min(0).max(1).optional(),
    outcome: OutcomeSignalsSchema.optional(),
  })
  .superRefine((e, ctx) => {
    if (new Set(e.actions).size !== e.actions.length) {
      ctx.addIssue({ code: 'custom', path: ['actions'], message: 'actions must be distinct' });
    }
    if (!e.actions.includes(e.action)) {
      ctx.addIssue({ code: 'custom', path: ['action'], message: `action "${e.action}" is not one of actions` });
    }
    if (e.baseline !== undefined && !e.actions.includes(e.baseline)) {
      ctx.addIssue({ code: 'custom', path: ['baseline'], message: `baseline "${e.baseline}" is not one of actions` });
    }
    if (e.probs !== undefined) {
      let sum = 0;
      for (const [a, p] of Object.entries(e.probs)) {
        if (!e.actions.includes(a)) {
          ctx.addIssue({ code: 'custom', path: ['probs', a], message: `probs names "${a}", which is not one of actions` });
        }
        sum += p;
      }
      if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
        ctx.addIssue({ code: 'custom', path: ['probs'], message: `probs sum to ${sum}, not 1` });
      }
      const pa = e.probs[e.action];
      if (e.propensity !== undefined && pa !== undefined && Math.abs(pa - e.propensity) > PROB_SUM_TOLERANCE) {
        ctx.addIssue({ code: 'custom', path: ['propensity'], message: `propensity ${e.propensity} differs from probs[action] ${pa}` });
      }
      if (pa === undefined || pa <= 0) {
        ctx.addIssue({ code: 'custom', path: ['probs', e.action], message: 'the served action must have positive probability' });
      }
    }
  });
export type DecisionEvent = z.output<typeof DecisionEventSchema>;
export type DecisionEventInput = z.input<typeof DecisionEventSchema>;

/** An outcome event: completes (or amends) the reward of a decision, possibly late, possibly twice. */
export const OutcomeEventSchema = z.object({
  v: z.literal(1),
  kind: z.literal('outcome'),
  id: EventId,
  ts: TimestampSchema,
  reward: z.number().min(0).max(1).optional(),
  outcome: OutcomeSignalsSchema.optional(),
});
export type OutcomeEvent = z.infer<typeof OutcomeEventSchema>;

/** One line of `umbra ope --target`: the evaluated policy's distribution for one logged event. */
export const TargetProbsSchema = z.object({
  id: EventId,
  probs: z.record(z.string(), z.number().min(0).max(1)),
});
export type TargetProbs = z.infer<typeof TargetProbsSchema>;

/** One input line of `umbra policy score` (extra fields are ignored). */
export const ScoreInputSchema = z.object({
  id: EventId,
  context: ContextSchema,
  actions: z.array(z.string().min(1)).min(1),
  baseline: z.string().min(1).optional(),
});
export type ScoreInput = z.infer<typeof ScoreInputSchema>;

/** One output line of `umbra policy score`. */
export const PolicyScoreSchema = TargetProbsSchema;
export type PolicyScore = TargetProbs;

/** What a shadow candidate would have done; written by Umbra only, apart from production data. */
export const ShadowRecordSchema = z.object({
  v: z.literal(1),
  id: EventId,
  candidate: z.string().min(1),
  action: z.string().min(1),
  probs: z.record(z.string(), z.number().min(0).max(1)),
  ts: TimestampSchema,
  latency_us: z.number().min(0),
});
export type ShadowRecord = z.infer<typeof ShadowRecordSchema>;

/** The KPI names shared by every JSON output, the HTTP status and the dashboard. */
export const KPI_NAMES = ['toolPrecision', 'successRate', 'p95LatencyMs', 'cacheHitRate', 'policyValue'] as const;
export type KpiName = (typeof KPI_NAMES)[number];
export type Kpis = Record<KpiName, number | null>;

/** The seed's baseline (Alice's 53-scenario harness) and targets. */
export const SEED_BASELINE: Readonly<Record<KpiName, number>> = {
  toolPrecision: 0.547,
  successRate: 0.83,
  p95LatencyMs: 9580,
  cacheHitRate: 0.3,
  policyValue: 0.65,
};
export const SEED_TARGET: Readonly<Record<KpiName, number>> = {
  toolPrecision: 0.85,
  successRate: 0.95,
  p95LatencyMs: 500,
  cacheHitRate: 0.6,
  policyValue: 0.8,
};
