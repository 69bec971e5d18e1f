/**
 * Episodes in, policies out. The trainer turns rewarded decision events into a time-ordered
 * dataset per decision point (train = the earliest events, validation = the latest; never a random
 * split, so validation always lies in the future of training), fits one policy per point with the
 * shared feature map, and turns a validation window into the samples off-policy evaluation reads.
 * No file I/O here: src/services/pipeline.ts reads and writes.
 */
import { z } from 'zod';
import { type PolicySettings, policySettingsFor } from '../../core/config/policies.js';
import { ContextSchema, type Context } from '../../core/events.js';
import { FeatureMap, type SparseRows } from '../../core/features/index.js';
import { type Policy, type PolicyArtifact, type TrainingExample, type TrainingWindow, buildArtifact, createPolicy } from '../../core/policies/index.js';
import type { Settings } from '../../core/settings.js';
import { isoEpochMs } from '../../core/telemetry/timestamps.js';
import { VERSION } from '../../version.js';

/** One rewarded decision: what the pipeline's dataset holds (contexts carry expanded text only). */
export const EpisodeSchema = z
  .object({
    id: z.string().min(1),
    ts: z.string().min(1),
    point: z.string().min(1),
    context: ContextSchema,
    actions: z.array(z.string().min(1)).min(1),
    action: z.string().min(1),
    /** Logging propensity; absent = unknown (a deterministic logger). */
    propensity: z.number().gt(0).max(1).optional(),
    /** The logger's full distribution, when known. */
    probs: z.record(z.string(), z.number()).optional(),
    baseline: z.string().optional(),
    policy: z.string().optional(),
    reward: z.number().min(0).max(1),
    /** True when the reward is the configured default (no outcome arrived). */
    defaulted: z.boolean(),
    /** The outcome's success flag, when known (the success gate needs it). */
    success: z.boolean().optional(),
  })
  .strict();
export type Episode = z.infer<typeof EpisodeSchema>;

/** The dataset of one decision point. */
export interface PointDataset {
  point: string;
  train: Episode[];
  validation: Episode[];
}

/** Order episodes by time (then id, so equal timestamps are ordered the same on every run). */
export function sortByTime(episodes: Episode[]): Episode[] {
  const t = Float64Array.from(episodes, (e) => isoEpochMs(e.ts));
  const order = Int32Array.from(episodes, (_, i) => i);
  order.sort((a, b) => t[a]! - t[b]! || (episodes[a]!.id < episodes[b]!.id ? -1 : episodes[a]!.id > episodes[b]!.id ? 1 : 0));
  return Array.from(order, (i) => episodes[i]!);
}

/**
 * Group by decision point and split each point's episodes in time: the latest
 * round(n · validationFraction) are the validation window, the rest the training window.
 */
export function splitByTime(episodes: readonly Episode[], validationFraction: number): PointDataset[] {
  const byPoint = new Map<string, Episode[]>();
  for (const e of episodes) {
    let list = byPoint.get(e.point);
    if (list === undefined) {
      list = [];
      byPoint.set(e.point, list);
    }
    list.push(e);
  }
  const out: PointDataset[] = [];
  for (const point of [...byPoint.keys()].sort()) {
    const sorted = sortByTime(byPoint.get(point)!);
    const nVal = Math.min(sorted.length, Math.round(sorted.length * validationFraction));
    out.push({ point, train: sorted.slice(0, sorted.length - nVal), validation: sorted.slice(sorted.length - nVal) });
  }
  return out;
}

/** First and last timestamps and the count of a time-ordered list. */
export function windowOf(episodes: readonly Episode[]): TrainingWindow {
  return { first: episodes[0]?.ts ?? null, last: episodes.at(-1)?.ts ?? null, n: episodes.length };
}

/** What training one point produced. */
export interface TrainedPoint {
  point: string;
  policy: Policy;
  artifact: PolicyArtifact;
  metrics: TrainingMetrics;
}

