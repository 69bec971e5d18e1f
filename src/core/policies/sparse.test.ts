import { describe, expect, it } from 'vitest';
import { PolicySettingsSchema, type PolicySettings } from '../config/policies.js';
import type { Context } from '../events.js';
import { FeatureMap, featureDefinition } from '../features/index.js';
import { contentHash } from '../hash.js';
import { Rng } from '../rng.js';
import { passesFor } from './sparse-model.js';
import { ConstantPolicy, SparsePolicy, buildArtifact, createPolicy, importanceWeights, MAX_IMPORTANCE_WEIGHT, parseArtifact, policyFromArtifact, type TrainingExample } from './index.js';

const ACTIONS = ['alarm', 'music', 'weather', 'news'];
const PHRASES: Record<string, string[]> = {
  alarm: ['väck mig klockan sju', 'sätt ett alarm', 'wake me up at six', 'stäng av alarmet'],
  music: ['spela lite jazz', 'play some music', 'nästa låt tack', 'höj volymen på musiken'],
  weather: ['blir det regn i morgon', 'what is the weather', 'hur varmt är det ute', 'väder i göteborg'],
  news: ['senaste nyheterna', 'read me the news', 'vad hände i världen idag', 'nyheter om sport'],
};

/** Intent routing from text alone: the right action pays 1, others 0; logged uniformly. */
function textWorld(seed: number, n: number): (TrainingExample & { label: string })[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => {
    const label = ACTIONS[rng.int(ACTIONS.length)]!;
    const phrases = PHRASES[label]!;
    const text = `${phrases[rng.int(phrases.length)]!} ${rng.next() < 0.5 ? 'tack' : 'please'}`;
    const action = ACTIONS[rng.int(ACTIONS.length)]!;
    return { context: { text }, action, reward: action === label ? 1 : 0, propensity: 1 / ACTIONS.length, label };
  });
}

function settings(over: Partial<PolicySettings> = {}): PolicySettings {
  return PolicySettingsSchema.parse({ algorithm: 'sparse', epsilon: 0, ...over });
}

const def = featureDefinition({ bits: 16 });

function trained(over: Partial<PolicySettings> = {}, n = 2000, seed = 1): SparsePolicy {
  const data = textWorld(seed, n);
  const fm = FeatureMap.fit(def, data.map((e) => e.context));
  const p = new SparsePolicy('route', settings(over), fm);
  p.fit(data, 42);
  return p;
}

function meta(): Parameters<typeof buildArtifact>[1] {
  return { rewardHash: 'r1', configHash: 'c1', window: { first: null, last: null, n: 0 }, trainingSeed: 42, metrics: {}, createdWith: 'test' };
}

function accuracy(p: { probs(c: Context, a: readonly string[]): number[] }, data: readonly { context: Context; label: string }[]): number {
  return data.reduce((s, e) => s + p.probs(e.context, ACTIONS)[ACTIONS.indexOf(e.label)]!, 0) / data.length;
}

