import { describe, expect, it } from 'vitest';
import { OpeAccumulator, evaluateOffPolicy } from './estimators.js';
import type { LoggedSample } from './types.js';

/**
 * Four events, two actions, every number below worked out by hand:
 *   w = π(a)/μ(a) = 1.6, 2/3, 0.25, 2;  w·r = 1.6, 0, 0.125, 2
 *   DM per event Σπq̂ = 0.56, 0.35, 0.78, 0.70
 *   DR per event DM + w(r − q̂(a)) = 1.2, 0.21667, 0.83, 1.3
 */
const LOG: LoggedSample[] = [
  { action: 0, reward: 1, loggingProb: 0.5, loggingProbs: [0.5, 0.5], targetProbs: [0.8, 0.2], predicted: [0.6, 0.4] },
  { action: 1, reward: 0, loggingProb: 0.75, loggingProbs: [0.25, 0.75], targetProbs: [0.5, 0.5], predicted: [0.5, 0.2] },
  { action: 0, reward: 0.5, loggingProb: 0.8, loggingProbs: [0.8, 0.2], targetProbs: [0.2, 0.8], predicted: [0.3, 0.9] },
  { action: 1, reward: 1, loggingProb: 0.5, loggingProbs: [0.5, 0.5], targetProbs: [0, 1], predicted: [0.1, 0.7], defaulted: true },
];

