/**
 * The dashboard snapshot: everything the web page and `umbra monitor` show, in one JSON object.
 * The server builds it from the store (GET /api/dashboard, and pushed over server-sent events at
 * GET /api/stream); the page only renders it. It never contains raw user text.
 */
import { z } from 'zod';

const Num = z.number();
const NullableNum = z.number().nullable();

/** One KPI row: the seed's baseline, the value now, the seed's target, and a trend. */
export const KpiRowSchema = z.object({
  name: z.enum(['toolPrecision', 'successRate', 'p95LatencyMs', 'cacheHitRate', 'policyValue']),
  baseline: Num,
  now: NullableNum,
  target: Num,
  /** Trend points [unix seconds, value]. */
  trend: z.array(z.tuple([Num, Num])),
});

/** Policy value over time with interval bands, for production and the shadow candidate. */
export const ValueSeriesSchema = z.object({
  t: z.array(Num),
  production: z.array(NullableNum),
  productionLo: z.array(NullableNum),
  productionHi: z.array(NullableNum),
  shadow: z.array(NullableNum),
  shadowLo: z.array(NullableNum),
  shadowHi: z.array(NullableNum),
});

export const AuditEntrySchema = z.object({
  seq: z.number().int(),
  ts: z.string(),
  event: z.string(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  actor: z.string(),
  reason: z.string().nullable(),
  policy: z.string().nullable(),
});

export const AlertSchema = z.object({
  ts: z.string(),
  kind: z.string(),
  severity: z.enum(['info', 'warning', 'critical']),
  message: z.string(),
});

export const DashboardSnapshotSchema = z.object({
  ts: z.string(),
  status: z.object({
    stage: z.string(),
    champion: z.string().nullable(),
    candidate: z.string().nullable(),
    canaryWeight: Num,
    uptimeS: Num,
  }),
  kpis: z.array(KpiRowSchema),
  value: ValueSeriesSchema,
  /** Action counts per slice: production, canary, control, shadow. */
  slices: z.record(z.string(), z.record(z.string(), Num)),
  /** Share of decisions where the shadow candidate agreed with production. */
  agreement: NullableNum,
  diagnostics: z.object({ ess: NullableNum, supportDeficit: NullableNum, maxWeight: NullableNum, n: NullableNum }),
  counts: z.object({
    decisions: Num,
    quarantined: z.object({ total: Num, byReason: z.record(z.string(), Num) }),
    shadowScored: Num,
    shadowDropped: Num,
    fallbacks: Num,
  }),
  history: z.array(AuditEntrySchema),
  alerts: z.array(AlertSchema),
});
export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;
