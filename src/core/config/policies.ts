/**
 * The `policies` config section: one default policy setting plus per-point overrides. Keeping the
 * overrides partial lets a config name only what differs for `tool` or `cache`; `policySettingsFor`
 * merges them into the effective settings of one decision point.
 */
import { z } from 'zod';

/** Conservative mode: stay on the production action unless another action is confidently better. */
export const ConservativeSchema = z
  .object({
    /** Serve the baseline unless the rule in docs/learning.md says another action is confidently better. @default false */
    enabled: z.boolean().default(false),
    /** How much the challenger's lower bound must exceed the baseline's estimate (or upper bound). @default 0.02 */
    margin: z.number().min(0).default(0.02),
    /** Multiplier on the policy's own confidence width for the bounds. @default 1 */
    z: z.number().min(0).default(1),
    /** Compare the challenger's lower bound with the baseline's upper bound (safe when both are uncertain) or its point estimate. @default "upper" */
    compare: z.enum(['upper', 'estimate']).default('upper'),
    /** Probability spread uniformly over all actions (the rest goes to the chosen action). @default 0.02 */
    explore: z.number().min(0).max(1).default(0.02),
  })
  .strict();

/** Everything that defines one point's policy. */
export const PolicySettingsSchema = z
  .object({
    /**
     * `linucb` (disjoint ridge per arm on the dense features), `lints` (linear Thompson sampling),
     * `beta_ts` (Beta–Bernoulli per group), `sparse` (reward regression on the sparse features,
     * trained by AdaGrad over several passes) or `constant` (one action for every context: the best
     * by its estimated value, or the production rules' own choice). @default "linucb"
     */
    algorithm: z.enum(['linucb', 'lints', 'beta_ts', 'sparse', 'constant']).default('linucb'),
    /** LinUCB's width multiplier: score = estimate + alpha · sqrt(xᵀA⁻¹x). Small, because candidates learn from logs they do not control (docs/learning.md). @default 0.1 */
    alpha: z.number().min(0).default(0.1),
    /** Ridge regularisation (A starts at lambda · I). @default 1 */
    lambda: z.number().positive().default(1),
    /** Linear Thompson sampling: posterior scale v (θ ~ N(θ̂, v² A⁻¹)). @default 0.25 */
    ts_scale: z.number().positive().default(0.25),
    /** How greedy scores become a distribution: arg-max (ties split) or softmax. @default "epsilon_greedy" */
    exploration: z.enum(['epsilon_greedy', 'softmax']).default('epsilon_greedy'),
    /** Probability spread uniformly over all eligible actions. @default 0.05 */
    epsilon: z.number().min(0).max(1).default(0.05),
    /** Softmax temperature (in reward units). @default 0.05 */
    temperature: z.number().positive().default(0.05),
    /** Smallest probability of any eligible action (raises epsilon to K · floor when needed). @default 0 */
    floor: z.number().min(0).max(1).default(0),
    /** Sherman–Morrison updates between refactorisations of A⁻¹ from A (Cholesky). @default 256 */
    refactor_every: z.number().int().min(1).default(256),
    /** `beta_ts`: context key whose value selects the posterior table (unknown values use the pooled table). @default "intent" */
    group_by: z.string().min(1).default('intent'),
    /** `beta_ts`: Beta prior (alpha, beta). @default [1, 1] */
    prior: z.tuple([z.number().positive(), z.number().positive()]).default([1, 1]),
    /** Seed of the replayable decision draws (`drawFor(seed, id)`). @default 7 */
    seed: z.number().int().min(0).max(0xffffffff).default(7),
    /** `sparse`: AdaGrad's base learning rate. @default 0.05 */
    learning_rate: z.number().positive().max(10).default(0.05),
    /** `sparse`: L2 penalty per example on the touched weights. @default 0.000001 */
    l2: z.number().min(0).max(1).default(1e-6),
    /** `sparse`: passes over the training window (each in a seeded order). @default 10 */
    passes: z.number().int().min(1).max(100).default(10),
    /**
     * `sparse`: most example updates of one training over all its passes: a large window gets fewer
     * passes (never fewer than one), so training time stays bounded. @default 3000000
     */
    max_updates: z.number().int().min(1).default(3_000_000),
    /** `sparse`: weight examples by 1 / logging propensity (`ips`, normalised to mean 1) or not (`none`). @default "none" */
    weighting: z.enum(['none', 'ips']).default('none'),
    /** `sparse`: add weights shared by every action to the per-action ones (the context's common reward level). @default false */
    shared: z.boolean().default(false),
    /** `constant`: serve the action of best estimated value (`best`) or the production rules' choice (`baseline`). @default "best" */
    constant_choice: z.enum(['best', 'baseline']).default('best'),
    /** Conservative mode. @default {} */
    conservative: ConservativeSchema.prefault({}),
  })
  .strict();

/** The effective settings of one point's policy. */
export type PolicySettings = z.output<typeof PolicySettingsSchema>;

/** A shape with every default removed and every field optional (overrides must not re-apply defaults). */
function withoutDefaults<T extends z.ZodRawShape>(shape: T): { [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> } {
  const out: Record<string, z.ZodOptional<z.ZodType>> = {};
  for (const [k, v] of Object.entries(shape)) {
    const inner = v instanceof z.ZodDefault || v instanceof z.ZodPrefault ? (v.unwrap() as z.ZodType) : (v as z.ZodType);
    out[k] = inner.optional();
  }
  return out as { [K in keyof T]: z.ZodOptional<z.ZodType<z.output<T[K]>>> };
}

/** A per-point override: any subset of the settings (conservative fields too); unset fields come from `default`. */
export const PolicyOverrideSchema = z
  .object({
    ...withoutDefaults(PolicySettingsSchema.shape),
    conservative: z.object(withoutDefaults(ConservativeSchema.shape)).strict().optional(),
  })
  .strict();
export type PolicyOverride = z.output<typeof PolicyOverrideSchema>;

/** The `policies` section. */
export const PoliciesConfigSchema = z
  .object({
    /** Settings of every point unless overridden. @default {} */
    default: PolicySettingsSchema.prefault({}),
    /**
     * Per-point overrides (point name → settings that differ from `default`).
     * @default {"tool": {"algorithm": "beta_ts", "group_by": "intent"}}
     */
    points: z.record(z.string().min(1), PolicyOverrideSchema).default({ tool: { algorithm: 'beta_ts', group_by: 'intent' } }),
  })
  .strict();

/** The effective `policies` section. */
export type PoliciesConfig = z.output<typeof PoliciesConfigSchema>;

/** The effective settings of `point`: `default` with the point's override merged in (field by field). */
export function policySettingsFor(cfg: PoliciesConfig, point: string): PolicySettings {
  const o = cfg.points[point];
  return o === undefined ? cfg.default : mergePolicySettings(cfg.default, o);
}

/** `base` with the set fields of `o` (a point override or a selection candidate) merged in; other keys of `o` (a candidate's name) are ignored. */
export function mergePolicySettings(base: PolicySettings, o: PolicyOverride): PolicySettings {
  const merged: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(o)) if (v !== undefined && k !== 'conservative' && k in PolicySettingsSchema.shape) merged[k] = v;
  merged.conservative = { ...base.conservative, ...stripUndefined(o.conservative ?? {}) };
  return PolicySettingsSchema.parse(merged);
}

function stripUndefined(o: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) out[k] = v;
  return out;
}