describe('estimators on a hand-computed log', () => {
  const rep = evaluateOffPolicy(LOG, { clip: 1.5, switchTau: 1.8 });
  const v = (k: keyof typeof rep.estimates): number | null => rep.estimates[k]?.value ?? null;

  it('IPS = Σ w r / n = 3.725 / 4', () => expect(v('ips')).toBeCloseTo(0.93125, 10));
  it('clipped IPS caps weights at 1.5: (1.5 + 0 + 0.125 + 1.5) / 4', () => {
    expect(v('clipped_ips')).toBeCloseTo(0.78125, 10);
    expect(rep.diagnostics.clippedEvents).toBe(2);
  });
  it('SNIPS = Σ w r / Σ w = 3.725 / 4.516667', () => expect(v('snips')).toBeCloseTo(3.725 / (1.6 + 2 / 3 + 0.25 + 2), 10));
  it('DM = mean Σ π q̂ = 2.39 / 4, labelled model-based', () => {
    expect(v('dm')).toBeCloseTo(0.5975, 10);
    expect(rep.estimates.dm?.label).toBe('model-based');
  });
  it('DR = mean(DM + w (r − q̂(a))) = 3.546667 / 4', () => expect(v('dr')).toBeCloseTo(3.5466667 / 4, 6));
  it('Switch-DR drops the correction where w > τ = 1.8 (event 4)', () => {
    expect(v('switch_dr')).toBeCloseTo((1.2 + 0.2166667 + 0.83 + 0.7) / 4, 6);
    expect(rep.diagnostics.switchedEvents).toBe(1);
  });
  it('logging value = mean reward = 0.625', () => expect(rep.logging.value).toBeCloseTo(0.625, 12));

  it('IPS variance and standard error from the contributions', () => {
    // contributions 1.6, 0, 0.125, 2; mean 0.93125; Σ(x − m)² = 3.10671875 (hand), /3 = 1.035573
    const e = rep.estimates.ips!;
    expect(e.sampleVariance).toBeCloseTo(3.10671875 / 3, 6);
    expect(e.variance).toBeCloseTo(3.10671875 / 12, 6);
    expect(e.stderr).toBeCloseTo(Math.sqrt(3.10671875 / 12), 6);
    expect(e.range).toEqual([0, 2]);
    // the normal interval 0.93125 ± 1.959964·0.508818 = [−0.0660, 1.9285] is clipped to the reward range
    expect(e.intervals.normal).toEqual([0, 1]);
  });

  it('logging value normal interval: 0.625 ± 1.959964 · √(0.229167/4)', () => {
    const ci = rep.logging.intervals.normal!;
    expect(ci[0]).toBeCloseTo(0.625 - 1.959964 * Math.sqrt(0.6875 / 3 / 4), 5);
    expect(ci[1]).toBe(1);
  });

  it('SNIPS delta-method variance: Σ(w r − V w)² / (n − 1) / w̄² / n', () => {
    // residuals w r − V w = 0.280443, −0.549815, −0.081181, 0.350554 (V = 0.824723); Σ² = 0.510423
    const e = rep.estimates.snips!;
    expect(e.sampleVariance).toBeCloseTo(0.510423 / 3 / 1.129167 ** 2, 4);
    expect(e.stderr).toBeCloseTo(0.182649, 4);
  });

  it('diagnostics: ESS, weights, agreement, support, defaulted', () => {
    const d = rep.diagnostics;
    expect(d.ess).toBeCloseTo(4.5166667 ** 2 / (2.56 + 4 / 9 + 0.0625 + 4), 5);
    expect(d.maxWeight).toBe(2);
    expect(d.minWeight).toBe(0.25);
    expect(d.meanWeight).toBeCloseTo(4.5166667 / 4, 6);
    // argmax π = logged action on events 1, 2 (a tie counts) and 4
    expect(d.agreementRate).toBe(0.75);
    expect(d.expectedAgreement).toBeCloseTo((0.8 + 0.5 + 0.2 + 1) / 4, 12);
    expect(d.supportDeficit).toBe(0);
    expect(d.supportDeficitMethod).toBe('exact');
    expect(d.defaultedRewards).toBe(1);
    expect(d.flags).toContain('defaulted_rewards');
    expect(d.flags).toContain('low_ess');
    expect(rep.identification.status).toBe('identified');
    expect(rep.identification.agreementSlice).toMatchObject({ n: 3, share: 0.75, value: 2 / 3 });
  });

  it('bootstrap on four events: reproducible, and inside the range of the contributions', () => {
    const a = evaluateOffPolicy(LOG, { clip: 1.5, switchTau: 1.8, bootstrap: 300, seed: 42 });
    const b = evaluateOffPolicy(LOG, { clip: 1.5, switchTau: 1.8, bootstrap: 300, seed: 42 });
    expect(a.estimates.dm?.intervals.bootstrap).toEqual(b.estimates.dm?.intervals.bootstrap);
    // any resampled mean of DM contributions 0.56, 0.35, 0.78, 0.70 lies in [0.35, 0.78]
    const [lo, hi] = a.estimates.dm!.intervals.bootstrap!;
    expect(lo).toBeGreaterThanOrEqual(0.35);
    expect(hi).toBeLessThanOrEqual(0.78);
    expect(lo).toBeLessThan(hi);
    // SNIPS resamples are ratios of resampled sums: between the smallest and largest reward
    const [sl, sh] = a.estimates.snips!.intervals.bootstrap!;
    expect(sl).toBeGreaterThanOrEqual(0);
    expect(sh).toBeLessThanOrEqual(1);
    // a log of identical events has a zero-width bootstrap interval at its value
    const same = evaluateOffPolicy([LOG[0]!, LOG[0]!, LOG[0]!], { bootstrap: 100, seed: 1 });
    expect(same.estimates.dr?.intervals.bootstrap).toEqual([1, 1]); // DR 1.2 clipped to the reward range
    expect(same.logging.intervals.bootstrap).toEqual([1, 1]);
    expect(same.estimates.dm?.intervals.bootstrap?.[0]).toBeCloseTo(0.56, 12);
    expect(same.estimates.dm?.intervals.bootstrap?.[1]).toBeCloseTo(0.56, 12);
  });

  it('streaming equals batch, whatever the order', () => {
    const acc = new OpeAccumulator({ clip: 1.5, switchTau: 1.8 });
    for (const s of [...LOG].reverse()) acc.add(s);
    const r2 = acc.report();
    expect(r2.estimates.ips?.value).toBeCloseTo(v('ips')!, 12);
    expect(r2.estimates.snips?.value).toBeCloseTo(v('snips')!, 12);
    expect(r2.estimates.dr?.value).toBeCloseTo(v('dr')!, 12);
    expect(r2.estimates.ips?.sampleVariance).toBeCloseTo(rep.estimates.ips!.sampleVariance!, 10);
  });
});

