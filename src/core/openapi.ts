/**
 * The OpenAPI 3.1 document of the decision service, generated from the zod schemas the server
 * validates with (core/api.ts, core/admin-api.ts, core/dashboard.ts) and from the error table in
 * core/errors.ts, so the HTTP contract has one source of truth. Served at `GET /openapi.json`,
 * written to schemas/openapi.json by `npm run schemas`; a test pins the file, another validates it
 * with an OpenAPI validator, and the contract test sends every example below to a real server and
 * checks each answer against this document.
 *
 * Each request example carries `x-status`: the status the server answers it with, given the state
 * the operation's description names (the contract test sets that state up).
 */
import { z } from 'zod';
import { DecideRequestSchema, DecideResponseSchema, OutcomeAcceptedSchema, OutcomeRequestSchema, StatusResponseSchema } from './api.js';
import { ROLLOUT_ACTIONS, ROLLOUT_ACTION_BODY, RolloutActionResponseSchema, RolloutHistoryResponseSchema, RolloutVerifyResponseSchema, RolloutRegisterRequestSchema, RolloutRegisterResponseSchema, type RolloutAction } from './admin-api.js';
import { DashboardSnapshotSchema } from './dashboard.js';
import { ERROR_MEANING, ErrorCode, HTTP_STATUS, errorResponseSchema } from './errors.js';
import { VERSION } from '../version.js';

type Json = Record<string, unknown>;

/** A documented request example and the status the server answers it with. */
interface Example {
  summary: string;
  value: unknown;
  status: number;
}

/** One query parameter, with examples sent by the contract test. */
interface QueryParam {
  name: string;
  description: string;
  schema: z.ZodType;
  examples: Record<string, Example>;
}

/** One operation of the HTTP contract. */
interface Operation {
  method: 'get' | 'post';
  path: string;
  operationId: string;
  tag: 'decisions' | 'monitoring' | 'admin' | 'meta';
  summary: string;
  description: string;
  /** Behind the admin bearer token. */
  admin?: boolean;
  /** The JSON body; `required` false where an empty body means "no options". */
  body?: { component: string; schema: z.ZodType; required: boolean; examples: Record<string, Example> };
  query?: QueryParam[];
  success: { status: number; description: string; contentType: string; component?: string; schema?: z.ZodType; raw?: Json; example?: unknown; extensions?: Json };
  /** The error codes this operation may answer with (grouped by HTTP status in the document). */
  errors: readonly ErrorCode[];
}

const E = ErrorCode;
const READ_ERRORS = [E.STORE, E.INTERNAL] as const;
const ADMIN_GIVEN = 'The examples assume a candidate in shadow whose shadow gates have not passed yet.';

