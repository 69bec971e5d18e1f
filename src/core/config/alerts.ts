/** The `alerts` config section: where alerts go and when ingest errors count as an alert. */
import { z } from 'zod';

export const AlertsConfigSchema = z
  .object({
    /** Webhook receivers; each gets a JSON POST per alert. @default [] */
    webhooks: z
      .array(
        z
          .object({
            url: z.url(),
            /** Alert kinds to send (empty = all). @default [] */
            kinds: z.array(z.string()).default([]),
          })
          .strict(),
      )
      .default([]),
    /** Attempts per delivery, the first included. @default 5 */
    max_attempts: z.number().int().min(1).max(20).default(5),
    /** First retry delay; doubles each time (with jitter). @default 500 */
    backoff_ms: z.number().int().min(1).default(500),
    /** Largest retry delay. @default 30000 */
    max_backoff_ms: z.number().int().min(1).default(30_000),
    /** Timeout of one delivery attempt. @default 5000 */
    timeout_ms: z.number().int().min(1).default(5000),
    /** Quarantined share of ingested lines above which an ingest alert fires. @default 0.05 */
    ingest_error_rate: z.number().min(0).max(1).default(0.05),
    /** Minimum lines in the window before the ingest error rate is judged. @default 200 */
    ingest_min_lines: z.number().int().min(1).default(200),
  })
  .strict();
export type AlertsConfig = z.output<typeof AlertsConfigSchema>;