describe('support and missing propensities', () => {
  it('counts target mass on actions the logger gave probability 0', () => {
    const rep = evaluateOffPolicy([
      { action: 0, reward: 1, loggingProb: 1, loggingProbs: [1, 0, 0], targetProbs: [0.5, 0.3, 0.2] },
      { action: 1, reward: 0, loggingProb: 0.5, loggingProbs: [0, 0.5, 0.5], targetProbs: [0.4, 0.6, 0] },
    ]);
    expect(rep.diagnostics.supportDeficit).toBeCloseTo((0.5 + 0.4) / 2, 12);
    expect(rep.diagnostics.flags).toContain('support_deficit');
    expect(rep.estimates.ips?.value).toBeCloseTo((0.5 * 1 + 1.2 * 0) / 2, 12);
  });

  it('estimates the deficit as 1 − mean weight when only the logged propensity is known', () => {
    const rep = evaluateOffPolicy([
      { action: 0, reward: 1, loggingProb: 0.5, targetProbs: [0.25, 0.75] }, // w = 0.5
      { action: 1, reward: 0, loggingProb: 0.5, targetProbs: [0.25, 0.75] }, // w = 1.5
      { action: 0, reward: 0, loggingProb: 0.5, targetProbs: [0.1, 0.9] }, // w = 0.2
    ]);
    expect(rep.diagnostics.supportDeficitMethod).toBe('estimated');
    expect(rep.diagnostics.supportDeficit).toBeCloseTo(1 - 2.2 / 3, 12);
  });

  it('a missing propensity in a stochastic log is flagged and counted, never silent', () => {
    const rep = evaluateOffPolicy([
      { action: 0, reward: 1, loggingProb: 0.5, loggingProbs: [0.5, 0.5], targetProbs: [0.5, 0.5] },
      { action: 1, reward: 1, loggingProb: undefined, targetProbs: [0.3, 0.7] },
    ]);
    expect(rep.diagnostics.missingPropensities).toBe(1);
    expect(rep.diagnostics.flags).toContain('propensity_missing');
    // the event without a propensity leaves 0.3 of the target's mass unsupported
    expect(rep.diagnostics.supportDeficit).toBeCloseTo(0.15, 12);
    expect(rep.warnings.join(' ')).toMatch(/no propensity/);
  });

  it('rejects bad samples with a reason instead of throwing', () => {
    const acc = new OpeAccumulator();
    expect(acc.add({ action: 3, reward: 1, loggingProb: 0.5, targetProbs: [0.5, 0.5] })).toBe(false);
    expect(acc.add({ action: 0, reward: 2, loggingProb: 0.5, targetProbs: [0.5, 0.5] })).toBe(false);
    expect(acc.add({ action: 0, reward: 1, loggingProb: 0.5, targetProbs: [0.5, 0.6] })).toBe(false);
    expect(acc.add({ action: 0, reward: 1, loggingProb: 0, targetProbs: [0.5, 0.5] })).toBe(false);
    expect(acc.add({ action: 0, reward: Number.NaN, loggingProb: 0.5, targetProbs: [1, 0] })).toBe(false);
    const rep = acc.report();
    expect(rep.n).toBe(0);
    expect(rep.invalid).toEqual({ action_out_of_range: 1, reward_out_of_range: 2, target_probs_not_normalised: 1, logging_prob_invalid: 1 });
    expect(rep.estimates.ips?.value).toBeNull();
    expect(rep.logging.value).toBeNull();
  });

  it('DM and DR are null with a reason when predictions are missing', () => {
    const rep = evaluateOffPolicy([{ action: 0, reward: 1, loggingProb: 0.5, targetProbs: [1, 0] }]);
    expect(rep.estimates.dm?.value).toBeNull();
    expect(rep.estimates.dr?.reason).toMatch(/no reward-model predictions/);
    expect(rep.estimates.ips?.value).toBe(2);
  });
});

describe('deterministic logger', () => {
  // π(a_i) = 1, 0, 0.5; rewards 1, 1, 0.2. Worst-case bounds: mean(π r) = (1 + 0 + 0.1)/3,
  // mean(π r + 1 − π) = (1 + 1 + 0.6)/3. Agreement slice: events 1 and 3 (tie), rewards 1 and 0.2.
  const events = (p: number | undefined): LoggedSample[] => [
    { action: 0, reward: 1, loggingProb: p, targetProbs: [1, 0, 0] },
    { action: 1, reward: 1, loggingProb: p, targetProbs: [0, 0, 1] },
    { action: 2, reward: 0.2, loggingProb: p, targetProbs: [0.5, 0, 0.5] },
  ];

  for (const p of [undefined, 1]) {
    it(`refuses to invent IPS, SNIPS or DR (propensity ${p === undefined ? 'missing' : '1'})`, () => {
      const rep = evaluateOffPolicy(events(p).map((s) => ({ ...s, predicted: [0.5, 0.5, 0.5] })));
      for (const k of ['ips', 'clipped_ips', 'snips', 'dr', 'switch_dr'] as const) {
        expect(rep.estimates[k]?.value, k).toBeNull();
        expect(rep.estimates[k]?.ci, k).toBeNull();
        expect(rep.estimates[k]?.reason, k).toMatch(/unidentified.*deterministic/);
      }
      expect(rep.estimates.dm?.value).toBeCloseTo(0.5, 12);
      expect(rep.estimates.dm?.label).toBe('model-based');
      expect(rep.identification.status).toBe('unidentified');
      expect(rep.identification.deterministicLogger).toBe(true);
      expect(rep.identification.fix).toMatch(/exploration floor/);
      expect(rep.identification.bounds?.lo).toBeCloseTo(1.1 / 3, 12);
      expect(rep.identification.bounds?.hi).toBeCloseTo(2.6 / 3, 12);
      expect(rep.identification.agreementSlice).toMatchObject({ n: 2, value: 0.6 });
      expect(rep.diagnostics.flags).toEqual(expect.arrayContaining(['deterministic_logger', 'unidentified']));
      expect(rep.diagnostics.supportDeficit).toBeCloseTo(0.5, 12);
      expect(rep.logging.value).toBeCloseTo(2.2 / 3, 12);
    });
  }

  it('is identified when the target always takes the logged action', () => {
    const rep = evaluateOffPolicy([
      { action: 0, reward: 1, loggingProb: 1, targetProbs: [1, 0] },
      { action: 1, reward: 0, loggingProb: 1, targetProbs: [0, 1] },
    ]);
    expect(rep.identification.status).toBe('identified');
    expect(rep.estimates.ips?.value).toBe(0.5);
    expect(rep.estimates.snips?.value).toBe(0.5);
  });
});

