import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PoliciesConfigSchema, PolicySettingsSchema, policySettingsFor, type PolicySettings } from '../config/policies.js';
import { isUmbraError } from '../errors.js';
import type { Context } from '../events.js';
import { FeatureMap, featureDefinition } from '../features/index.js';
import { Rng } from '../rng.js';
import {
  BetaTsPolicy,
  LinearPolicy,
  buildArtifact,
  checkCompatibility,
  createPolicy,
  parseArtifact,
  policyFromArtifact,
  probMaxBeta,
  probMaxNormal,
  type Policy,
  type TrainingExample,
} from './index.js';
import { chiSquareSf } from '../stats/gamma.js';
import { normalCdf } from '../stats/normal.js';

const ACTIONS = ['micro', 'planner', 'deep'];
const def = featureDefinition({ dim: 32 });

function settings(over: Partial<PolicySettings> = {}): PolicySettings {
  return PolicySettingsSchema.parse(over);
}

/** A small world: the best route depends on the intent and the text length. */
function world(seed: number, n: number): TrainingExample[] {
  const rng = new Rng(seed);
  const intents = ['greeting', 'weather', 'complex_query'];
  const out: TrainingExample[] = [];
  for (let i = 0; i < n; i++) {
    const k = rng.int(3);
    const context: Context = { intent: intents[k]!, lang: rng.next() < 0.8 ? 'sv' : 'en', text: k === 2 ? 'Förklara varför himlen är blå och jämför med solnedgången' : 'Hej, vad är klockan?', hour: rng.int(24) };
    const action = ACTIONS[rng.int(3)]!;
    const best = ACTIONS[k]!;
    const p = action === best ? 0.85 : 0.45;
    out.push({ context, action, reward: rng.next() < p ? 1 : 0.2 * rng.next() });
  }
  return out;
}

function fitted(kind: PolicySettings['algorithm'], n = 600, over: Partial<PolicySettings> = {}): Policy {
  const data = world(3, n);
  const fm = FeatureMap.fit(def, data.map((e) => e.context));
  const p = createPolicy('route', settings({ algorithm: kind, ...over }), fm);
  p.fit(data);
  return p;
}

/** Normwise relative difference max|a − b| / max|b| (for matrices and coefficient vectors). */
function normDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / Math.max(scale, 1e-300);
}

/** Elementwise relative difference. */
function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1e-12, Math.abs(b[i]!)));
  return worst;
}