/** Training metrics recorded in the artifact. */
export interface TrainingMetrics {
  n: number;
  meanReward: number;
  defaultedRewards: number;
  /** Events whose logging propensity was unknown (deterministic logger). */
  unknownPropensity: number;
  /** Training events per served action. */
  actionCounts: Record<string, number>;
}

/**
 * A training window prepared once for several trainings on it (the candidates of a selection): its
 * feature map, fitted once (fitting is deterministic, so every training would fit the same one),
 * and its sparse feature rows, made on first use and shared by every policy that trains from rows.
 */
export class PreparedWindow {
  readonly episodes: readonly Episode[];
  readonly featureMap: FeatureMap;
  private rows: SparseRows | undefined;

  constructor(episodes: readonly Episode[], settings: Settings) {
    this.episodes = episodes;
    this.featureMap = FeatureMap.fit(settings.features, contextsOf(episodes));
  }

  /** The episodes' contexts as sparse rows under the feature map (row k is episode k). */
  sparseRows(): SparseRows {
    this.rows ??= this.featureMap.featurizeSparseRows(contextsOf(this.episodes), this.episodes.length);
    return this.rows;
  }
}

/**
 * Fit the feature map and the point's policy (the configured one, or `policySettings`) on a window;
 * with `prepared` (the same window, prepared), its feature map and rows are reused.
 */
export function trainPoint(
  point: string,
  train: readonly Episode[],
  settings: Settings,
  extraMetrics: Record<string, unknown> = {},
  policySettings?: PolicySettings,
  prepared?: PreparedWindow,
): TrainedPoint {
  if (prepared !== undefined && prepared.episodes !== train) throw new RangeError('a prepared window must be the window trained on');
  const config = settings.config;
  const fm = prepared?.featureMap ?? FeatureMap.fit(settings.features, contextsOf(train));
  const policy = createPolicy(point, policySettings ?? policySettingsFor(config.policies, point), fm);
  // Episodes are training examples as they are (context, action, reward, propensity): no copies.
  const examples: readonly TrainingExample[] = train;
  if (prepared !== undefined && policy.fitRows !== undefined) policy.fitRows(prepared.sparseRows(), examples, config.training.seed);
  else policy.fit(examples, config.training.seed);
  const metrics = trainingMetrics(train);
  const artifact = buildArtifact(policy, {
    rewardHash: settings.fingerprint.rewardHash,
    configHash: settings.configHash,
    window: windowOf(train),
    trainingSeed: config.training.seed,
    metrics: { training: metrics, ...extraMetrics },
    createdWith: `umbra ${VERSION}`,
  });
  return { point, policy, artifact, metrics };
}

function* contextsOf(episodes: readonly Episode[]): Iterable<Context> {
  for (const e of episodes) yield e.context;
}

/** Counts and mean reward of a window. */
export function trainingMetrics(episodes: readonly Episode[]): TrainingMetrics {
  let sum = 0;
  let defaulted = 0;
  let unknown = 0;
  const actionCounts: Record<string, number> = {};
  for (const e of episodes) {
    sum += e.reward;
    if (e.defaulted) defaulted++;
    if (e.propensity === undefined) unknown++;
    actionCounts[e.action] = (actionCounts[e.action] ?? 0) + 1;
  }
  return { n: episodes.length, meanReward: episodes.length > 0 ? sum / episodes.length : 0, defaultedRewards: defaulted, unknownPropensity: unknown, actionCounts };
}

/** Estimator-free facts about a validation window (the estimators live in src/core/ope). */
export interface WindowSummary {
  n: number;
  /** The logger's on-policy value: the mean logged reward. */
  loggerValue: number;
  /** Mean probability the target policy gives the logged action. */
  agreement: number;
  /** Share of episodes without a logging propensity. */
  unknownPropensityShare: number;
  defaultedRewards: number;
}