describe('heavy tails', () => {
  it('flags a log where one event can move IPS by more than the interval half-width', () => {
    // 999 events with weight ≈ 1 and reward 0, one event with weight 500 and reward 0
    const log: LoggedSample[] = [];
    for (let i = 0; i < 999; i++) log.push({ action: 0, reward: 0, loggingProb: 0.5, targetProbs: [0.5, 0.5] });
    log.push({ action: 1, reward: 0, loggingProb: 0.001, targetProbs: [0.5, 0.5] });
    const rep = evaluateOffPolicy(log);
    expect(rep.diagnostics.maxWeight).toBe(500);
    expect(rep.diagnostics.maxInfluence).toBeCloseTo(0.5, 12);
    expect(rep.diagnostics.flags).toContain('heavy_tail');
    expect(rep.warnings.join(' ')).toMatch(/Heavy-tailed/);
    // the Bernstein interval stays honest about the range: it is wide
    const b = rep.estimates.ips!.intervals.bernstein!;
    expect(b[1] - b[0]).toBeGreaterThan(0.5);
  });

  it('does not flag bounded, well-spread weights', () => {
    const log: LoggedSample[] = [];
    for (let i = 0; i < 2000; i++) {
      const a = i % 4;
      log.push({ action: a, reward: (i * 7919) % 3 === 0 ? 1 : 0, loggingProb: 0.25, loggingProbs: [0.25, 0.25, 0.25, 0.25], targetProbs: [0.4, 0.3, 0.2, 0.1] });
    }
    const rep = evaluateOffPolicy(log);
    expect(rep.diagnostics.flags).not.toContain('heavy_tail');
    expect(rep.diagnostics.flags).not.toContain('low_ess');
  });
});

describe('bootstrap through the accumulator', () => {
  const log: LoggedSample[] = [];
  for (let i = 0; i < 3000; i++) {
    const a = i % 3;
    const r = ((i * 2654435761) >>> 0) % 10 < 3 + a ? 1 : 0;
    log.push({ action: a, reward: r, loggingProb: 1 / 3, targetProbs: [0.2, 0.3, 0.5], predicted: [0.3, 0.4, 0.5] });
  }

  it('is reproducible with a seed and changes with it', () => {
    const a = evaluateOffPolicy(log, { bootstrap: 200, seed: 7 });
    const b = evaluateOffPolicy(log, { bootstrap: 200, seed: 7 });
    const c = evaluateOffPolicy(log, { bootstrap: 200, seed: 8 });
    expect(a.estimates.ips?.intervals.bootstrap).toEqual(b.estimates.ips?.intervals.bootstrap);
    expect(a.estimates.snips?.intervals.bootstrap).toEqual(b.estimates.snips?.intervals.bootstrap);
    expect(a.estimates.ips?.intervals.bootstrap).not.toEqual(c.estimates.ips?.intervals.bootstrap);
    expect(a.estimates.ips?.interval).toBe('bootstrap');
    expect(a.estimates.ips?.ci).toEqual(a.estimates.ips?.intervals.bootstrap);
  });

  it('agrees with the normal interval on a well-behaved log (seed 7)', () => {
    const rep = evaluateOffPolicy(log, { bootstrap: 400, seed: 7 });
    for (const k of ['ips', 'snips', 'dr', 'clipped_ips', 'switch_dr', 'dm'] as const) {
      const e = rep.estimates[k]!;
      const [nl, nh] = e.intervals.normal!;
      const [bl, bh] = e.intervals.bootstrap!;
      const w = nh - nl;
      expect(Math.abs(bl - nl), `${k} lower`).toBeLessThanOrEqual(0.15 * w + 1e-12);
      expect(Math.abs(bh - nh), `${k} upper`).toBeLessThanOrEqual(0.15 * w + 1e-12);
    }
    const [ll, lh] = rep.logging.intervals.bootstrap!;
    expect(ll).toBeLessThan(rep.logging.value!);
    expect(lh).toBeGreaterThan(rep.logging.value!);
  });
});