describe('sparse learner', () => {
  it('learns to route by text from bandit feedback alone, well above the best constant action', () => {
    const p = trained();
    const test = textWorld(99, 400);
    expect(accuracy(p, test)).toBeGreaterThan(0.95);
    const fm = FeatureMap.fit(def, []);
    const constant = createPolicy('route', PolicySettingsSchema.parse({ algorithm: 'constant', epsilon: 0 }), fm);
    constant.fit(textWorld(1, 2000));
    expect(accuracy(constant, test)).toBeLessThan(0.4);
  });

  it('is byte-reproducible: the same data and seed give the same artifact; another seed another', () => {
    const a = buildArtifact(trained(), meta());
    const b = buildArtifact(trained(), meta());
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const data = textWorld(1, 2000);
    const other = new SparsePolicy('route', settings(), FeatureMap.fit(def, data.map((e) => e.context)));
    other.fit(data, 43);
    expect(contentHash(buildArtifact(other, meta()))).not.toBe(contentHash(a));
  });

  it('caps its passes by max_updates (never below one) and trains from prepared rows exactly as from contexts', () => {
    expect(passesFor(1000, { passes: 10 })).toBe(10);
    expect(passesFor(1000, { passes: 10, maxUpdates: 3500 })).toBe(3);
    expect(passesFor(1000, { passes: 10, maxUpdates: 10 })).toBe(1);
    const data = textWorld(1, 2000);
    const fm = FeatureMap.fit(def, data.map((e) => e.context));
    const capped = new SparsePolicy('route', { ...settings(), max_updates: 2000 }, fm);
    capped.fit(data);
    const full = new SparsePolicy('route', settings(), fm);
    full.fit(data);
    expect(contentHash(buildArtifact(capped, meta()))).not.toBe(contentHash(buildArtifact(full, meta())));
    const fromRows = new SparsePolicy('route', settings(), fm);
    fromRows.fitRows(fm.featurizeSparseRows(data.map((e) => e.context), data.length), data);
    expect(JSON.stringify(buildArtifact(fromRows, meta()))).toBe(JSON.stringify(buildArtifact(full, meta())));
    expect(() => fromRows.fitRows(fm.featurizeSparseRows([], 0), data)).toThrow(RangeError);
  });

  it('loads to bit-identical probabilities and estimates, after an online step too', () => {
    const p = trained({ epsilon: 0.1, conservative: { enabled: false, margin: 0.02, z: 1, compare: 'upper', explore: 0.02 } });
    p.update({ text: 'spela jazz' }, 'music', 1);
    const art = buildArtifact(p, meta());
    const q = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify(art))));
    expect(q).toBeInstanceOf(SparsePolicy);
    for (const e of textWorld(5, 50)) {
      expect(q.probs(e.context, ACTIONS, 'news')).toEqual(p.probs(e.context, ACTIONS, 'news'));
      expect(q.estimates(e.context, ACTIONS)).toEqual(p.estimates(e.context, ACTIONS));
    }
    expect(q.n).toBe(p.n);
    expect(JSON.stringify(buildArtifact(q, meta()))).toBe(JSON.stringify(art));
  });

  it('refuses a damaged weight table as an invalid artifact', () => {
    const art = buildArtifact(trained({}, 300), meta()) as { params: { table: { count: number; index: string } } };
    const short = JSON.parse(JSON.stringify(art)) as typeof art;
    short.params.table.count += 1;
    expect(() => policyFromArtifact(parseArtifact(short))).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_INVALID' }) as Error);
    const garbage = JSON.parse(JSON.stringify(art)) as typeof art;
    garbage.params.table.index = 'not base64!';
    expect(() => parseArtifact(garbage)).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_INVALID' }) as Error);
  });

  it('gives unknown actions only the exploration share, and the prior as their estimate', () => {
    const p = trained({ epsilon: 0.2 });
    const actions = [...ACTIONS, 'calendar'];
    const probs = p.probs({ text: 'spela musik' }, actions);
    expect(probs[4]).toBeCloseTo(0.2 / 5, 12);
    const est = p.estimates({ text: 'spela musik' }, actions);
    expect(est.known).toEqual([true, true, true, true, false]);
    expect(est.mean[4]).toBeCloseTo(p.priorMean, 12);
  });

  it('narrows its width where it has data, so conservative mode leaves the baseline only on evidence', () => {
    const small = trained({}, 60, 3);
    const big = trained({}, 4000, 3);
    const ctx = { text: 'spela lite jazz tack' };
    const wSmall = small.estimates(ctx, ACTIONS).width[1]!;
    const wBig = big.estimates(ctx, ACTIONS).width[1]!;
    expect(wBig).toBeLessThan(wSmall);
    const cons = { epsilon: 0, conservative: { enabled: true, margin: 0.02, z: 2, compare: 'upper' as const, explore: 0 } };
    const unsure = trained(cons, 8, 3);
    expect(unsure.probs(ctx, ACTIONS, 'news')[3]).toBe(1);
    const sure = trained(cons, 4000, 3);
    expect(sure.probs(ctx, ACTIONS, 'news')[1]).toBe(1);
  });

  it('weights examples by normalised inverse propensity when asked (capped, unknown ones at the mean)', () => {
    const w = importanceWeights([0.5, 0.25, undefined, 0.5]);
    expect(w[0]! / w[1]!).toBeCloseTo(0.5, 12);
    expect(w[2]).toBeCloseTo(1, 12);
    expect((w[0]! + w[1]! + w[3]!) / 3).toBeCloseTo(1, 12);
    const rare = importanceWeights([...new Array<number>(50).fill(0.5), 0.0001]);
    expect(rare[50]).toBe(MAX_IMPORTANCE_WEIGHT);
    const ips = trained({ weighting: 'ips' });
    expect(accuracy(ips, textWorld(99, 400))).toBeGreaterThan(0.95);
  });

  it('an online step moves the estimate toward the reward', () => {
    const p = trained({}, 200);
    const ctx = { text: 'något helt nytt' };
    const before = p.estimates(ctx, ACTIONS).mean[0]!;
    for (let i = 0; i < 20; i++) p.update(ctx, 'alarm', 1);
    expect(p.estimates(ctx, ACTIONS).mean[0]!).toBeGreaterThan(before + 0.1);
  });
});

