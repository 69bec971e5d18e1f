/**
 * One JSON config file, validated with readable errors. `compileConfig` applies every default and
 * returns the effective config; errors carry the path, what was expected and what was found.
 * Module-owned sections are defined beside their module and composed here.
 */
import { z } from 'zod';
import { ErrorCode, UmbraError } from '../errors.js';
import { contentHash } from '../hash.js';
import { RewardConfigSchema } from '../reward.js';
import { BootstrapSchema, PromotionCriteriaSchema, ShadowModeSchema } from './sections.js';
import { ModuleSections } from './modules.js';

export const ConfigSchema = z
  .object({
    /** Optional JSON Schema reference for editors. */
    $schema: z.string().optional(),
    shadow_mode: ShadowModeSchema.prefault({}),
    bootstrap: BootstrapSchema.prefault({}),
    promotion_criteria: PromotionCriteriaSchema.prefault({}),
    reward: RewardConfigSchema.prefault({}),
    ...ModuleSections,
  })
  .strict();

export type Config = z.output<typeof ConfigSchema>;
export type ConfigInput = z.input<typeof ConfigSchema>;

/** One readable config problem. */
export interface ConfigIssue {
  /** Dotted path, e.g. `promotion_criteria.min_policy_value`. */
  path: string;
  message: string;
  expected?: string;
  got?: string;
}

/** Validate and apply defaults. Throws E_CONFIG_INVALID with every issue listed. */
export function compileConfig(raw: unknown, source = 'config'): Config {
  const r = ConfigSchema.safeParse(raw ?? {}, { reportInput: true });
  if (r.success) return r.data;
  const issues = toIssues(r.error);
  const lines = issues.map((i) => `  ${i.path || '(root)'}: ${i.message}${i.expected ? ` (expected ${i.expected}${i.got !== undefined ? `, got ${i.got}` : ''})` : ''}`);
  throw new UmbraError(ErrorCode.CONFIG_INVALID, `${source} is not a valid Umbra config:\n${lines.join('\n')}`, { issues });
}

/** Turn zod issues into path / expected / got records (also used for other user-facing schemas). */
export function toIssues(err: z.ZodError): ConfigIssue[] {
  return err.issues.map((i) => {
    const path = i.path.map(String).join('.');
    const out: ConfigIssue = { path, message: i.message };
    if (i.code === 'invalid_type') out.expected = String(i.expected);
    if (i.code === 'unrecognized_keys') out.expected = 'no such key';
    if ('input' in i && i.input !== undefined) out.got = describe(i.input);
    return out;
  });
}

function describe(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The effective config with every default (the output of `umbra config print`). */
export function defaultConfig(): Config {
  return compileConfig({});
}

/** Hash of the effective config, carried by artifacts and audit records. */
export function configHash(cfg: Config): string {
  const { $schema: _ignored, ...rest } = cfg;
  // Where the store and stream live is deployment, not behaviour: replicas with different
  // credentials run the same config, and configs written before the scale-out keep their hash.
  const { url: _u, pool_size: _p, stream_url: _s, stream_name: _n, stream_subject: _j, stream_duplicate_window_s: _w, stream_consumer: _c, ...store } = rest.store;
  const { state_staleness_ms: _st, ...server } = rest.server;
  return contentHash({ ...rest, store, server });
}
