/**
 * The policy artifact: a self-contained JSON document (settings, feature-map definition and frozen
 * statistics, model parameters) with the hashes that decide whether it may be used (feature map,
 * reward, config), its training window, seeds and metrics. It is content-addressed: the file name
 * carries a hash of the document. Reading and writing files lives in src/services/artifacts.ts.
 */
import { z } from 'zod';
import { PolicySettingsSchema } from '../config/policies.js';
import { ErrorCode, UmbraError } from '../errors.js';
import { FeatureDefinitionSchema, FeatureMap, FeatureStatsSchema, featureHash } from '../features/index.js';
import { contentHash } from '../hash.js';
import { BetaTsPolicy, type BetaParams } from './beta.js';
import { ConstantPolicy, type ConstantParams } from './constant.js';
import { LinearPolicy, type LinearParams } from './linear.js';
import type { Policy } from './policy.js';
import { SparsePolicy, type SparseParams } from './sparse.js';

/** Format tag of policy artifacts. */
export const ARTIFACT_FORMAT = 'umbra.policy/v1';

const RidgeArmSchema = z
  .object({
    action: z.string().min(1),
    n: z.number().int().min(0),
    sumReward: z.number().min(0),
    A: z.array(z.number()),
    b: z.array(z.number()),
  })
  .strict();

/** Parameters of `linucb` and `lints` policies. */
export const LinearParamsSchema = z
  .object({
    d: z.number().int().min(1),
    lambda: z.number().positive(),
    arms: z.array(RidgeArmSchema),
  })
  .strict();

const BetaArmSchema = z.object({ action: z.string().min(1), successes: z.number().min(0), n: z.number().int().min(0) }).strict();

/** Parameters of `beta_ts` policies. */
export const BetaParamsSchema = z
  .object({
    group_by: z.string().min(1),
    prior: z.tuple([z.number().positive(), z.number().positive()]),
    groups: z.array(z.object({ group: z.string(), arms: z.array(BetaArmSchema) }).strict()),
    pooled: z.array(BetaArmSchema),
  })
  .strict();

const Base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64');

/** Parameters of `sparse` policies: per-action statistics and the hashed weight table. */
export const SparseParamsSchema = z
  .object({
    bits: z.number().int().min(12).max(26),
    shared: z.boolean(),
    arms: z.array(z.object({ action: z.string().min(1), n: z.number().int().min(0), sumReward: z.number().min(0), residual: z.number().min(0) }).strict()),
    table: z.object({ count: z.number().int().min(0), index: Base64, weight: Base64, adagrad: Base64 }).strict(),
  })
  .strict();

/** Parameters of `constant` policies. */
export const ConstantParamsSchema = z
  .object({
    choice: z.enum(['best', 'baseline']),
    arms: z.array(z.object({ action: z.string().min(1), n: z.number().int().min(0), weightedReward: z.number().min(0), weight: z.number().min(0) }).strict()),
  })
  .strict();

/** The training window: first and last event time and the number of training events. */
export const TrainingWindowSchema = z
  .object({
    first: z.string().nullable(),
    last: z.string().nullable(),
    n: z.number().int().min(0),
  })
  .strict();
export type TrainingWindow = z.infer<typeof TrainingWindowSchema>;

const Common = {
  format: z.literal(ARTIFACT_FORMAT),
  point: z.string().min(1),
  /** Actions the policy has data for (it answers for any action list; see docs/learning.md). */
  actions: z.array(z.string()),
  settings: PolicySettingsSchema,
  features: z
    .object({
      definition: FeatureDefinitionSchema,
      hash: z.string(),
      stats: FeatureStatsSchema,
    })
    .strict(),
  featureHash: z.string(),
  rewardHash: z.string(),
  configHash: z.string(),
  window: TrainingWindowSchema,
  seeds: z.object({ decision: z.number().int(), training: z.number().int() }).strict(),
  metrics: z.record(z.string(), z.unknown()),
  /** Umbra version that wrote the artifact. */
  createdWith: z.string(),
};

/** A policy artifact (validated on load). */
export const PolicyArtifactSchema = z.discriminatedUnion('kind', [
  z.object({ ...Common, kind: z.literal('linucb'), params: LinearParamsSchema }).strict(),
  z.object({ ...Common, kind: z.literal('lints'), params: LinearParamsSchema }).strict(),
  z.object({ ...Common, kind: z.literal('beta_ts'), params: BetaParamsSchema }).strict(),
  z.object({ ...Common, kind: z.literal('sparse'), params: SparseParamsSchema }).strict(),
  z.object({ ...Common, kind: z.literal('constant'), params: ConstantParamsSchema }).strict(),
]);
export type PolicyArtifact = z.infer<typeof PolicyArtifactSchema>;

/** What an artifact carries besides the model. */
export interface ArtifactMeta {
  rewardHash: string;
  configHash: string;
  window: TrainingWindow;
  trainingSeed: number;
  metrics: Record<string, unknown>;
  createdWith: string;
}

