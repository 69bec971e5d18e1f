/**
 * The admin rollout endpoints' contract (`/v1/admin/rollout/...`, behind the bearer token): the
 * manual actions, the body each one reads, and the answers. The server validates with these
 * schemas and the OpenAPI document (core/openapi.ts) is generated from them, so the two cannot
 * disagree.
 */
import { z } from 'zod';
import { AuditRecordSchema } from './rollout/audit.js';
import { MAX_CANARY_WEIGHT } from './rollout/bucketing.js';

/** The manual rollout actions, in the order the docs list them. */
export const ROLLOUT_ACTIONS = ['promote', 'pause', 'resume', 'abort', 'rollback', 'retry'] as const;
export type RolloutAction = (typeof ROLLOUT_ACTIONS)[number];

const Reason = z.string().max(2000).meta({ description: 'Why; recorded in the audit log. Needed with `force`, and for hand-made pause, resume, abort, rollback and retry.' });

/** Every field an action body may carry; each action reads the subset in `ROLLOUT_ACTION_BODY`. */
const ActionBodyFields = z.object({
  reason: Reason.optional(),
  force: z.boolean().optional().meta({ description: 'Override failing gates (needs `reason`); the override and the gates it overrode are recorded.' }),
  weight: z.number().min(0).max(MAX_CANARY_WEIGHT).optional().meta({ description: `Canary weight of a shadow → canary promotion (a fraction, at most ${MAX_CANARY_WEIGHT}); default rollout.canary_weight.` }),
  id: z.string().min(1).max(256).optional().meta({ description: 'The rolled-back or aborted version to retry; default the last candidate.' }),
});

/** The body of each action (unknown keys are ignored, as everywhere in the API). */
export const ROLLOUT_ACTION_BODY = {
  promote: ActionBodyFields.pick({ reason: true, force: true, weight: true }),
  pause: ActionBodyFields.pick({ reason: true }),
  resume: ActionBodyFields.pick({ reason: true, force: true }),
  abort: ActionBodyFields.pick({ reason: true }),
  rollback: ActionBodyFields.pick({ reason: true }),
  retry: ActionBodyFields.pick({ reason: true, id: true }),
} as const satisfies Record<RolloutAction, z.ZodType>;
export type RolloutActionBody = z.infer<typeof ActionBodyFields>;

/** What every action answers: the last audit record it wrote. */
export const RolloutActionResponseSchema = z.object({
  ok: z.literal(true),
  event: z.string().meta({ description: 'The audit event written last (e.g. `promote`, `pause`, `rollback`).' }),
  from: z.string().nullable(),
  to: z.string().nullable(),
  version: z.string().nullable(),
  message: z.string(),
});
export type RolloutActionResponse = z.infer<typeof RolloutActionResponseSchema>;

/** `POST /v1/admin/rollout/register` body: a trained policy on the service's host, put into the shadow. */
export const RolloutRegisterRequestSchema = z.object({
  artifact: z.string().min(1).max(4096).meta({ description: 'Path, on the host of the service, of a policy artifact or of a `umbra pipeline` manifest.json (or its directory); relative paths are relative to the service\'s working directory.' }),
  point: z.string().min(1).max(256).optional().meta({ description: 'Only this decision point of a manifest; an artifact must be for this point.' }),
  reason: Reason.min(1),
});
export type RolloutRegisterRequest = z.infer<typeof RolloutRegisterRequestSchema>;

/** `POST /v1/admin/rollout/register` answer: the last audit record, and what was registered. */
export const RolloutRegisterResponseSchema = RolloutActionResponseSchema.extend({
  points: z.array(z.string()).meta({ description: 'The decision points the candidate decides.' }),
  offline: z.object({ passed: z.boolean(), summary: z.string() }).nullable().meta({ description: 'The offline verdict the artifact carries (null when it carries no evaluation).' }),
});
export type RolloutRegisterResponse = z.infer<typeof RolloutRegisterResponseSchema>;

/** `GET /v1/admin/rollout/history` query. */
export const RolloutHistoryQuerySchema = z.object({
  at: z.string().optional().meta({ description: 'An ISO-8601 time or epoch milliseconds: answer which policy served production then, instead of the whole log.' }),
});

/** `GET /v1/admin/rollout/history` answer: the whole audit log, or the champion at `at`. */
export const RolloutHistoryResponseSchema = z.union([
  z.object({ records: z.array(AuditRecordSchema) }),
  z.object({
    at: z.string(),
    champion: z.string(),
    since: z.string().nullable(),
    seq: z.number().int().nullable(),
  }),
]);
export type RolloutHistoryResponse = z.infer<typeof RolloutHistoryResponseSchema>;

/** `GET /v1/admin/rollout/verify` answer: whether the audit hash chain holds. */
export const RolloutVerifyResponseSchema = z.object({
  ok: z.boolean(),
  records: z.number().int().min(0),
  rows: z.number().int().min(0),
  head: z.object({ seq: z.number().int(), hash: z.string() }).nullable(),
  keys: z.object({
    status: z.enum(['verified', 'unchecked', 'absent', 'failed']),
    signed: z.number().int().min(0),
    unsigned: z.number().int().min(0),
    message: z.string(),
  }),
  anchors: z.array(z.object({
    name: z.string(),
    status: z.enum(['ok', 'behind', 'missing', 'failed']),
    head: z.object({ seq: z.number().int(), hash: z.string(), row: z.number().int().optional(), ts: z.string().optional(), keyId: z.string().optional() }).optional(),
    message: z.string(),
  })),
  problem: z.object({ row: z.number().int(), seq: z.number().int().nullable(), field: z.string().optional(), reason: z.string() }).optional(),
  firstBad: z.object({ seq: z.number().int(), reason: z.string() }).optional(),
});
export type RolloutVerifyResponse = z.infer<typeof RolloutVerifyResponseSchema>;