const decideExamples: Record<string, Example> = {
  route: {
    summary: 'A routing decision for one request of a user',
    value: { id: 'req-8f2c', point: 'route', context: { text: 'Vad blir vädret i Göteborg?', lang: 'sv', user_tier: 'free' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'user-1234' },
    status: 200,
  },
  minimal: {
    summary: 'Only what is required: no id, no sticky key (served by production, never experimented on)',
    value: { context: { lang: 'en' }, actions: ['micro', 'planner'], baselineAction: 'micro' },
    status: 200,
  },
  tool: {
    summary: 'Another decision point',
    value: { id: 'req-8f2c-tool', point: 'tool', context: { intent: 'weather', lang: 'sv' }, actions: ['weather_api', 'web_search', 'none'], baselineAction: 'weather_api', stickyKey: 'user-1234' },
    status: 200,
  },
  baselineNotEligible: {
    summary: 'Refused: the baseline is not one of the eligible actions',
    value: { context: {}, actions: ['micro', 'planner'], baselineAction: 'deep' },
    status: 400,
  },
  noActions: {
    summary: 'Refused: no eligible action',
    value: { context: {}, actions: [], baselineAction: 'micro' },
    status: 400,
  },
  unknownPoint: {
    summary: 'Refused: a decision point the service does not answer for (E_UNKNOWN_POINT)',
    value: { point: 'bogus', context: {}, actions: ['micro', 'planner'], baselineAction: 'micro' },
    status: 422,
  },
};

const outcomeExamples: Record<string, Example> = {
  signals: { summary: 'Raw outcome signals; the configured reward turns them into a reward', value: { id: 'req-8f2c', outcome: { success: true, latency_ms: 820, cost_usd: 0.0004, cache_hit: false, tool_ok: true } }, status: 202 },
  reward: { summary: 'A reward the caller computed itself, in [0, 1]', value: { id: 'req-8f2c', reward: 0.8 }, status: 202 },
  nothing: { summary: 'Refused: neither a reward nor outcome signals', value: { id: 'req-8f2c' }, status: 400 },
  rewardOutOfRange: { summary: 'Refused: a reward outside [0, 1]', value: { id: 'req-8f2c', reward: 1.5 }, status: 400 },
};

/** Per action: what it does, its examples (given a candidate in shadow), and the codes it may answer. */
const ACTION_DOCS: Record<RolloutAction, { summary: string; description: string; examples: Record<string, Example> }> = {
  promote: {
    summary: 'Promote the candidate: shadow → canary, or canary → production',
    description: 'Only if every gate passes; `force` with a `reason` overrides failing gates and is recorded.',
    examples: {
      forced: { summary: 'Forced past failing gates, with a reason', value: { force: true, reason: 'reviewed the shadow comparison by hand', weight: 0.05 }, status: 200 },
      gatesNotPassed: { summary: 'Refused: the shadow gates have not passed', value: { reason: 'looks good' }, status: 409 },
      forceWithoutReason: { summary: 'Refused: force needs a reason', value: { force: true }, status: 400 },
      weightTooLarge: { summary: 'Refused: a canary weight above the maximum', value: { force: true, reason: 'x', weight: 0.9 }, status: 400 },
    },
  },
  pause: {
    summary: 'Pause the candidate: canary exposure drops to 0 at once',
    description: 'The candidate keeps its stage for `resume`.',
    examples: {
      pause: { summary: 'Pause with a reason', value: { reason: 'latency looks off' }, status: 200 },
      noReason: { summary: 'Refused: a hand-made pause needs a reason', value: {}, status: 400 },
    },
  },
  resume: {
    summary: 'Resume a paused candidate where it paused (gates are checked again)',
    description: '`force` with a `reason` overrides failing gates.',
    examples: { notPaused: { summary: 'Refused: the candidate is not paused', value: { reason: 'checked' }, status: 409 } },
  },
  abort: {
    summary: 'Abort the candidate in flight: exposure 0 at once',
    description: 'The candidate can be retried later.',
    examples: { abort: { summary: 'Abort with a reason', value: { reason: 'trained on a bad week' }, status: 200 } },
  },
  rollback: {
    summary: 'Roll back: the candidate leaves at once, or production returns to the previous champion',
    description: 'A candidate rolled back `rollout.max_rollbacks` times is rejected for good.',
    examples: { rollback: { summary: 'Roll the candidate back', value: { reason: 'error rate up on the canary' }, status: 200 } },
  },
  retry: {
    summary: 'Send a rolled-back or aborted candidate back to shadow (after the cooldown)',
    description: 'Without `id`, the last candidate.',
    examples: { inFlight: { summary: 'Refused: the last candidate is still in flight', value: { reason: 'try again' }, status: 409 } },
  },
};

const ADMIN_ACTION_ERRORS = [E.UNAUTHORIZED, E.SCHEMA, E.USAGE, E.GATE_FAILED, E.TRANSITION_INVALID, E.LOCKED, E.STORE, E.INTERNAL] as const;

/** Every operation of the decision service. */
const OPERATIONS: readonly Operation[] = [
  {
    method: 'post',
    path: '/v1/decide',
    operationId: 'decide',
    tag: 'decisions',
    summary: 'Ask which action to serve',
    description:
      'The caller sends its own rule choice as `baselineAction`. Whatever happens inside Umbra (no model, an error, a timeout, overload) a well-formed request is answered 200 within `server.request_deadline_ms`; on any failure the answer is the baseline with `servedBy: fallback` and a `reason`. `baselineAction` must be one of `actions`, and `actions` must be distinct. `point` must be one the service answers for (`server.points` or the points of a loaded policy), else 422 `E_UNKNOWN_POINT`. Every string context value longer than `telemetry.free_text_chars` (and `context.text` at any length) is free text: it is expanded into hashed tokens and counts and never stored raw. A body over `server.body_limit_bytes` is refused with 413 `E_TOO_LARGE`, one not sent as `application/json` with 415 `E_UNSUPPORTED_MEDIA`.',
    body: { component: 'DecideRequest', schema: DecideRequestSchema, required: true, examples: decideExamples },
    success: {
      status: 200,
      description: 'The action to serve, with its exact propensity.',
      contentType: 'application/json',
      component: 'DecideResponse',
      schema: DecideResponseSchema,
      example: { id: 'req-8f2c', action: 'deep', propensity: 0.95, servedBy: 'canary', stage: 'canary', policyVersion: 'cand-4374fc16d5ba' },
    },
    errors: [E.SCHEMA, E.UNKNOWN_POINT, E.TOO_LARGE, E.UNSUPPORTED_MEDIA, E.INTERNAL],
  },
  {
    method: 'post',
    path: '/v1/outcome',
    operationId: 'outcome',
    tag: 'decisions',
    summary: 'Report the outcome of a decision',
    description: 'Joined to the decision by `id`; outcomes may arrive late and more than once. Give a `reward` in [0, 1], raw `outcome` signals, or both.',
    body: { component: 'OutcomeRequest', schema: OutcomeRequestSchema, required: true, examples: outcomeExamples },
    success: { status: 202, description: 'Accepted for the decision log: journaled before the answer, so it survives a crash of the service.', contentType: 'application/json', component: 'OutcomeAccepted', schema: OutcomeAcceptedSchema },
    errors: [E.SCHEMA, E.TOO_LARGE, E.UNSUPPORTED_MEDIA, E.INTERNAL],
  },
  {
    method: 'get',
    path: '/v1/status',
    operationId: 'status',
    tag: 'monitoring',
    summary: 'Rollout stage, KPIs and the counters of this server',
    description: 'The KPIs are computed over the recent window of decisions in the store (`kpiWindow` episodes).',
    success: { status: 200, description: 'The status.', contentType: 'application/json', component: 'StatusResponse', schema: StatusResponseSchema },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/api/dashboard',
    operationId: 'dashboard',
    tag: 'monitoring',
    summary: 'The dashboard snapshot (what the web page and `umbra monitor` show)',
    description: 'Recomputed at most once a second. Never contains raw user text.',
    success: { status: 200, description: 'The snapshot.', contentType: 'application/json', component: 'DashboardSnapshot', schema: DashboardSnapshotSchema },
    errors: READ_ERRORS,
  },
  {
    method: 'get',
    path: '/api/stream',
    operationId: 'dashboardStream',
    tag: 'monitoring',
    summary: 'The dashboard snapshot as server-sent events',
    description: 'An event `snapshot` whose data is a DashboardSnapshot (JSON) at once and whenever it changes (checked every second); comment lines keep the connection alive.',
    success: { status: 200, description: 'An endless event stream.', contentType: 'text/event-stream', raw: { type: 'string' }, extensions: { 'x-event': { name: 'snapshot', schema: { $ref: '#/components/schemas/DashboardSnapshot' } } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'monitoring',
    summary: 'Prometheus metrics',
    description: 'The text exposition format. The metrics are listed in docs/operations.md; deploy/ has a Grafana dashboard and alerting rules built on them.',
    success: { status: 200, description: 'The metrics.', contentType: 'text/plain', raw: { type: 'string' } },
    errors: [E.INTERNAL],
  },
  {
    method: 'get',
    path: '/',
    operationId: 'dashboardPage',
    tag: 'monitoring',
    summary: 'The live dashboard (a web page)',
    description: 'Renders `/api/stream`; its chart library is served locally under `/vendor/uplot/`.',
    success: { status: 200, description: 'The page.', contentType: 'text/html', raw: { type: 'string' } },
    errors: [],
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'openapi',
    tag: 'meta',
    summary: 'This document',
    description: 'The same document as schemas/openapi.json in the package.',
    success: { status: 200, description: 'The OpenAPI 3.1 document.', contentType: 'application/json', raw: { type: 'object', required: ['openapi', 'info', 'paths'], properties: { openapi: { type: 'string', pattern: '^3\\.1\\.' }, info: { type: 'object' }, paths: { type: 'object' } } } },
    errors: [],
  },
  {
    method: 'get',
    path: '/v1/admin/rollout/history',
    operationId: 'rolloutHistory',
    tag: 'admin',
    admin: true,
    summary: 'The rollout audit log, or which policy served production at a time',
    description: 'Every transition, who made it and why, in order (hash-chained: check it with `/v1/admin/rollout/verify`).',
    query: [
      {
        name: 'at',
        description: 'An ISO-8601 time or epoch milliseconds: answer which policy served production then, instead of the whole log.',
        schema: z.string(),
        examples: {
          iso: { summary: 'Who served production at a time', value: '2026-01-01T00:00:00Z', status: 200 },
          epochMs: { summary: 'The same in epoch milliseconds', value: '1767225600000', status: 200 },
          notATime: { summary: 'Refused: not a time', value: 'yesterday', status: 400 },
        },
      },
    ],
    success: { status: 200, description: 'The records, or the champion at `at`.', contentType: 'application/json', component: 'RolloutHistoryResponse', schema: RolloutHistoryResponseSchema },
    errors: [E.UNAUTHORIZED, E.USAGE, ...READ_ERRORS],
  },
  {
    method: 'get',
    path: '/v1/admin/rollout/verify',
    operationId: 'rolloutVerify',
    tag: 'admin',
    admin: true,
    summary: "Verify the audit log's hash chain",
    description: 'An edited, deleted, inserted or cut record is reported with the first bad position (`ok: false`).',
    success: { status: 200, description: 'The verification.', contentType: 'application/json', component: 'RolloutVerifyResponse', schema: RolloutVerifyResponseSchema },
    errors: [E.UNAUTHORIZED, ...READ_ERRORS],
  },
  {
    method: 'post',
    path: '/v1/admin/rollout/register',
    operationId: 'rolloutRegister',
    tag: 'admin',
    admin: true,
    summary: 'Put a trained policy into the shadow',
    description: `Reads a policy artifact or a \`umbra pipeline\` manifest from the service's host, checks it (a valid artifact whose content matches its content-addressed name, trained under this config's feature map and reward), saves it as a candidate bundle with the offline evaluation it carries, and writes the \`register\` and \`start_shadow\` audit records: the same path as \`umbra rollout register\`, the shadow controller and the demo. A candidate in canary must leave first; a candidate in shadow is superseded. ${ADMIN_GIVEN}`,
    body: {
      component: 'RolloutRegisterRequest',
      schema: RolloutRegisterRequestSchema,
      required: true,
      examples: {
        noReason: { summary: 'Refused: a registration needs a reason', value: { artifact: 'run1/manifest.json' }, status: 400 },
        missing: { summary: 'Refused: no such file (a pipeline run, e.g. `run1/manifest.json` with point `route`, answers 200)', value: { artifact: 'nowhere/manifest.json', point: 'route', reason: 'trained on last week' }, status: 404 },
      },
    },
    success: { status: 200, description: 'Registered and in the shadow; the last audit record it wrote.', contentType: 'application/json', component: 'RolloutRegisterResponse', schema: RolloutRegisterResponseSchema },
    errors: [E.UNAUTHORIZED, E.SCHEMA, E.USAGE, E.INPUT_NOT_FOUND, E.POLICY_NOT_FOUND, E.ARTIFACT_INVALID, E.ARTIFACT_MISMATCH, E.TRANSITION_INVALID, E.LOCKED, E.STORE, E.INTERNAL],
  },
  ...ROLLOUT_ACTIONS.map((action): Operation => {
    const d = ACTION_DOCS[action];
    const name = `${action[0]!.toUpperCase()}${action.slice(1)}`;
    return {
      method: 'post',
      path: `/v1/admin/rollout/${action}`,
      operationId: `rollout${name}`,
      tag: 'admin',
      admin: true,
      summary: d.summary,
      description: `${d.description} Goes through the same gates and writes the same audit record as \`umbra rollout ${action}\`. ${ADMIN_GIVEN}`,
      body: { component: `Rollout${name}Request`, schema: ROLLOUT_ACTION_BODY[action], required: false, examples: d.examples },
      success: { status: 200, description: 'Applied; the last audit record it wrote.', contentType: 'application/json', component: 'RolloutActionResponse', schema: RolloutActionResponseSchema },
      errors: ADMIN_ACTION_ERRORS,
    };
  }),
];

/** A zod schema as a JSON Schema (2020-12, OpenAPI 3.1's dialect) without the `$schema` key. */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io }) as Json;
  return rest;
}

