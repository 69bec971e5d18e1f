/**
 * The `features` config section: the definition of the one feature map that training and serving
 * share. Everything here goes into the feature-map hash, so changing any field makes old artifacts
 * refuse to load against the new definition (docs/learning.md).
 */
import { z } from 'zod';

/**
 * Keys that name the action, things measured after the decision, or ids: never features, whatever a
 * producer sends. (`route` and `tool` are not here: an upstream decision is known before a downstream
 * one, e.g. the route is context for the tool choice.)
 */
export const DEFAULT_EXCLUDED_KEYS = [
  'action',
  'reward',
  'outcome',
  'propensity',
  'probs',
  'success',
  'tool_ok',
  'latency_ms',
  'cost_usd',
  'cache_hit',
  'guard_flag',
  'feedback',
  'e2e_first_ms',
  'e2e_full_ms',
  'id',
  'trace_id',
  'session_id',
  'user_id',
] as const;

/** The `features` section. */
export const FeaturesConfigSchema = z
  .object({
    /**
     * Dimension d of the dense feature vector (bias included). LinUCB keeps a d×d matrix per arm
     * and a decision costs O(d²) per arm, so 64 … 256 is the useful range. @default 64
     */
    dim: z.number().int().min(8).max(4096).default(64),
    /**
     * Size of the sparse feature space, 2^bits (the sparse learner's): words, word bigrams,
     * character n-grams, categories, numerics, bins and interactions hashed with few collisions.
     * The sparse learner's weights take 4 bytes per slot in memory. @default 20
     */
    bits: z.number().int().min(12).max(26).default(20),
    /** Seed of the signed hashing trick (murmur3). @default 1 */
    seed: z.number().int().min(0).max(0xffffffff).default(1),
    /**
     * Context keys holding free text; they are expanded into hashed tokens and counts. The work per
     * text is bounded: its first 4,096 characters (`MAX_TEXT_CHARS`) and 64 words (`MAX_WORDS`)
     * are featurised; `<key>_len` still gives the full length. @default ["text"]
     */
    text_keys: z.array(z.string().min(1)).default(['text']),
    /** Context keys never used as features (post-decision measurements and ids). @default DEFAULT_EXCLUDED_KEYS */
    exclude_keys: z.array(z.string().min(1)).default([...DEFAULT_EXCLUDED_KEYS]),
    /**
     * Numeric keys that are transformed with sign(x)·log(1 + |x|) before standardisation (heavy tails).
     * @default ["text_len", "text_words", "text_digits", "session_depth"]
     */
    log1p_keys: z.array(z.string().min(1)).default(['text_len', 'text_words', 'text_digits', 'session_depth']),
    /** Numeric keys on a cycle (key → period): encoded as sin and cos, not standardised. @default {"hour": 24, "weekday": 7} */
    cyclic: z.record(z.string(), z.number().positive()).default({ hour: 24, weekday: 7 }),
    /** Standardised numerics are clipped to ±clip. @default 5 */
    clip: z.number().positive().default(5),
    /** Share of the non-bias dimensions that numeric keys may own as dedicated slots (the rest are hashed). @default 0.25 */
    numeric_share: z.number().min(0).max(1).default(0.25),
    /**
     * Numeric keys also encoded as a category of their quantile bin (key → number of bins; edges frozen
     * at fit time). Lets a linear model follow thresholds and other non-linear effects; in an
     * interaction a binned key crosses by its bin. @default {}
     */
    bins: z.record(z.string(), z.number().int().min(2).max(64)).default({}),
    /** Pairs of context keys crossed into one extra hashed feature each (categories, numerics, bins). @default [] */
    interactions: z.array(z.tuple([z.string().min(1), z.string().min(1)])).default([]),
  })
  .strict();

/** The effective `features` section. */
export type FeaturesConfig = z.output<typeof FeaturesConfigSchema>;