describe('constant policy', () => {
  it('values each action by its self-normalised importance-weighted mean, unbiased under a context-dependent logger', () => {
    // The logger sends hard requests (reward 0.2 for every action) mostly to "deep", easy ones (0.9) mostly to "micro".
    const rng = new Rng(4);
    const ex: TrainingExample[] = [];
    for (let i = 0; i < 20_000; i++) {
      const hard = rng.next() < 0.5;
      const pDeep = hard ? 0.9 : 0.1;
      const deep = rng.next() < pDeep;
      ex.push({ context: {}, action: deep ? 'deep' : 'micro', reward: hard ? 0.2 : 0.9, propensity: deep ? pDeep : 1 - pDeep });
    }
    const p = new ConstantPolicy('route', PolicySettingsSchema.parse({ algorithm: 'constant', epsilon: 0 }), FeatureMap.fit(def, []));
    p.fit(ex);
    // Both are worth 0.55 "always"; the plain means would say 0.27 and 0.83.
    expect(p.value('deep')!).toBeCloseTo(0.55, 1);
    expect(p.value('micro')!).toBeCloseTo(0.55, 1);
  });

  it('serves the best action, or the rules choice when asked (falling back to the best without one)', () => {
    const fm = FeatureMap.fit(def, []);
    const ex: TrainingExample[] = [
      { context: {}, action: 'micro', reward: 0.3 },
      { context: {}, action: 'deep', reward: 0.8 },
    ];
    const best = new ConstantPolicy('route', PolicySettingsSchema.parse({ algorithm: 'constant', epsilon: 0.1 }), fm);
    best.fit(ex);
    const close = (got: number[], want: number[]): void => got.forEach((x, i) => expect(x).toBeCloseTo(want[i]!, 12));
    close(best.probs({}, ['micro', 'deep'], 'micro'), [0.05, 0.95]);
    const rules = new ConstantPolicy('route', PolicySettingsSchema.parse({ algorithm: 'constant', constant_choice: 'baseline', epsilon: 0.1 }), fm);
    rules.fit(ex);
    close(rules.probs({}, ['micro', 'deep'], 'micro'), [0.95, 0.05]);
    close(rules.probs({}, ['micro', 'deep']), [0.05, 0.95]);
    const back = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify(buildArtifact(rules, meta())))));
    expect(back.probs({}, ['micro', 'deep'], 'micro')).toEqual(rules.probs({}, ['micro', 'deep'], 'micro'));
  });
});