const ref = (component: string): Json => ({ $ref: `#/components/schemas/${component}` });

function exampleObjects(examples: Record<string, Example>): Json {
  return Object.fromEntries(Object.entries(examples).map(([k, e]) => [k, { summary: e.summary, value: e.value, 'x-status': e.status }]));
}

/** The error responses of an operation, one per HTTP status, each naming its codes. */
function errorResponses(codes: readonly ErrorCode[]): Json {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const c of codes) byStatus.set(HTTP_STATUS[c], [...(byStatus.get(HTTP_STATUS[c]) ?? []), c]);
  const out: Json = {};
  for (const [status, cs] of [...byStatus.entries()].sort((a, b) => a[0] - b[0])) {
    out[String(status)] = {
      description: cs.map((c) => `\`${c}\`: ${ERROR_MEANING[c]}`).join('; '),
      content: { 'application/json': { schema: jsonSchema(errorResponseSchema(cs), 'output') } },
    };
  }
  return out;
}

function operationObject(op: Operation, components: Json): Json {
  const success = op.success;
  let schema: Json | undefined = success.raw;
  if (success.schema !== undefined && success.component !== undefined) {
    components[success.component] = jsonSchema(success.schema, 'output');
    schema = ref(success.component);
  }
  const o: Json = {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: op.description,
  };
  if (op.admin) o.security = [{ adminToken: [] }];
  if (op.query) {
    o.parameters = op.query.map((q) => ({ name: q.name, in: 'query', required: false, description: q.description, schema: jsonSchema(q.schema, 'input'), examples: exampleObjects(q.examples) }));
  }
  if (op.body) {
    components[op.body.component] = jsonSchema(op.body.schema, 'input');
    o.requestBody = { required: op.body.required, content: { 'application/json': { schema: ref(op.body.component), examples: exampleObjects(op.body.examples) } } };
  }
  const media: Json = { ...(schema === undefined ? {} : { schema }), ...(success.example === undefined ? {} : { example: success.example }), ...(success.extensions ?? {}) };
  o.responses = {
    [String(success.status)]: { description: success.description, content: { [success.contentType]: media } },
    ...errorResponses(op.errors),
  };
  return o;
}

