/**
 * The decision API contract (HTTP, JSON), shared by the server, the TypeScript client and the
 * simulator. Whatever happens inside Umbra, the caller gets an action: on any failure it is the
 * caller's own `baselineAction` with `servedBy: "fallback"`.
 */
import { z } from 'zod';
import { ContextSchema, OutcomeSignalsSchema, type Context } from './events.js';

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

const DECIDE_KEYS = new Set(['point', 'context', 'actions', 'baselineAction', 'stickyKey', 'id']);

function optionalId(v: unknown): boolean {
  return v === undefined || (typeof v === 'string' && v.length >= 1 && v.length <= 256);
}

/**
 * The decide request when it is plainly valid, checked by hand; undefined for anything else
 * (including valid requests of a rarer shape), which `parseDecideRequest` leaves to the schema.
 * On the service's hot path the schema cost more than the decision itself.
 */
function fastDecideRequest(body: unknown): DecideRequestParsed | undefined {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const b = body as Record<string, unknown>;
  for (const k in b) if (!Object.hasOwn(b, k) || !DECIDE_KEYS.has(k)) return undefined;
  const { point, context, actions, baselineAction, stickyKey, id } = b;
  if (point !== undefined && (typeof point !== 'string' || point.length === 0)) return undefined;
  if (typeof context !== 'object' || context === null || Array.isArray(context) || Object.getPrototypeOf(context) !== Object.prototype) return undefined;
  const ctx = context as Record<string, unknown>;
  for (const k in ctx) {
    if (!Object.hasOwn(ctx, k)) return undefined;
    const v = ctx[k];
    if (v !== null && typeof v !== 'string' && typeof v !== 'boolean' && !(typeof v === 'number' && Number.isFinite(v))) return undefined;
  }
  if (!Array.isArray(actions) || actions.length === 0) return undefined;
  for (let i = 0; i < actions.length; i++) {
    const a: unknown = actions[i];
    if (typeof a !== 'string' || a.length === 0) return undefined;
    for (let j = 0; j < i; j++) if (actions[j] === a) return undefined;
  }
  if (typeof baselineAction !== 'string' || !(actions as string[]).includes(baselineAction)) return undefined;
  if (!optionalId(stickyKey) || !optionalId(id)) return undefined;
  const out: DecideRequestParsed = { point: point ?? 'route', context: { ...(ctx as Context) }, actions: [...(actions as string[])], baselineAction };
  if (stickyKey !== undefined) out.stickyKey = stickyKey as string;
  if (id !== undefined) out.id = id as string;
  return out;
}

/**
 * Parse a `POST /v1/decide` body: the same result as `DecideRequestSchema.safeParse` (a property
 * test compares them), fast for the plainly valid requests that make up the traffic.
 */
export function parseDecideRequest(body: unknown): ReturnType<typeof DecideRequestSchema.safeParse> {
  const fast = fastDecideRequest(body);
  return fast === undefined ? DecideRequestSchema.safeParse(body) : { success: true, data: fast };
}

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

/** `POST /v1/outcome` answer (HTTP 202): accepted for the decision log, joined by `id`. */
export const OutcomeAcceptedSchema = z.object({ ok: z.literal(true), id: z.string() });
export type OutcomeAccepted = z.infer<typeof OutcomeAcceptedSchema>;

const Count = z.number().int().min(0);
const Counts = z.record(z.string(), Count);
const NullableNumber = z.number().nullable();

/** The shared KPIs (rates as fractions, latency in ms); null when the window has no data. */
export const KpisSchema = z.object({
  toolPrecision: NullableNumber,
  successRate: NullableNumber,
  p95LatencyMs: NullableNumber,
  cacheHitRate: NullableNumber,
  policyValue: NullableNumber,
});

/** `GET /v1/status` answer: the rollout, the KPIs of the recent window and this server's counters. */
export const StatusResponseSchema = z.object({
  stage: z.string(),
  champion: z.string(),
  candidate: z.string().nullable(),
  canaryWeight: z.number(),
  previousChampions: z.array(z.string()),
  since: z.string(),
  kpis: KpisSchema,
  /** Episodes behind the KPIs. */
  kpiWindow: Count,
  uptimeS: Count,
  decisions: z.object({
    total: Count,
    bySlice: Counts,
    byServedBy: Counts,
    fallbacks: Counts.meta({ description: 'Decisions answered with the baseline, by reason.' }),
    latencyUs: z.object({ p50: NullableNumber, p99: NullableNumber }).meta({ description: 'Time to decide inside the server, in microseconds, over the recent decisions.' }),
  }),
  outcomes: z.object({ received: Count }),
  log: z.object({ logged: Count, dropped: Count, errors: Count }).meta({ description: 'Decision-log writes: logged, dropped (buffer full), errors (store failures).' }),
  shadow: z.object({
    candidates: z.array(z.string()),
    scored: Count,
    dropped: Count,
    shed: Count,
    errors: Count,
    timeouts: Count,
    queueDepth: Count,
  }),
  policyLoadFailures: z.record(z.string(), z.string()).meta({ description: 'Versions whose policies failed to load, with the reason.' }),
  judge: z.string().nullable().meta({ description: "The canary judge's last error, if any." }),
  audit: z.object({
    ok: z.boolean(),
    checkedAt: z.string(),
    records: Count,
    keys: z.enum(['verified', 'unchecked', 'absent', 'failed']),
    problem: z.string().optional(),
    anchors: z.record(z.string(), z.string()),
  }).nullable().meta({ description: 'The last check of the audit log (null before the first): when it fails, only the baseline is served.' }),
});
export type StatusResponse = z.infer<typeof StatusResponseSchema>;