describe('policies: exact distributions', () => {
  it('probabilities are a distribution for every kind, setting and action list (property)', () => {
    const trained = { linucb: fitted('linucb'), lints: fitted('lints'), beta_ts: fitted('beta_ts', 600, { group_by: 'intent' }), sparse: fitted('sparse'), constant: fitted('constant') };
    const ctxs = world(9, 30).map((e) => e.context);
    fc.assert(
      fc.property(
        fc.constantFrom('linucb', 'lints', 'beta_ts', 'sparse', 'constant'),
        fc.subarray([...ACTIONS, 'new_action'], { minLength: 1 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.double({ min: 0, max: 0.2, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        (kind, actions, epsilon, floor, softmax, conservative) => {
          const base = trained[kind];
          const s = settings({ ...base.settings, epsilon, floor, exploration: softmax ? 'softmax' : 'epsilon_greedy', conservative: { ...base.settings.conservative, enabled: conservative } });
          const p = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify({ ...buildArtifact(base, meta()), settings: s }))));
          const probs = p.probs(ctxs[0]!, actions, actions[0]);
          expect(probs.length).toBe(actions.length);
          const sum = probs.reduce((a, b) => a + b, 0);
          expect(Math.abs(sum - 1)).toBeLessThan(1e-9);
          const minP = Math.min(...probs);
          expect(minP).toBeGreaterThanOrEqual(Math.min(floor, 1 / actions.length) - 1e-12);
        },
      ),
      { numRuns: 150, seed: 7 },
    );
  });

  it('decide draws from exactly `probs`: empirical frequencies pass a chi-square test', () => {
    for (const [kind, over] of [
      ['linucb', { epsilon: 0.3 }],
      ['linucb', { exploration: 'softmax', temperature: 0.2 }],
      ['lints', { ts_scale: 2, epsilon: 0.05 }],
      ['beta_ts', { epsilon: 0.1 }],
      ['sparse', { epsilon: 0.3 }],
      ['sparse', { exploration: 'softmax', temperature: 0.1 }],
      ['constant', { epsilon: 0.2 }],
    ] as const) {
      const p = fitted(kind, 200, over);
      const ctx = world(11, 1)[0]!.context;
      const probs = p.probs(ctx, ACTIONS, 'micro');
      const n = 20_000;
      const counts = [0, 0, 0];
      for (let i = 0; i < n; i++) {
        const d = p.decide(`id-${i}`, ctx, ACTIONS, 'micro');
        counts[d.index]!++;
        if (i < 50) expect(d.propensity).toBe(probs[d.index]);
      }
      let chi2 = 0;
      let df = -1;
      for (let i = 0; i < 3; i++) {
        const e = n * probs[i]!;
        if (e < 5) continue;
        chi2 += (counts[i]! - e) ** 2 / e;
        df++;
      }
      const pValue = df > 0 ? chiSquareSf(chi2, df) : 1;
      expect(pValue, `${kind} ${JSON.stringify(over)} probs ${probs} counts ${counts}`).toBeGreaterThan(0.001);
    }
  });

  it('replays every decision from the seed and the id', () => {
    const p = fitted('linucb', 300, { epsilon: 0.5 });
    const q = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify(buildArtifact(p, meta())))));
    const ctxs = world(12, 200).map((e) => e.context);
    const a = ctxs.map((c, i) => p.decide(`req-${i}`, c, ACTIONS).action);
    const b = ctxs.map((c, i) => q.decide(`req-${i}`, c, ACTIONS).action);
    expect(b).toEqual(a);
    expect(new Set(a).size).toBeGreaterThan(1);
    // Another decision point draws independently for the same ids.
    const other = new LinearPolicy('cache', p.settings, p.featureMap);
    expect(ctxs.map((c, i) => other.decide(`req-${i}`, c, ACTIONS).action)).not.toEqual(a);
  });

  it('Thompson-sampling probabilities equal the closed form (K = 2) and Monte Carlo (K = 3)', () => {
    const out = new Float64Array(2);
    probMaxNormal([0.3, 0.5], [0.1, 0.2], [1, 1], 2, out);
    expect(Math.abs(out[1]! - normalCdf(0.2 / Math.sqrt(0.05)))).toBeLessThan(1e-7);
    const mu = [0.5, 0.52, 0.4];
    const sd = [0.05, 0.001, 0.2];
    const out3 = new Float64Array(3);
    probMaxNormal(mu, sd, [1, 1, 1], 3, out3);
    const rng = new Rng(99);
    const n = 200_000;
    const wins = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const s = mu.map((m, j) => m + sd[j]! * rng.normal());
      wins[s.indexOf(Math.max(...s))]!++;
    }
    for (let j = 0; j < 3; j++) expect(Math.abs(out3[j]! - wins[j]! / n), `seed 99 arm ${j}`).toBeLessThan(4 * Math.sqrt(0.25 / n));
    const a = [3, 40, 1];
    const b = [5, 30, 1];
    const ob = new Float64Array(3);
    probMaxBeta(a, b, [1, 1, 1], 3, ob);
    const wb = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const s = a.map((x, j) => rng.beta(x, b[j]!));
      wb[s.indexOf(Math.max(...s))]!++;
    }
    for (let j = 0; j < 3; j++) expect(Math.abs(ob[j]! - wb[j]! / n), `seed 99 beta arm ${j}`).toBeLessThan(4 * Math.sqrt(0.25 / n));
  });

  it('learns the best action of the world', () => {
    for (const kind of ['linucb', 'lints'] as const) {
      const p = fitted(kind, 3000, { epsilon: 0, alpha: 0.1 });
      const intents = ['greeting', 'weather', 'complex_query'];
      const text = (k: number): string => (k === 2 ? 'Förklara varför himlen är blå och jämför med solnedgången' : 'Hej, vad är klockan?');
      for (let k = 0; k < 3; k++) {
        const probs = p.probs({ intent: intents[k]!, lang: 'sv', text: text(k), hour: 12 }, ACTIONS);
        expect(probs.indexOf(Math.max(...probs)), `${kind} intent ${intents[k]}`).toBe(k);
      }
    }
  });

  it('gives actions without data only the exploration share', () => {
    const p = fitted('linucb', 300, { epsilon: 0.1 });
    const probs = p.probs(world(1, 1)[0]!.context, [...ACTIONS, 'brand_new']);
    expect(probs[3]).toBeCloseTo(0.1 / 4, 12);
    const none = createPolicy('route', settings({ epsilon: 0.1 }), p.featureMap);
    expect(none.probs({}, ACTIONS, 'deep')).toEqual([0.1 / 3, 0.1 / 3, 0.9 + 0.1 / 3]);
    expect(none.probs({}, ACTIONS).every((v) => Math.abs(v - 1 / 3) < 1e-15)).toBe(true);
  });
});

