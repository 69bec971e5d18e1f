/**
 * The canary and control slices' aggregates since a canary started, read back from the decision
 * log: decisions, the candidate's own errors and timeouts, outcomes, successes, reward and cost
 * moments, latency sketches and the randomisation units. What the canary judge weighs.
 */
import { emptySlice, type SliceAggregates } from '../../core/rollout/index.js';
import type { Settings } from '../../core/settings.js';
import { QuantileSketch } from '../../core/stats/quantile.js';
import type { EventReader } from '../../store/port.js';
import { parseServedTag } from './served-tag.js';

type Slice = 'canary' | 'control';

/** Aggregates of both slices of the canary of `candidate` since `since`. */
export async function canarySlices(store: EventReader, settings: Settings, since: string, candidate: string, now: number): Promise<{ canary: SliceAggregates; control: SliceAggregates }> {
  const acc = { canary: emptySlice(), control: emptySlice() };
  const accuracy = settings.config.rollout.latency_sketch_accuracy;
  const sketches = { canary: new QuantileSketch(accuracy), control: new QuantileSketch(accuracy) };
  const sliceOf = (policy: string | undefined): Slice | undefined => {
    const t = parseServedTag(policy);
    if (t === undefined) return undefined;
    if (t.slice === 'canary' && t.version === candidate) return 'canary';
    if (t.slice === 'control') return 'control';
    return undefined;
  };
  const units = { canary: new Set<string>(), control: new Set<string>() };
  let allKeyed = true;
  for await (const d of store.decisions({ from: since })) {
    const s = sliceOf(d.event.policy);
    if (s === undefined) continue;
    const a = acc[s];
    a.decisions++;
    const tag = parseServedTag(d.event.policy)!;
    if (tag.unit === undefined) allKeyed = false;
    else units[s].add(tag.unit);
    if (tag.how === 'error') a.policyErrors++;
    else if (tag.how === 'timeout') a.policyTimeouts++;
  }
  for await (const ep of store.episodes({ from: since, now, reward: settings.reward })) {
    const s = sliceOf(ep.event.policy);
    if (s === undefined || ep.defaulted) continue;
    const a = acc[s];
    const o = ep.event.outcome ?? {};
    a.outcomes++;
    if (o.success === true) a.successes++;
    if (parseServedTag(ep.event.policy)!.how !== 'served') a.errorOutcomes++;
    a.reward.n++;
    a.reward.sum += ep.reward;
    a.reward.sumSq += ep.reward * ep.reward;
    if (o.cost_usd !== undefined) {
      a.cost.n++;
      a.cost.sum += o.cost_usd;
      a.cost.sumSq += o.cost_usd * o.cost_usd;
    }
    if (o.latency_ms !== undefined) sketches[s].add(o.latency_ms);
  }
  if (allKeyed) {
    acc.canary.units = units.canary.size;
    acc.control.units = units.control.size;
  }
  acc.canary.latency = sketches.canary.count > 0 ? sketches.canary.toJSON() : null;
  acc.control.latency = sketches.control.count > 0 ? sketches.control.toJSON() : null;
  return acc;
}
