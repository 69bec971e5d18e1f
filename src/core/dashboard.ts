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
 * The per-point records of a bundle's evaluation: under `points` (shadow retrain) or at the top
 * (pipeline); undefined when the evaluation is not an object.
 */
function pointRecords(evaluation: unknown): Record<string, unknown> | undefined {
  if (typeof evaluation !== 'object' || evaluation === null) return undefined;
  const e = evaluation as Record<string, unknown>;
  return typeof e.points === 'object' && e.points !== null ? (e.points as Record<string, unknown>) : e;
}

/**
 * The per-point selections recorded in a bundle's evaluation, whichever wrote it: the pipeline
 * (point → compact evaluation with `selection`) or a shadow retrain (`points` → point → full
 * report with `selection`). Anything else gives an empty record.
 */
export function selectionsOfEvaluation(evaluation: unknown): Record<string, SelectionSummary> {
  const out: Record<string, SelectionSummary> = {};
  const byPoint = pointRecords(evaluation);
  if (byPoint === undefined) return out;
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

/** One point's offline evaluation as a bundle carries it (validation window of its training). */
export const OfflinePointSchema = z.object({
  n: NullableNum,
  loggerValue: NullableNum,
  estimates: z.record(z.string(), z.object({ value: NullableNum, ci: z.tuple([Num, Num]).nullable() })),
  gates: z.object({ pass: z.boolean(), summary: z.string() }).nullable(),
  diagnostics: z.object({ ess: NullableNum, supportDeficit: NullableNum, maxWeight: NullableNum }).nullable(),
});
export type OfflinePoint = z.infer<typeof OfflinePointSchema>;

/**
 * The per-point offline evaluations recorded in a bundle's evaluation (pipeline: point → compact
 * evaluation; shadow retrain: `points` → point → report with `summary`, `gates`). Points whose
 * record holds neither estimates nor gates are left out.
 */
export function offlineOfEvaluation(evaluation: unknown): Record<string, OfflinePoint> {
  const out: Record<string, OfflinePoint> = {};
  const byPoint = pointRecords(evaluation);
  if (byPoint === undefined) return out;
  const num = (x: unknown): number | null => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  for (const [point, v] of Object.entries(byPoint)) {
    if (typeof v !== 'object' || v === null) continue;
    const r = v as Record<string, unknown>;
    const summary = (typeof r.summary === 'object' && r.summary !== null ? r.summary : r) as Record<string, unknown>;
    const estimates: OfflinePoint['estimates'] = {};
    const rawEst = (typeof r.estimates === 'object' && r.estimates !== null ? r.estimates : {}) as Record<string, unknown>;
    for (const [name, est] of Object.entries(rawEst)) {
      const x = est as { value?: unknown; ci?: unknown } | null;
      const ci = Array.isArray(x?.ci) && x.ci.length === 2 && num(x.ci[0]) !== null && num(x.ci[1]) !== null ? ([x.ci[0], x.ci[1]] as [number, number]) : null;
      estimates[name] = { value: num(x?.value), ci };
    }
    const g = r.gates as { pass?: unknown; passed?: unknown; summary?: unknown } | null | undefined;
    const pass = typeof g?.pass === 'boolean' ? g.pass : typeof g?.passed === 'boolean' ? g.passed : undefined;
    const gates = pass === undefined ? null : { pass, summary: typeof g?.summary === 'string' ? g.summary : pass ? 'passed' : 'failed' };
    const d = r.diagnostics as Record<string, unknown> | null | undefined;
    const diagnostics = typeof d === 'object' && d !== null ? { ess: num(d.ess), supportDeficit: num(d.supportDeficit), maxWeight: num(d.maxWeight) } : null;
    if (Object.keys(estimates).length === 0 && gates === null) continue;
    out[point] = { n: num(summary.n), loggerValue: num(summary.loggerValue), estimates, gates, diagnostics };
  }
  return out;
}

export const DashboardSnapshotSchema = z.object({
  ts: z.string(),
  status: z.object({
    /** The stage of the candidate (the last one when none is in flight), or `production` when there never was one. */
    stage: z.string(),
    champion: z.string().nullable(),
    candidate: z.string().nullable(),
    canaryWeight: Num,
    uptimeS: Num,
    /** Whether `candidate` is in flight (registered, shadow, canary, paused); false for a past candidate's fate. */
    candidateInFlight: z.boolean(),
    /**
     * Production's own health, apart from any candidate's fate: `healthy`; `degraded` (a critical
     * production alert in the last 15 minutes: drift, an audit problem); `baseline_only` (the
     * audit log does not verify, so only the caller's rules serve).
     */
    production: z.object({ health: z.enum(['healthy', 'degraded', 'baseline_only']), reason: z.string() }),
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
    /** Decisions the candidate scored in the shadow, summed over every scoring process (service and shadow controller). */
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
  /**
   * The offline evaluation (estimates with intervals, overlap diagnostics, gate verdict) of the
   * candidate in flight, else of the last candidate, else of the champion, per point, as its
   * bundle carries it; null when there is no bundle or it carries none.
   */
  offline: z
    .object({
      version: z.string(),
      /** Whose evaluation this is: the candidate in flight, the last candidate, or the champion. */
      of: z.enum(['candidate', 'last_candidate', 'champion']),
      points: z.record(z.string(), OfflinePointSchema),
    })
    .nullable(),
});
export type DashboardSnapshot = z.infer<typeof DashboardSnapshotSchema>;