describe('policies: online learning equals batch training', () => {
  for (const kind of ['linucb', 'lints', 'beta_ts'] as const) {
    it(`${kind}: one event at a time equals the batch (1e-9 relative)`, () => {
      const data = world(5, 1500);
      const fm = FeatureMap.fit(def, data.map((e) => e.context));
      const s = settings({ algorithm: kind, refactor_every: 100 });
      const online = createPolicy('route', s, fm);
      const batch = createPolicy('route', s, fm);
      for (const e of data) online.update(e.context, e.action, e.reward);
      batch.fit(data);
      if (online instanceof LinearPolicy && batch instanceof LinearPolicy) {
        for (const a of ACTIONS) {
          expect(normDiff(online.arm(a)!.coefficients(), batch.arm(a)!.coefficients()), a).toBeLessThan(1e-9);
          expect(normDiff(online.arm(a)!.Ainv, batch.arm(a)!.Ainv), a).toBeLessThan(1e-9);
        }
      }
      for (const e of world(6, 50)) {
        const m1 = online.estimates(e.context, ACTIONS).mean;
        const m2 = batch.estimates(e.context, ACTIONS).mean;
        expect(relDiff(m1, m2)).toBeLessThan(1e-9);
        expect(relDiff(online.probs(e.context, ACTIONS, 'micro'), batch.probs(e.context, ACTIONS, 'micro'))).toBeLessThan(1e-9);
      }
    });
  }
});

describe('conservative mode', () => {
  const cons = { conservative: { enabled: true, margin: 0.02, z: 1, compare: 'upper' as const, explore: 0.03 } };

  it('stays on the baseline when unsure (little data) and says so with an exact distribution', () => {
    const p = fitted('linucb', 30, cons);
    for (const e of world(13, 40)) {
      for (const base of ACTIONS) {
        const probs = p.probs(e.context, ACTIONS, base);
        const bi = ACTIONS.indexOf(base);
        expect(probs[bi]).toBeCloseTo(1 - 0.03 + 0.01, 12);
        expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      }
    }
  });

  it('leaves the baseline only when the challenger is confidently better', () => {
    const p = fitted('linucb', 6000, cons);
    // complex_query is best served by `deep`; with a `micro` baseline and ample data it switches.
    const ctx = { intent: 'complex_query', lang: 'sv', text: 'Förklara varför himlen är blå och jämför med solnedgången', hour: 10 };
    const probs = p.probs(ctx, ACTIONS, 'micro');
    expect(probs[2]).toBeCloseTo(0.98, 12);
    // With an impossible margin it never leaves the baseline.
    const strict = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify({ ...buildArtifact(p, meta()), settings: settings({ ...p.settings, conservative: { ...cons.conservative, margin: 2 } }) }))));
    expect(strict.probs(ctx, ACTIONS, 'micro')[0]).toBeCloseTo(0.98, 12);
    // Beta–Bernoulli per intent follows the same rule.
    const bt = fitted('beta_ts', 6000, { ...cons, group_by: 'intent' });
    expect(bt.probs(ctx, ACTIONS, 'micro')[2]).toBeCloseTo(0.98, 12);
    expect(fitted('beta_ts', 20, { ...cons, group_by: 'intent' }).probs(ctx, ACTIONS, 'micro')[0]).toBeCloseTo(0.98, 12);
  });
});