/** Build the artifact of a trained policy (canonicalises the policy's numerical state). */
export function buildArtifact(policy: Policy, meta: ArtifactMeta): PolicyArtifact {
  const fm = policy.featureMap.toJSON();
  const common = {
    format: ARTIFACT_FORMAT,
    point: policy.point,
    actions: policy.knownActions(),
    settings: policy.settings,
    features: fm,
    featureHash: fm.hash,
    rewardHash: meta.rewardHash,
    configHash: meta.configHash,
    window: meta.window,
    seeds: { decision: policy.settings.seed, training: meta.trainingSeed },
    metrics: meta.metrics,
    createdWith: meta.createdWith,
  } as const;
  switch (policy.kind) {
    case 'beta_ts':
      return { ...common, kind: 'beta_ts', params: policy.toParams() as BetaParams };
    case 'sparse':
      return { ...common, kind: 'sparse', params: policy.toParams() as SparseParams };
    case 'constant':
      return { ...common, kind: 'constant', params: policy.toParams() as ConstantParams };
    default:
      return { ...common, kind: policy.kind, params: policy.toParams() as LinearParams };
  }
}

/** Content hash of an artifact (16 hex digits). */
export function artifactHash(a: PolicyArtifact): string {
  return contentHash(a);
}

/** The content-addressed file name: `<point>-<kind>-<hash16>.json` (point made file-name safe). */
export function artifactFileName(a: PolicyArtifact): string {
  const safe = a.point.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64) || 'point';
  return `${safe}-${a.kind}-${artifactHash(a)}.json`;
}

/** Parse an unknown value as an artifact: E_ARTIFACT_INVALID with the first problems listed. */
export function parseArtifact(raw: unknown, source = 'artifact'): PolicyArtifact {
  const r = PolicyArtifactSchema.safeParse(raw);
  if (!r.success) {
    const lines = r.error.issues.slice(0, 5).map((i) => `  ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source} is not a valid policy artifact:\n${lines.join('\n')}`, { issues: r.error.issues.length });
  }
  const a = r.data;
  const expect = featureHash(a.features.definition);
  if (a.features.hash !== expect || a.featureHash !== expect) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source}: its feature hash does not match its own feature definition (edited or corrupted)`);
  }
  if ((a.kind === 'linucb' || a.kind === 'lints') && a.params.d !== a.features.definition.dim) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source}: model dimension ${a.params.d} differs from the feature dimension ${a.features.definition.dim}`);
  }
  if (a.kind === 'sparse' && a.params.bits !== a.features.definition.bits) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source}: model table of 2^${a.params.bits} differs from the feature space of 2^${a.features.definition.bits}`);
  }
  if (a.settings.algorithm !== a.kind) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source}: kind ${a.kind} differs from settings.algorithm ${a.settings.algorithm}`);
  }
  return a;
}

/** Expected hashes a loader may insist on. */
export interface Compatibility {
  featureHash?: string | undefined;
  rewardHash?: string | undefined;
  configHash?: string | undefined;
}

/** Refuse an artifact whose hashes differ from the expected ones (E_ARTIFACT_MISMATCH naming each difference). */
export function checkCompatibility(a: PolicyArtifact, expected: Compatibility, source = 'artifact'): void {
  const diffs: string[] = [];
  if (expected.featureHash !== undefined && expected.featureHash !== a.featureHash) {
    diffs.push(`feature-map hash ${a.featureHash} differs from the expected ${expected.featureHash} (the features config changed)`);
  }
  if (expected.rewardHash !== undefined && expected.rewardHash !== a.rewardHash) {
    diffs.push(`reward hash ${a.rewardHash} differs from the expected ${expected.rewardHash} (the reward config changed)`);
  }
  if (expected.configHash !== undefined && expected.configHash !== a.configHash) {
    diffs.push(`config hash ${a.configHash} differs from the expected ${expected.configHash}`);
  }
  if (diffs.length > 0) {
    throw new UmbraError(ErrorCode.ARTIFACT_MISMATCH, `${source} cannot be used here: ${diffs.join('; ')}`, {
      artifact: { featureHash: a.featureHash, rewardHash: a.rewardHash, configHash: a.configHash },
      expected,
    });
  }
}

/** The live policy of an artifact (identical probabilities to the policy it was built from). */
export function policyFromArtifact(a: PolicyArtifact, source = 'artifact'): Policy {
  const fm = new FeatureMap(a.features.definition, a.features.stats);
  try {
    switch (a.kind) {
      case 'beta_ts':
        return BetaTsPolicy.fromParams(a.point, a.settings, fm, a.params);
      case 'sparse':
        return SparsePolicy.fromParams(a.point, a.settings, fm, a.params);
      case 'constant':
        return ConstantPolicy.fromParams(a.point, a.settings, fm, a.params);
      default:
        return LinearPolicy.fromParams(a.point, a.settings, fm, a.params);
    }
  } catch (e) {
    if (e instanceof RangeError) throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${source}: ${e.message}`);
    throw e;
  }
}
