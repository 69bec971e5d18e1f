/**
 * The `telemetry` config section: how Alice's telemetry (and any canonical decision log) is read
 * and which derivation rules apply. Defaults follow spec/alice.md; docs/telemetry.md explains each.
 */
import { z } from 'zod';

/** Alice's tool catalog per intent (the first tool is the right one in the original generator). */
export const DEFAULT_TOOLS_BY_INTENT: Readonly<Record<string, readonly string[]>> = {
  weather: ['weather.lookup', 'location.get'],
  calculation: ['calculator', 'math.solver'],
  search: ['search', 'web.lookup'],
  complex_query: ['search', 'knowledge.query', 'reasoning'],
  time: ['time.current', 'calendar'],
  translation: ['translate', 'language.detect'],
  creative: ['text.generate', 'creative.write'],
};

/** Price in USD per 1,000 tokens per route, used to derive `cost_usd` from `rag.tokens_used`. */
export const DEFAULT_PRICE_PER_1K_TOKENS: Readonly<Record<string, number>> = { micro: 0.002, planner: 0.006, deep: 0.01 };

export const TelemetrySchema = z
  .object({
    /**
     * Keep raw text (`input_text` as context `text`, and canonical text keys) beside its derived
     * features. Off by default: Alice's text is raw user text even when `pii_masked` says true.
     * @default false
     */
    store_text: z.boolean().default(false),
    /** Context keys of canonical decision events that hold free text (expanded at ingestion). @default ["text"] */
    text_keys: z.array(z.string().min(1)).min(1).default(['text']),
    /**
     * The privacy rule for every other key: a string context value longer than this many characters
     * is free text, expanded into hashed tokens and counts (`<key>_tokens`, `<key>_len`, ...) and
     * never stored raw (unless `store_text`), in the decision log and at ingestion alike; quarantine
     * excerpts redact every string longer than this. @default 64
     */
    free_text_chars: z.number().int().min(8).max(4096).default(64),
    /** The route decision's actions, in this order. @default ["micro","planner","deep"] */
    route_actions: z.array(z.string().min(1)).min(1).default(['micro', 'planner', 'deep']),
    /** USD per 1,000 tokens per route. @default {"micro":0.002,"planner":0.006,"deep":0.01} */
    price_per_1k_tokens: z.record(z.string(), z.number().min(0)).default({ ...DEFAULT_PRICE_PER_1K_TOKENS }),
    /** Eligible tools per intent for tool decisions (the served tool is added when missing). @default spec/alice.md catalog */
    tools_by_intent: z
      .record(z.string(), z.array(z.string().min(1)).min(1))
      .default(Object.fromEntries(Object.entries(DEFAULT_TOOLS_BY_INTENT).map(([k, v]) => [k, [...v]]))),
    /**
     * When a turn has no top-level `intent`, infer it from the served tool through `tools_by_intent`
     * (the first intent listing that tool). A top-level `intent` always wins. @default false
     */
    infer_intent_from_tool: z.boolean().default(false),
    /** Policy name of decisions that do not name one (Alice's rule router). @default "rules@alice" */
    default_policy: z.string().min(1).default('rules@alice'),
    /** Longest accepted line in bytes; longer lines are skipped and quarantined. @default 1048576 */
    max_line_bytes: z.number().int().min(1024).default(1024 * 1024),
    /**
     * Lines per batch handed to the store. Small enough that a batch's objects die young (larger
     * batches survive into the old generation and cost more garbage collection). @default 1000
     */
    batch_size: z.number().int().min(1).default(1000),
    /**
     * Lines per store transaction: batches are held open and commit together with the source's
     * checkpoint every this many lines, at the end of each file and when stopped. @default 50000
     */
    commit_lines: z.number().int().min(1).default(50_000),
    /** Poll interval of `umbra ingest --follow`, in milliseconds. @default 250 */
    poll_ms: z.number().int().min(10).default(250),
    /** Characters of a quarantined line kept as its excerpt (text fields and strings over `free_text_chars` are redacted). @default 200 */
    excerpt_chars: z.number().int().min(0).max(4096).default(200),
  })
  .strict();

export type TelemetryConfig = z.output<typeof TelemetrySchema>;
