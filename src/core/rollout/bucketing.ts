/**
 * Sticky traffic splitting for the canary. A sticky key (a user or session id) always lands in the
 * same bucket for a given candidate, in every process and after every restart, because the bucket
 * is a fixed 32-bit hash of `salt:stickyKey` — nothing random, nothing stored.
 *
 * Layout of the 10,000 buckets for canary weight w (a fraction, 0.05 = 5 %):
 *
 *   [0, w·10⁴)              canary   — served by the candidate
 *   [5000, 5000 + w·10⁴)    control  — served by the champion, logged as control, compared with canary
 *   everything else         production (the champion)
 *
 * Both slices grow from fixed starting points, so raising w only adds buckets: a key in the canary
 * at 5 % is still in it at 10 % (monotonic ramps), and canary and control never overlap while
 * w ≤ 0.5. The salt is the candidate's id, so every candidate draws its own slice (no population
 * is the guinea pig for every experiment) and a retried candidate gets its old slice back.
 */
import { murmur3 } from '../hash.js';
import { ErrorCode, UmbraError } from '../errors.js';

/** Number of buckets. */
export const BUCKETS = 10_000;

/** First bucket of the control slice. */
export const CONTROL_START = 5_000;

/** Largest canary weight: canary and control must fit side by side without overlapping. */
export const MAX_CANARY_WEIGHT = 0.5;

/** Where a decision goes. The names match the `servedBy` values of the decision API. */
export const Slice = {
  CANARY: 'canary',
  CONTROL: 'control',
  PRODUCTION: 'production',
} as const;
export type Slice = (typeof Slice)[keyof typeof Slice];

/** The bucket in [0, 10,000) of a sticky key under a salt: murmur3 (seed 0) of `salt:stickyKey`. */
export function bucketOf(salt: string, stickyKey: string): number {
  return murmur3(`${salt}:${stickyKey}`) % BUCKETS;
}

/** Number of buckets in a slice of weight `w` (rounded, so 0.07 gives exactly 700). */
export function bucketsFor(weight: number): number {
  return Math.round(weight * BUCKETS);
}

/** Throws E_USAGE unless `weight` is a fraction in [0, 0.5]. */
export function checkWeight(weight: number): void {
  if (!(weight >= 0 && weight <= MAX_CANARY_WEIGHT)) {
    throw new UmbraError(ErrorCode.USAGE, `canary weight must be a fraction in [0, ${MAX_CANARY_WEIGHT}] (0.05 = 5 %), got ${weight}`);
  }
}

/** The slice of a bucket for canary weight `weight` (an equal control slice beside it). */
export function sliceOfBucket(bucket: number, weight: number): Slice {
  const size = bucketsFor(weight);
  if (bucket < size) return Slice.CANARY;
  if (bucket >= CONTROL_START && bucket < CONTROL_START + size) return Slice.CONTROL;
  return Slice.PRODUCTION;
}

/** What the split needs: the candidate id as salt and the canary weight as a fraction. */
export interface SplitOptions {
  /** The candidate's id (kept across retries). */
  salt: string;
  /** Canary share as a fraction in [0, 0.5]; the control slice has the same size. */
  canaryWeight: number;
}

/**
 * The slice of a request. Without a sticky key the champion serves: a request that cannot be
 * assigned consistently must not be experimented on.
 */
export function assignSlice(stickyKey: string | null | undefined, opts: SplitOptions): Slice {
  if (stickyKey === undefined || stickyKey === null || stickyKey === '' || !(opts.canaryWeight > 0)) return Slice.PRODUCTION;
  return sliceOfBucket(bucketOf(opts.salt, stickyKey), Math.min(opts.canaryWeight, MAX_CANARY_WEIGHT));
}