describe('artifacts', () => {
  it('round-trip exactly: a loaded policy gives identical probabilities', () => {
    for (const kind of ['linucb', 'lints', 'beta_ts', 'sparse', 'constant'] as const) {
      const p = fitted(kind, 800, { group_by: 'intent' });
      p.update(world(20, 1)[0]!.context, 'deep', 0.7); // an online update after the batch
      const art = buildArtifact(p, meta());
      const q = policyFromArtifact(parseArtifact(JSON.parse(JSON.stringify(art))));
      for (const e of world(21, 40)) {
        expect(q.probs(e.context, ACTIONS, 'planner')).toEqual(p.probs(e.context, ACTIONS, 'planner'));
        expect(q.estimates(e.context, ACTIONS)).toEqual(p.estimates(e.context, ACTIONS));
      }
      expect(q.n).toBe(p.n);
      expect(buildArtifact(q, meta())).toEqual(art);
    }
  });

  it('refuses a mismatch naming the hash that differs, and a malformed artifact', () => {
    const art = buildArtifact(fitted('linucb', 100), meta());
    expect(() => checkCompatibility(art, { featureHash: art.featureHash, rewardHash: 'r1' })).not.toThrow();
    try {
      checkCompatibility(art, { featureHash: 'ffff', rewardHash: 'r1' });
      expect.unreachable();
    } catch (e) {
      expect(isUmbraError(e, 'E_ARTIFACT_MISMATCH')).toBe(true);
      expect((e as Error).message).toContain('feature-map hash');
      expect((e as Error).message).not.toContain('reward hash');
    }
    expect(() => checkCompatibility(art, { rewardHash: 'other' })).toThrow(/reward hash/);
    const bad = JSON.parse(JSON.stringify(art)) as Record<string, unknown>;
    delete bad.params;
    expect(() => parseArtifact(bad)).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_INVALID' }) as Error);
    const edited = JSON.parse(JSON.stringify(art)) as { features: { definition: { dim: number } } };
    edited.features.definition.dim = 16;
    expect(() => parseArtifact(edited)).toThrow(expect.objectContaining({ code: 'E_ARTIFACT_INVALID' }) as Error);
  });
});

describe('policy settings per point', () => {
  it('merges a point override into the defaults, conservative fields included', () => {
    const cfg = PoliciesConfigSchema.parse({ default: { epsilon: 0.1, conservative: { margin: 0.05 } }, points: { cache: { alpha: 2, conservative: { enabled: true } } } });
    const c = policySettingsFor(cfg, 'cache');
    expect(c).toMatchObject({ epsilon: 0.1, alpha: 2, conservative: { enabled: true, margin: 0.05 } });
    expect(policySettingsFor(cfg, 'route')).toMatchObject({ epsilon: 0.1, alpha: 0.1 });
    expect(policySettingsFor(PoliciesConfigSchema.parse({}), 'tool').algorithm).toBe('beta_ts');
  });

  it('beta_ts answers unseen groups from the pooled table', () => {
    const p = fitted('beta_ts', 800, { group_by: 'intent', epsilon: 0 });
    expect(p).toBeInstanceOf(BetaTsPolicy);
    const pooled = p.probs({ intent: 'never_seen' }, ACTIONS);
    expect(pooled.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(p.probs({}, ACTIONS)).toEqual(pooled);
  });
});

function meta(): Parameters<typeof buildArtifact>[1] {
  return { rewardHash: 'r1', configHash: 'c1', window: { first: null, last: null, n: 0 }, trainingSeed: 1, metrics: {}, createdWith: 'test' };
}
