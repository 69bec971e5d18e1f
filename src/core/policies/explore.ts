/**
 * Turning a model's per-action numbers into the exact distribution a policy samples from. Every
 * policy ends here, so there is one formula for propensities:
 *
 *   p_i = (1 − ε) · g_i + ε / K,   ε = max(epsilon, K · floor)
 *
 * where g is the "greedy" distribution over the actions the model knows (arg-max with ties split
 * equally, a softmax, or a Thompson-sampling probability of being best), and unknown actions (no
 * training data) get only the ε share. In conservative mode g is a point mass chosen by the rule in
 * `conservativeChoice`, with ε = max(conservative.explore, K · floor).
 */
import type { PolicySettings } from '../config/policies.js';
import type { Estimates } from './policy.js';

/** Two scores closer than this (relative) are a tie and share the greedy mass equally. */
const TIE_TOLERANCE = 1e-12;

/** Per-action inputs to the exploration wrapper (only the first k entries are read). */
export interface ArmNumbers {
  /** 1 when the model has data for the action, 0 when it does not. */
  known: ArrayLike<number>;
  /** The greedy score (e.g. the upper confidence bound for LinUCB, the estimate otherwise). */
  score: ArrayLike<number>;
  /** Estimated value of the action. */
  mean: ArrayLike<number>;
  /** Confidence width of the estimate (the model's own scale; conservative mode multiplies it by z). */
  width: ArrayLike<number>;
}

/** Per-call arm numbers and greedy distribution, sized to the largest action list seen. */
export class ArmScratch implements ArmNumbers {
  known = new Uint8Array(4);
  score = new Float64Array(4);
  mean = new Float64Array(4);
  width = new Float64Array(4);
  g = new Float64Array(4);

  ensure(k: number): void {
    if (this.known.length >= k) return;
    this.known = new Uint8Array(k);
    this.score = new Float64Array(k);
    this.mean = new Float64Array(k);
    this.width = new Float64Array(k);
    this.g = new Float64Array(k);
  }

  /** The first k actions' numbers as a policy's estimates. */
  estimates(k: number): Estimates {
    const mean: number[] = [];
    const width: number[] = [];
    const known: boolean[] = [];
    for (let i = 0; i < k; i++) {
      mean.push(this.mean[i]!);
      width.push(this.width[i]!);
      known.push(this.known[i] === 1);
    }
    return { mean, width, known };
  }
}

/** Mean reward over arms, summed in their order (0.5 when they have learned nothing). */
export function meanReward(arms: Iterable<{ sumReward: number; n: number }>): number {
  let sum = 0;
  let n = 0;
  for (const a of arms) {
    sum += a.sumReward;
    n += a.n;
  }
  return n > 0 ? sum / n : 0.5;
}

/**
 * The greedy distribution from scores: arg-max (ties split) for `epsilon_greedy`, softmax otherwise,
 * over known actions only. Writes into `g`; returns false when no action is known.
 */
export function greedyFromScores(settings: PolicySettings, k: number, arms: ArmNumbers, g: Float64Array | number[]): boolean {
  let best = -Infinity;
  let anyKnown = false;
  for (let i = 0; i < k; i++) {
    g[i] = 0;
    if (!arms.known[i]) continue;
    anyKnown = true;
    const s = arms.score[i]!;
    if (s > best) best = s;
  }
  if (!anyKnown) return false;
  if (settings.exploration === 'softmax') {
    let sum = 0;
    for (let i = 0; i < k; i++) {
      if (!arms.known[i]) continue;
      const e = Math.exp((arms.score[i]! - best) / settings.temperature);
      g[i] = e;
      sum += e;
    }
    for (let i = 0; i < k; i++) g[i] = g[i]! / sum;
    return true;
  }
  const tol = TIE_TOLERANCE * Math.max(1, Math.abs(best));
  let ties = 0;
  for (let i = 0; i < k; i++) if (arms.known[i] && arms.score[i]! >= best - tol) ties++;
  for (let i = 0; i < k; i++) if (arms.known[i] && arms.score[i]! >= best - tol) g[i] = 1 / ties;
  return true;
}

/**
 * The conservative choice (an index), or −1 when no action is known:
 * - with a known baseline b: the challenger a* = arg-max over other known actions of the lower bound
 *   mean − z·width replaces b only when LB(a*) ≥ mean_b + margin (`compare: "estimate"`) or
 *   LB(a*) ≥ mean_b + z·width_b + margin (`compare: "upper"`); otherwise b;
 * - with a baseline the model does not know: the baseline (nothing can be proven better than it);
 * - without a baseline: the action with the best lower bound.
 */
export function conservativeChoice(settings: PolicySettings, k: number, arms: ArmNumbers, baseline: number): number {
  const c = settings.conservative;
  let best = -1;
  let bestLb = -Infinity;
  for (let i = 0; i < k; i++) {
    if (!arms.known[i] || i === baseline) continue;
    const lb = arms.mean[i]! - c.z * arms.width[i]!;
    if (lb > bestLb) {
      bestLb = lb;
      best = i;
    }
  }
  if (baseline < 0) return best;
  if (!arms.known[baseline]) return baseline;
  if (best < 0) return baseline;
  const bar = arms.mean[baseline]! + (c.compare === 'upper' ? c.z * arms.width[baseline]! : 0) + c.margin;
  return bestLb >= bar ? best : baseline;
}

/**
 * The final distribution from a greedy distribution `g` (or none), into `out`:
 * p_i = (1 − ε) g_i + ε / K. Without a greedy distribution (no known action) g is the baseline
 * when there is one, else uniform. Conservative mode replaces g by its point mass.
 */
export function finalDistribution(
  settings: PolicySettings,
  k: number,
  arms: ArmNumbers,
  g: Float64Array | number[],
  haveGreedy: boolean,
  baseline: number,
  out: Float64Array | number[],
): void {
  if (k === 1) {
    out[0] = 1;
    return;
  }
  let eps = settings.epsilon;
  if (settings.conservative.enabled) {
    eps = settings.conservative.explore;
    const c = conservativeChoice(settings, k, arms, baseline);
    if (c >= 0) {
      for (let i = 0; i < k; i++) g[i] = i === c ? 1 : 0;
      haveGreedy = true;
    } else {
      haveGreedy = false;
    }
  }
  if (!haveGreedy) {
    for (let i = 0; i < k; i++) g[i] = baseline >= 0 ? (i === baseline ? 1 : 0) : 1 / k;
  }
  eps = Math.min(1, Math.max(eps, k * settings.floor));
  const share = eps / k;
  for (let i = 0; i < k; i++) out[i] = (1 - eps) * g[i]! + share;
}
