/**
 * The reward: one bounded function from outcome signals to [0, 1], versioned and hashed into every
 * dataset and artifact. Success dominates, then the right tool, then a cache hit; latency and cost
 * enter through bounded, SLO-relative penalties; a guard flag and negative feedback subtract.
 * See docs/reward.md for the default and why 0.65 is a sensible production baseline under it.
 */
import { z } from 'zod';
import type { OutcomeSignals } from './events.js';
import { contentHash } from './hash.js';

export const REWARD_VERSION = 'reward/v1';

const Weights = z.object({
  /** Weight of `success` (true = 1). */
  success: z.number().min(0).max(1),
  /** Weight of `tool_ok`; a decision that used no tool counts as its success value. */
  tool_ok: z.number().min(0).max(1),
  /** Weight of `cache_hit`. */
  cache_hit: z.number().min(0).max(1),
});

const Penalties = z.object({
  /** Latency at or below this costs nothing. */
  latency_slo_ms: z.number().positive(),
  /** The latency penalty saturates at this multiple of the SLO (log scale in between). */
  latency_saturation_factor: z.number().gt(1),
  /** Largest latency penalty. */
  latency_max_penalty: z.number().min(0).max(1),
  /** Cost at which the cost penalty saturates (linear below). */
  cost_cap_usd: z.number().positive(),
  /** Largest cost penalty. */
  cost_max_penalty: z.number().min(0).max(1),
  /** Subtracted when a guard flag was raised. */
  guard_penalty: z.number().min(0).max(1),
  /** Added for explicit positive feedback (thumbs up). */
  feedback_bonus: z.number().min(0).max(1),
  /** Subtracted for explicit negative feedback (thumbs down). */
  feedback_penalty: z.number().min(0).max(1),
});

export const REWARD_PRESETS = {
  balanced: {
    weights: { success: 0.6, tool_ok: 0.25, cache_hit: 0.15 },
    penalties: { latency_slo_ms: 1000, latency_saturation_factor: 16, latency_max_penalty: 0.2, cost_cap_usd: 0.01, cost_max_penalty: 0.1, guard_penalty: 0.3, feedback_bonus: 0.1, feedback_penalty: 0.2 },
  },
  speed: {
    weights: { success: 0.5, tool_ok: 0.2, cache_hit: 0.3 },
    penalties: { latency_slo_ms: 500, latency_saturation_factor: 16, latency_max_penalty: 0.35, cost_cap_usd: 0.01, cost_max_penalty: 0.1, guard_penalty: 0.3, feedback_bonus: 0.1, feedback_penalty: 0.2 },
  },
  cost: {
    weights: { success: 0.55, tool_ok: 0.25, cache_hit: 0.2 },
    penalties: { latency_slo_ms: 1000, latency_saturation_factor: 16, latency_max_penalty: 0.15, cost_cap_usd: 0.005, cost_max_penalty: 0.25, guard_penalty: 0.3, feedback_bonus: 0.1, feedback_penalty: 0.2 },
  },
  quality: {
    weights: { success: 0.7, tool_ok: 0.25, cache_hit: 0.05 },
    penalties: { latency_slo_ms: 2000, latency_saturation_factor: 16, latency_max_penalty: 0.1, cost_cap_usd: 0.02, cost_max_penalty: 0.05, guard_penalty: 0.3, feedback_bonus: 0.1, feedback_penalty: 0.2 },
  },
} as const satisfies Record<string, { weights: z.infer<typeof Weights>; penalties: z.infer<typeof Penalties> }>;

export type RewardPreset = keyof typeof REWARD_PRESETS;

/** The `reward` section of the config. Presets fill whatever is not given. */
export const RewardConfigSchema = z
  .object({
    /** @default "balanced" */
    preset: z.enum(['balanced', 'speed', 'cost', 'quality']).default('balanced'),
    weights: Weights.partial().optional(),
    penalties: Penalties.partial().optional(),
    /** Reward given to a decision whose outcome never arrived. @default 0 */
    default_reward: z.number().min(0).max(1).default(0),
    /** Seconds to wait for an outcome before the default reward applies. @default 3600 */
    default_after_s: z.number().min(0).default(3600),
  })
  .strict();
export type RewardConfig = z.output<typeof RewardConfigSchema>;

/** A compiled reward function with its identity. */
export interface RewardFunction {
  readonly version: string;
  /** Hash of the version and every parameter: changes whenever the function's output may change. */
  readonly hash: string;
  readonly weights: z.infer<typeof Weights>;
  readonly penalties: z.infer<typeof Penalties>;
  readonly defaultReward: number;
  readonly defaultAfterS: number;
  /** The reward in [0, 1] for these signals. */
  compute(o: OutcomeSignals): number;
}

/** Build the reward function from its config section (defaults applied by the schema). */
export function compileReward(cfg: Partial<RewardConfig> = {}): RewardFunction {
  const parsed = RewardConfigSchema.parse(cfg);
  const base = REWARD_PRESETS[parsed.preset];
  const weights = { ...base.weights, ...stripUndefined(parsed.weights ?? {}) };
  const penalties = { ...base.penalties, ...stripUndefined(parsed.penalties ?? {}) };
  const total = weights.success + weights.tool_ok + weights.cache_hit;
  const scale = total > 1 ? 1 / total : 1; // keep the best case at most 1
  const logSat = Math.log(penalties.latency_saturation_factor);
  const hash = contentHash({ v: REWARD_VERSION, weights, penalties, d: parsed.default_reward, w: parsed.default_after_s });
  return {
    version: REWARD_VERSION,
    hash,
    weights,
    penalties,
    defaultReward: parsed.default_reward,
    defaultAfterS: parsed.default_after_s,
    compute(o: OutcomeSignals): number {
      const s = o.success === true ? 1 : 0;
      const t = o.tool_ok === undefined ? s : o.tool_ok ? 1 : 0;
      const c = o.cache_hit === true ? 1 : 0;
      let r = scale * (weights.success * s + weights.tool_ok * t + weights.cache_hit * c);
      if (o.latency_ms !== undefined && o.latency_ms > penalties.latency_slo_ms) {
        const x = Math.log(o.latency_ms / penalties.latency_slo_ms) / logSat;
        r -= penalties.latency_max_penalty * Math.min(1, x);
      }
      if (o.cost_usd !== undefined && o.cost_usd > 0) {
        r -= penalties.cost_max_penalty * Math.min(1, o.cost_usd / penalties.cost_cap_usd);
      }
      if (o.guard_flag === true) r -= penalties.guard_penalty;
      if (o.feedback === 1) r += penalties.feedback_bonus;
      else if (o.feedback === -1) r -= penalties.feedback_penalty;
      return r < 0 ? 0 : r > 1 ? 1 : r;
    },
  };
}

function stripUndefined<T extends object>(o: T): { [K in keyof T]-?: Exclude<T[K], undefined> } {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out as { [K in keyof T]-?: Exclude<T[K], undefined> };
}
