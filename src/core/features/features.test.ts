import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Context, DecisionEvent } from '../events.js';
import { Rng } from '../rng.js';
import { expandText, parseTokens } from '../text.js';
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
        const both = (c: Context): unknown => [Array.from(fm.featurize(c)), fm.featurizeSparse(c).entries()];
        const before = events.map((e) => both(e.context));
        // Permute actions, rewards and outcomes across events: features must not move.
        const perm = events.map((_, i) => i).sort(() => rng.next() - 0.5);
        const shuffled = events.map((e, i) => ({ ...e, action: events[perm[i]!]!.action, reward: events[perm[i]!]!.reward, outcome: events[perm[i]!]!.outcome }));
        const after = shuffled.map((e) => both(e.context));
        expect(after).toEqual(before);
        // The action and post-decision measurements smuggled into a context are ignored.
        for (const e of events) {
          const smuggled = { ...e.context, latency_ms: 99, success: true, cost_usd: 1, cache_hit: false, tool_ok: true, action: e.action, reward: 0.3, e2e_full_ms: 1843 };
          expect(both(smuggled)).toEqual(both(e.context));
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

describe('feature map, sparse form', () => {
  const sparseDef = featureDefinition({ dim: 64, bits: 18, interactions: [['intent', 'lang']] });

  it('gives sorted distinct indices below 2^bits with a bias, the same for raw and stored text', () => {
    const fm = FeatureMap.fit(sparseDef, contexts(200));
    for (const ctx of contexts(50, 3)) {
      const v = fm.featurizeSparse(ctx).entries();
      for (let t = 1; t < v.length; t++) expect(v[t]![0]).toBeGreaterThan(v[t - 1]![0]);
      expect(v.every(([i, x]) => i >= 0 && i < 2 ** 18 && x !== 0 && Number.isFinite(x))).toBe(true);
      expect(v.some(([, x]) => x === 1)).toBe(true);
      const stored = JSON.parse(JSON.stringify(expandText(ctx, ['text']))) as Context;
      expect(fm.featurizeSparse(stored).entries()).toEqual(v);
    }
  });

  it('turns a text into one bag of its tokens and grams, of unit length, with sublinear counts', () => {
    const bare = featureDefinition({ bits: 20, exclude_keys: ['text_len', 'text_words', 'text_qmarks', 'text_digits', 'text_url'] });
    const fm = FeatureMap.fit(bare, []);
    const bias = fm.featurizeSparse({}).entries();
    expect(bias).toHaveLength(1);
    const bag = (text: string): [number, number][] => fm.featurizeSparse({ text }).entries().filter(([i]) => i !== bias[0]![0]);
    const one = bag('boka ett bord');
    expect(Math.hypot(...one.map(([, x]) => x))).toBeCloseTo(1, 12);
    const e = expandText({ text: 'boka ett bord' });
    const distinct = new Set([...parseTokens(e.text_tokens as string), ...parseTokens(e.text_grams as string)]).size;
    expect(one.length).toBeLessThanOrEqual(distinct);
    expect(one.length).toBeGreaterThan(distinct - 3);
    // A repeated word weighs 1 + ln 2 against 1, before normalisation: repetition counts, sublinearly.
    const twice = bag('bord bord');
    const once = bag('bord');
    expect(twice.length).toBeGreaterThan(once.length);
    const max = Math.max(...twice.map(([, x]) => x));
    const min = Math.min(...twice.map(([, x]) => x));
    expect(max / min).toBeCloseTo(1 + Math.log(2), 9);
    // Grams without tokens still count; tokens without grams (a text/v1 log) too.
    const tokensOnly = fm.featurizeSparse({ text_tokens: e.text_tokens! }).entries();
    const gramsOnly = fm.featurizeSparse({ text_grams: e.text_grams! }).entries();
    expect(tokensOnly.length).toBeGreaterThan(1);
    expect(gramsOnly.length).toBeGreaterThan(1);
  });

  it('names the same features as the dense form: a category, a numeric, a cyclic key and an interaction each move it', () => {
    const fm = FeatureMap.fit(sparseDef, contexts(200));
    const base = contexts(1, 11)[0]!;
    const at = (c: Context): string => JSON.stringify(fm.featurizeSparse(c).entries());
    for (const change of [{ lang: base.lang === 'sv' ? 'en' : 'sv' }, { session_depth: 99 }, { hour: ((base.hour as number) + 6) % 24 }, { intent: 'other' }]) {
      expect(at({ ...base, ...change })).not.toBe(at(base));
    }
    const plain = new FeatureMap(featureDefinition({ dim: 64, bits: 18 }), fm.stats);
    expect(at(base)).not.toBe(JSON.stringify(plain.featurizeSparse(base).entries()));
    expect(at({ ...base, unseen_numeric: 5 })).toBe(at(base));
  });

  it('gives rows equal to the vectors one by one, and the same after the artifact round trip', () => {
    const fm = FeatureMap.fit(sparseDef, contexts(200));
    const cs = contexts(30, 12);
    const rows = fm.featurizeSparseRows(cs);
    expect(rows.dim).toBe(2 ** 18);
    const j = JSON.parse(JSON.stringify(fm.toJSON())) as ReturnType<FeatureMap['toJSON']>;
    const back = new FeatureMap(j.definition, j.stats);
    cs.forEach((c, r) => {
      const want = back.featurizeSparse(c).entries();
      const got: [number, number][] = [];
      for (let t = rows.ptr[r]!; t < rows.ptr[r + 1]!; t++) got.push([rows.idx[t]!, rows.val[t]!]);
      expect(got).toEqual(want);
    });
  });
});
