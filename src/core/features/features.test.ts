import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Context, DecisionEvent } from '../events.js';
import { Rng } from '../rng.js';
import { expandText } from '../text.js';
import { FeatureMap, featureDefinition, featureHash } from './index.js';

const def = featureDefinition({ dim: 64, interactions: [['intent', 'lang']] });

function aliceContext(rng: Rng, i: number): Context {
  const intents = ['weather', 'greeting', 'search', 'calculation'];
  const texts = ['Vad blir vädret i Göteborg imorgon?', 'Hej!', 'Sök efter recept på pannkakor', 'Vad är 17 * 23?'];
  const k = rng.int(4);
  return {
    text: `${texts[k]!} ${i % 7}`,
    intent: intents[k]!,
    lang: rng.next() < 0.8 ? 'sv' : 'en',
    guardian_state: rng.next() < 0.9 ? 'NORMAL' : 'BROWNOUT',
    hour: rng.int(24),
    weekday: rng.int(7),
    session_depth: rng.int(12),
    first_turn: rng.next() < 0.3,
    missing: null,
  };
}

function contexts(n: number, seed = 1): Context[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, (_, i) => aliceContext(rng, i));
}

describe('feature map', () => {
  it('gives a dense vector of dimension d with the bias first', () => {
    const fm = FeatureMap.fit(def, contexts(200));
    const x = fm.featurize(contexts(1, 9)[0]!);
    expect(x).toBeInstanceOf(Float64Array);
    expect(x.length).toBe(64);
    expect(x[0]).toBe(1);
    expect(x.some((v, i) => i > 0 && v !== 0)).toBe(true);
  });

  it('raw text at serving equals the stored expanded text from ingestion', () => {
    const fm = FeatureMap.fit(def, contexts(200));
    for (const ctx of contexts(50, 3)) {
      const stored = JSON.parse(JSON.stringify(expandText(ctx, ['text']))) as Context;
      expect(Array.from(fm.featurize(stored))).toEqual(Array.from(fm.featurize(ctx)));
    }
  });

  it('standardises fitted numerics with frozen statistics and ignores unseen numeric keys', () => {
    const train = contexts(500);
    const fm = FeatureMap.fit(def, train);
    const keys = fm.stats.numeric.map((s) => s.key);
    expect(keys).toContain('session_depth');
    expect(keys).toContain('text_len');
    expect(fm.stats.cyclic).toEqual(['hour', 'weekday']);
    // On the training data a dedicated numeric slot has mean 0 and standard deviation 1.
    const slotOf = (key: string): number => {
      const base = { ...train[0]! };
      const a = fm.featurize({ ...base, [key]: 1 });
      const b = fm.featurize({ ...base, [key]: 2 });
      return a.findIndex((v, i) => v !== b[i]);
    };
    const slot = slotOf('session_depth');
    const xs = train.map((c) => fm.featurize(c)[slot]!);
    const mean = xs.reduce((s, v) => s + v, 0) / xs.length;
    const sd = Math.sqrt(xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (xs.length - 1));
    expect(Math.abs(mean)).toBeLessThan(1e-9);
    expect(Math.abs(sd - 1)).toBeLessThan(1e-9);
    const base = train[0]!;
    expect(Array.from(fm.featurize({ ...base, never_seen: 123.4 }))).toEqual(Array.from(fm.featurize(base)));
  });

  it('treats null and absent values alike (missing)', () => {
    const fm = FeatureMap.fit(def, contexts(100));
    const base = contexts(1, 4)[0]!;
    const { missing: _m, ...without } = base;
    expect(Array.from(fm.featurize({ ...base, lang: null }))).toEqual(Array.from(fm.featurize({ ...without, lang: null })));
    const noLang = { ...without };
    delete noLang.lang;
    expect(Array.from(fm.featurize({ ...without, lang: null }))).toEqual(Array.from(fm.featurize(noLang)));
  });

  it('writes into a provided buffer and clears it first', () => {
    const fm = FeatureMap.fit(def, contexts(100));
    const buf = new Float64Array(64).fill(7);
    const [a, b] = contexts(2, 5);
    fm.featurize(a!, buf);
    const copy = Array.from(buf);
    fm.featurize(b!, buf);
    fm.featurize(a!, buf);
    expect(Array.from(buf)).toEqual(copy);
  });

  it('the definition hash follows the definition (text version included), not the order of set-like lists', () => {
    const h = featureHash(def);
    expect(featureHash(featureDefinition({ dim: 64, interactions: [['intent', 'lang']] }))).toBe(h);
    expect(featureHash(featureDefinition({ dim: 128, interactions: [['intent', 'lang']] }))).not.toBe(h);
    expect(featureHash(featureDefinition({ dim: 64, interactions: [['intent', 'lang']], seed: 2 }))).not.toBe(h);
    const reordered = featureDefinition({ dim: 64, interactions: [['intent', 'lang']], exclude_keys: [...def.exclude_keys].reverse() });
    expect(featureHash(reordered)).toBe(h);
  });

  it('never lets the action, the outcome or post-decision measurements in (leakage)', () => {
    const fm = FeatureMap.fit(def, contexts(300));
    const actions = ['micro', 'planner', 'deep'];
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 2, max: 40 }), (seed, n) => {
        const rng = new Rng(seed);
        const events: DecisionEvent[] = contexts(n, seed).map((context, i) => ({
          v: 1,
          id: `e${i}`,
          ts: new Date(Date.UTC(2025, 0, 1, 0, i)).toISOString(),
          point: 'route',
          context,
          actions,
          action: actions[rng.int(3)]!,
          reward: rng.next(),
          outcome: { success: rng.next() < 0.8, latency_ms: rng.next() * 5000, cost_usd: rng.next() * 0.01, cache_hit: rng.next() < 0.3 },
        }));
        const before = events.map((e) => Array.from(fm.featurize(e.context)));
        // Permute actions, rewards and outcomes across events: features must not move.
        const perm = events.map((_, i) => i).sort(() => rng.next() - 0.5);
        const shuffled = events.map((e, i) => ({ ...e, action: events[perm[i]!]!.action, reward: events[perm[i]!]!.reward, outcome: events[perm[i]!]!.outcome }));
        const after = shuffled.map((e) => Array.from(fm.featurize(e.context)));
        expect(after).toEqual(before);
        // The action and post-decision measurements smuggled into a context are ignored.
        for (const e of events) {
          const smuggled = { ...e.context, latency_ms: 99, success: true, cost_usd: 1, cache_hit: false, tool_ok: true, action: e.action, reward: 0.3, e2e_full_ms: 1843 };
          expect(Array.from(fm.featurize(smuggled))).toEqual(Array.from(fm.featurize(e.context)));
        }
      }),
      { numRuns: 25, seed: 42 },
    );
  });

  it('crosses configured interaction keys', () => {
    const fm = FeatureMap.fit(def, contexts(100));
    const plain = new FeatureMap(featureDefinition({ dim: 64 }), fm.stats);
    const ctx = contexts(1, 8)[0]!;
    expect(Array.from(fm.featurize(ctx))).not.toEqual(Array.from(plain.featurize(ctx)));
  });

  it('bins configured numerics by frozen quantiles and crosses keys by their bin', () => {
    const binned = featureDefinition({ dim: 64, bins: { session_depth: 4 }, interactions: [['intent', 'session_depth']] });
    const fm = FeatureMap.fit(binned, contexts(400));
    const edges = fm.stats.bins.find((b) => b.key === 'session_depth')!.edges;
    expect(edges.length).toBeGreaterThan(1);
    expect([...edges].sort((a, b) => a - b)).toEqual(edges);
    const base = contexts(1, 10)[0]!;
    const at = (v: number): number[] => Array.from(fm.featurize({ ...base, session_depth: v }));
    // Values in the same bin differ only in the standardised slot; values in different bins differ elsewhere too.
    const diffSlots = (a: number[], b: number[]): number => a.filter((x, i) => x !== b[i]).length;
    const lo = edges[0]! - 0.5;
    expect(diffSlots(at(lo), at(lo - 0.25))).toBe(1);
    expect(diffSlots(at(lo), at(edges.at(-1)! + 1))).toBeGreaterThan(1);
    // The statistics (edges included) are part of the artifact form.
    const back = new FeatureMap(binned, JSON.parse(JSON.stringify(fm.stats)) as typeof fm.stats);
    expect(Array.from(back.featurize(base))).toEqual(Array.from(fm.featurize(base)));
  });

  it('round-trips through its artifact form', () => {
    const fm = FeatureMap.fit(def, contexts(200));
    const j = JSON.parse(JSON.stringify(fm.toJSON())) as ReturnType<FeatureMap['toJSON']>;
    const back = new FeatureMap(j.definition, j.stats);
    expect(back.hash).toBe(fm.hash);
    for (const c of contexts(20, 6)) expect(Array.from(back.featurize(c))).toEqual(Array.from(fm.featurize(c)));
  });
});
