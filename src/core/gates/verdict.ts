/**
 * The verdict a rollout transition carries: passed or not, one readable sentence, and the full
 * evaluation behind it (offline gates, shadow gates, the canary judge), kept in the audit record.
 */
import { z } from 'zod';

/** A gate evaluation passed in by the caller (offline gates, shadow gates, the canary judge). */
export const GateReportSchema = z.object({
  /** True when every gate passed. */
  passed: z.boolean(),
  /** One readable sentence (shown in errors and the audit log). */
  summary: z.string(),
  /** The full evaluation (kept verbatim in the audit record). */
  details: z.unknown().optional(),
});
export type GateReport = z.infer<typeof GateReportSchema>;
