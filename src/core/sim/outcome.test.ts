import { describe, expect, it } from 'vitest';
import { compileReward } from '../reward.js';
import { Rng } from '../rng.js';
import { createRun } from './engine.js';
import { branches, erfc, expectedClipped, expectedReward, normCdf, normInv, sampleOutcome, type Choices } from './outcome.js';
import { type SimRequest } from './world.js';
import { ROUTES, TOOLS_BY_INTENT } from './vocabulary.js';

const rf = compileReward();
const END_US = Date.UTC(2025, 8, 4, 12) * 1000;

/** Numerical E[clip(C − P(X), 0, 1)] on a fine grid (the oracle for the closed form). */
function quadrature(C: number, mu: number, sigma: number): number {
  let acc = 0;
  let wsum = 0;
  for (let z = -9; z <= 9; z += 0.0005) {
    const w = Math.exp(-0.5 * z * z);
    const L = Math.exp(mu + sigma * z);
    let r = C;
    if (L > rf.penalties.latency_slo_ms) {
      r -= rf.penalties.latency_max_penalty * Math.min(1, Math.log(L / rf.penalties.latency_slo_ms) / Math.log(rf.penalties.latency_saturation_factor));
    }
    acc += w * Math.min(1, Math.max(0, r));
    wsum += w;
  }
  return acc / wsum;
}

describe('normal helpers', () => {
  it('match known values', () => {
    expect(normCdf(0)).toBeCloseTo(0.5, 7);
    expect(normCdf(1.959963985)).toBeCloseTo(0.975, 6);
    expect(normCdf(-3)).toBeCloseTo(0.0013498980316, 7);
    expect(erfc(0.5)).toBeCloseTo(0.4795001222, 6);
    for (const p of [1e-6, 0.001, 0.02, 0.3, 0.5, 0.77, 0.975, 0.999999]) expect(normCdf(normInv(p))).toBeCloseTo(p, 6);
  });
});

describe('exact expected reward', () => {
  it('closed form equals numerical integration for clipped, penalised log-normal latencies', () => {
    const rng = new Rng(5);
    for (let i = 0; i < 60; i++) {
      const C = -0.4 + 1.7 * rng.next();
      const mu = Math.log(50 + 20000 * rng.next());
      const sigma = 0.05 + 1.2 * rng.next();
      expect(expectedClipped(C, mu, sigma, rf), `C=${C} mu=${mu} sigma=${sigma}`).toBeCloseTo(quadrature(C, mu, sigma), 5);
    }
  });

  it('branch probabilities sum to one for every choice', () => {
    const run = createRun({ seed: 3, episodes: 2000, endUs: END_US });
    for (const ep of run.episodes()) {
      for (const c of allChoices(ep.request)) {
        const total = branches(ep.request, c).reduce((a, b) => a + b.p, 0);
        expect(total).toBeCloseTo(1, 12);
      }
    }
  });

  it('equals the Monte Carlo mean of the sampled reward (seed 9)', () => {
    // Redraw the outcome of fixed requests many times: the mean realised reward must match.
    const run = createRun({ seed: 9, episodes: 40, endUs: END_US });
    const rng = new Rng(9, 7);
    for (const ep of run.episodes()) {
      for (const c of allChoices(ep.request)) {
        const bs = branches(ep.request, c);
        const exact = expectedReward(bs, rf);
        const n = 4000;
        let sum = 0;
        let sq = 0;
        for (let i = 0; i < n; i++) {
          const req: SimRequest = { ...ep.request, hidden: { ...ep.request.hidden, u: [rng.next(), rng.next(), rng.next(), rng.next()] } };
          const r = rf.compute(sampleOutcome(req, bs).signals);
          sum += r;
          sq += r * r;
        }
        const mean = sum / n;
        const se = Math.sqrt(Math.max(1e-12, sq / n - mean * mean) / n);
        expect(Math.abs(mean - exact), `seed 9, ${ep.request.id} ${JSON.stringify(c)}: mc ${mean} vs exact ${exact}`).toBeLessThan(5 * se + 2e-4);
      }
    }
  });
});

function allChoices(req: SimRequest): Choices[] {
  const out: Choices[] = [{ route: 'micro', cache: 'use', tool: undefined }];
  const tools = TOOLS_BY_INTENT[req.hidden.intent];
  for (const route of ROUTES) {
    if (route === 'micro' || tools.length === 0 || req.hidden.blocked) out.push({ route, cache: 'bypass', tool: undefined });
    else for (const tool of tools) out.push({ route, cache: 'bypass', tool });
  }
  return out;
}
