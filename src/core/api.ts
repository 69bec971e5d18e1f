/**
 * The decision API contract (HTTP, JSON), shared by the server, the TypeScript client and the
 * simulator. Whatever happens inside Umbra, the caller gets an action: on any failure it is the
 * caller's own `baselineAction` with `servedBy: "fallback"`.
 */
import { z } from 'zod';
import { ContextSchema, OutcomeSignalsSchema } from './events.js';

/** Who served a decision. */
export const ServedBy = {
  PRODUCTION: 'production',
  CANARY: 'canary',
  CONTROL: 'control',
  FALLBACK: 'fallback',
} as const;
export type ServedBy = (typeof ServedBy)[keyof typeof ServedBy];

/** `POST /v1/decide` body. */
export const DecideRequestSchema = z
  .object({
    point: z.string().min(1).default('route'),
    context: ContextSchema,
    actions: z.array(z.string().min(1)).min(1),
    baselineAction: z.string().min(1),
    stickyKey: z.string().min(1).max(256).optional(),
    id: z.string().min(1).max(256).optional(),
  })
  .refine((r) => r.actions.includes(r.baselineAction), { message: 'baselineAction must be one of actions', path: ['baselineAction'] })
  .refine((r) => new Set(r.actions).size === r.actions.length, { message: 'actions must be distinct', path: ['actions'] });
export type DecideRequest = z.input<typeof DecideRequestSchema>;
export type DecideRequestParsed = z.output<typeof DecideRequestSchema>;

/** `POST /v1/decide` answer. */
export const DecideResponseSchema = z.object({
  id: z.string(),
  action: z.string(),
  propensity: z.number().gt(0).max(1),
  servedBy: z.enum(['production', 'canary', 'control', 'fallback']),
  stage: z.string(),
  policyVersion: z.string(),
  /** Why the baseline was served, when `servedBy` is `fallback`. */
  reason: z.string().optional(),
});
export type DecideResponse = z.infer<typeof DecideResponseSchema>;

/** `POST /v1/outcome` body: a reward, raw signals, or both; may arrive late and more than once. */
export const OutcomeRequestSchema = z
  .object({
    id: z.string().min(1).max(256),
    reward: z.number().min(0).max(1).optional(),
    outcome: OutcomeSignalsSchema.optional(),
  })
  .refine((r) => r.reward !== undefined || r.outcome !== undefined, { message: 'give reward or outcome' });
export type OutcomeRequest = z.infer<typeof OutcomeRequestSchema>;

/** The policy version reported when the caller's own rules served. */
export const BASELINE_POLICY_VERSION = 'baseline';
