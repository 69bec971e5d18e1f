/** The `server` config section: the decision service's address, deadlines and exploration. */
import { z } from 'zod';

export const ServerConfigSchema = z
  .object({
    /** TCP port of `umbra serve`. @default 8787 */
    port: z.number().int().min(0).max(65535).default(8787),
    /** Address to listen on (loopback by default; put a proxy in front for anything else). @default "127.0.0.1" */
    host: z.string().min(1).default('127.0.0.1'),
    /** Deadline of one policy decision; past it the baseline is served. @default 5 */
    decision_deadline_ms: z.number().positive().default(5),
    /** Deadline of the whole decide call inside the server, whatever happens. @default 25 */
    request_deadline_ms: z.number().positive().default(25),
    /** Bearer token of the admin endpoints; the env var UMBRA_ADMIN_TOKEN overrides it. Unset: admin endpoints refuse. @default null */
    admin_token: z.string().min(8).nullable().default(null),
    /**
     * Exploration floor on decisions served by the caller's rules: the rule action keeps
     * probability 1 − e, the other actions share e, and the exact propensity is logged. @default 0
     */
    exploration_floor: z.number().min(0).max(0.5).default(0),
    /** Seed of the replayable draws of the service's own decisions. @default 1 */
    seed: z.number().int().min(0).default(1),
    /** How often the service re-reads the rollout state written by other processes. @default 1000 */
    state_poll_ms: z.number().int().min(10).default(1000),
    /**
     * A replica that has not been able to read the rollout state for this long (the store is
     * unreachable) serves only the baseline until it reads it again. @default 10000
     */
    state_staleness_ms: z.number().int().min(100).default(10_000),
    /** Decision-log writes are batched: flush after this many milliseconds (small batches keep each hand-over to the store's thread short)... @default 25 */
    log_flush_ms: z.number().int().min(1).default(25),
    /** ...and keep at most this many unwritten records (more are dropped and counted). @default 50000 */
    log_buffer: z.number().int().min(100).default(50_000),
    /**
     * The store thread commits the decision log and shadow records in groups, at most this many
     * milliseconds apart (one commit per hand-over would rewrite the pages of the random id index
     * dozens of times a second). With the journal on, a crash loses nothing acknowledged; without
     * it, at most this window. 0 commits every hand-over. @default 250
     */
    log_commit_ms: z.number().int().min(0).max(10_000).default(250),
    /**
     * The acknowledgement journal: every decision and outcome is appended to a journal file in the
     * data directory before it is answered, and replayed into the store at start after a crash.
     * `write` survives the death of the process (`kill -9`) for a few microseconds per request;
     * `fsync` also survives a power cut, at the cost of one disk sync per request; `off` trusts the
     * in-memory buffer (a crash loses up to `log_flush_ms` + `log_commit_ms` of answered
     * requests). @default "write"
     */
    journal: z.enum(['write', 'fsync', 'off']).default('write'),
    /**
     * Where production and canary policies decide. `main`: Umbra's own policy kinds run on the
     * event loop (their cost is bounded and measured in microseconds; a worker round trip costs two
     * thread wake-ups, milliseconds on a busy machine). `worker`: every policy runs in an isolated
     * worker thread with a per-call deadline (`decision_deadline_ms`), replaced when stuck. Shadow
     * candidates always run in a worker of their own. @default "main"
     */
    serving_thread: z.enum(['main', 'worker']).default('main'),
    /** Share of one core that shadow scoring may use; beyond it shadow work is shed. @default 0.5 */
    shadow_cpu_share: z.number().gt(0).max(1).default(0.5),
    /**
     * Scheduling of the service's background threads on Linux, so that on a machine with fewer
     * cores than busy threads they do not take equal turns with the thread that answers: `low`
     * runs shadow scoring at niceness 10 and the store thread at niceness 5; `normal` changes
     * nothing. @default "low"
     */
    background_priority: z.enum(['low', 'normal']).default('low'),
    /**
     * Decision points the service answers for. A decide request naming another point is refused
     * with `E_UNKNOWN_POINT` (a typo would otherwise log decisions no policy ever learns from).
     * Points of loaded policies are accepted too. @default ["route","tool","cache"]
     */
    points: z.array(z.string().min(1)).min(1).default(['route', 'tool', 'cache']),
    /** Largest accepted request body in bytes; a larger one is refused with 413 (`E_TOO_LARGE`). @default 1048576 */
    body_limit_bytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    /** A client must send its request headers within this many milliseconds of connecting (slow-header clients are cut). @default 10000 */
    headers_timeout_ms: z.number().int().min(100).default(10_000),
    /** ...and the whole request, body included, within this many (slow-body clients are cut). At least `headers_timeout_ms`. @default 30000 */
    request_timeout_ms: z.number().int().min(100).default(30_000),
    /**
     * A connection with nothing to read or write for this long is closed: idle keep-alive
     * connections between requests and stalled ones in the middle of a request. @default 60000
     */
    idle_timeout_ms: z.number().int().min(100).default(60_000),
  })
  .strict()
  .refine((s) => s.request_timeout_ms >= s.headers_timeout_ms, { message: 'request_timeout_ms must be at least headers_timeout_ms', path: ['request_timeout_ms'] });
export type ServerConfig = z.output<typeof ServerConfigSchema>;