/** The OpenAPI 3.1 document of the decision service. */
export function generateOpenApi(): Json {
  const components: Json = { Error: jsonSchema(errorResponseSchema(), 'output') };
  const paths: Record<string, Json> = {};
  for (const op of OPERATIONS) {
    paths[op.path] = { ...(paths[op.path] ?? {}), [op.method]: operationObject(op, components) };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Umbra decision service',
      version: VERSION,
      description:
        'Which action to serve for a request (`/v1/decide`), what came of it (`/v1/outcome`), the state of the rollout, the dashboard data and metrics, and the admin rollout actions. Every error answers `{"error": {"code", "message", "details?"}}` with a stable code; an unknown route answers 404 `E_NOT_FOUND`. Generated from the schemas the server validates with.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8787', description: 'umbra serve with the default host and port' }],
    tags: [
      { name: 'decisions', description: 'The decision API that callers such as Alice use on every request.' },
      { name: 'monitoring', description: 'Status, the dashboard and its data, Prometheus metrics.' },
      { name: 'admin', description: 'Manual rollout actions and the audit log, behind the admin bearer token (`server.admin_token` or `UMBRA_ADMIN_TOKEN`).' },
      { name: 'meta', description: 'This document.' },
    ],
    paths,
    components: {
      schemas: components,
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'The admin token (`server.admin_token` or `UMBRA_ADMIN_TOKEN`); without it every admin endpoint answers 401.' } },
    },
  };
}
