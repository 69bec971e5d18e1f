/**
 * The `store` config section: where the store lives (the embedded SQLite file by default, or a
 * PostgreSQL server) and, for a fleet, the NATS JetStream stream that carries decision and outcome
 * events from the decision services to the ingest consumer.
 */
import { z } from 'zod';

export const StoreSchema = z
  .object({
    /**
     * Where the store lives. Unset: the SQLite file below in the data directory. A
     * `postgres://user:password@host:port/database` URL (optionally `?schema=NAME`): PostgreSQL,
     * shared by every process and replica. `UMBRA_STORE_URL` and `--store` override it. The
     * password never appears in logs, errors, metrics or the dashboard. @default unset
     */
    url: z.string().regex(/^(postgres|postgresql|sqlite):/i, 'must start with postgres:// or sqlite:').optional(),
    /** PostgreSQL connections per process. @default 4 */
    pool_size: z.number().int().min(1).max(100).default(4),
    /**
     * NATS server with JetStream (`nats://host:4222`) that decision services publish decision and
     * outcome events to, and ingest consumers read from. `UMBRA_STREAM_URL` and `--stream` override it.
     * Unset: decision services write their log to the store directly. @default unset
     */
    stream_url: z.string().regex(/^(nats|tls):\/\//i, 'must start with nats:// or tls://').optional(),
    /** Name of the JetStream stream of decision and outcome events. @default "UMBRA_EVENTS" */
    stream_name: z.string().regex(/^[A-Za-z0-9_-]+$/).default('UMBRA_EVENTS'),
    /** Subject prefix of the events (`<prefix>.decision`, `<prefix>.outcome`). @default "umbra.events" */
    stream_subject: z.string().regex(/^[A-Za-z0-9_.-]+$/).default('umbra.events'),
    /** JetStream's duplicate window: a resend with the same event id within it is dropped. @default 120 */
    stream_duplicate_window_s: z.number().int().min(1).max(86_400).default(120),
    /** Durable consumer name of the ingest consumers (all ingest processes share it). @default "umbra-ingest" */
    stream_consumer: z.string().regex(/^[A-Za-z0-9_-]+$/).default('umbra-ingest'),
    /** File name of the SQLite database inside the data directory. @default "umbra.db" */
    file: z.string().min(1).default('umbra.db'),
    /** How long a writer waits for another writer's lock, in milliseconds. @default 5000 */
    busy_timeout_ms: z.number().int().min(0).default(5000),
    /** SQLite page cache per connection, in MiB. @default 64 */
    cache_mb: z.number().int().min(1).max(4096).default(64),
  })
  .strict();

export type StoreConfig = z.output<typeof StoreSchema>;
