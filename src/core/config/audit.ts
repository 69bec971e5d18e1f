/**
 * The `audit` config section: where the audit log's key and its outside anchors live. The key
 * signs every audit record and the anchors keep the chain's head; both stay out of the store, so
 * that whoever can write the database alone can neither forge records nor cut the log's tail unseen.
 */
import { z } from 'zod';

export const AuditConfigSchema = z
  .object({
    /**
     * Key file of the audit chain (HMAC keys, one per line, newest first, mode 0600), relative to
     * the data directory or absolute; created with a random key the first time a record is signed.
     * `UMBRA_AUDIT_KEY` takes precedence. Put it outside the data directory to keep it out of copies
     * of the store. @default "audit.key"
     */
    key_file: z.string().min(1).default('audit.key'),
    /**
     * Append-only file that receives the chain head (seq and hash) after every transition, relative
     * to the data directory or absolute. @default "audit-head.jsonl"
     */
    head_file: z.string().min(1).default('audit-head.jsonl'),
    /** Webhooks that receive the chain head as JSON after every transition (their receivers keep it). @default [] */
    anchor_webhooks: z
      .array(
        z
          .object({
            url: z.url(),
            /** Timeout of one attempt. @default 5000 */
            timeout_ms: z.number().int().min(1).default(5000),
          })
          .strict(),
      )
      .default([]),
    /** Longest time, in seconds, a long-running process goes without verifying the whole audit log. @default 60 */
    reverify_s: z.number().int().min(1).default(60),
  })
  .strict();
export type AuditConfig = z.output<typeof AuditConfigSchema>;
