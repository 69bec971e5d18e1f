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

/** One point's model selection in brief. */
export const SelectionSummarySchema = z.object({
  chosen: z.string(),
  candidates: z.array(z.object({ name: z.string(), algorithm: z.string(), value: NullableNum, lower: NullableNum })),
});
export type SelectionSummary = z.infer<typeof SelectionSummarySchema>;

/**
 * The per-point selections recorded in a bundle's evaluation, whichever wrote it: the pipeline
 * (point → compact evaluation with `selection`) or a shadow retrain (`points` → point → full
 * report with `selection`). Anything else gives an empty record.
 */
export function selectionsOfEvaluation(evaluation: unknown): Record<string, SelectionSummary> {
  const out: Record<string, SelectionSummary> = {};
  if (typeof evaluation !== 'object' || evaluation === null) return out;
  const e = evaluation as Record<string, unknown>;
  const byPoint = typeof e.points === 'object' && e.points !== null ? (e.points as Record<string, unknown>) : e;
  for (const [point, v] of Object.entries(byPoint)) {
    const sel = typeof v === 'object' && v !== null ? (v as { selection?: unknown }).selection : undefined;
    const r = SelectionSummarySchema.safeParse(
      typeof sel === 'object' && sel !== null
        ? {
            chosen: (sel as { chosen?: unknown }).chosen,
            candidates: Array.isArray((sel as { candidates?: unknown }).candidates)
              ? ((sel as { candidates: Record<string, unknown>[] }).candidates.map((c) => ({ name: c.name, algorithm: c.algorithm, value: c.value ?? null, lower: c.lower ?? null })))
              : undefined,
          }
        : undefined,
    );
    if (r.success) out[point] = r.data;
  }
  return out;
}

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
  /**
   * Model selection behind the policy in flight (the candidate, else the champion), per point: the
   * chosen candidate and every candidate's validation estimate and lower bound. Null when the
   * policy's bundle records none.
   */
  selection: z
    .object({
      version: z.string(),
      points: z.record(z.string(), SelectionSummarySchema),
    })
    .nullable(),
});
export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;
