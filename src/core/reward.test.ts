import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileReward, REWARD_PRESETS } from './reward.js';

const signals = fc.record(
  {
    success: fc.boolean(),
    tool_ok: fc.boolean(),
    latency_ms: fc.double({ min: 0, max: 1e7, noNaN: true }),
    cost_usd: fc.double({ min: 0, max: 10, noNaN: true }),
    cache_hit: fc.boolean(),
    guard_flag: fc.boolean(),
    feedback: fc.constantFrom(-1 as const, 0 as const, 1 as const),
  },
  { requiredKeys: [] },
);

describe('reward', () => {
  it('is bounded to [0, 1] for every preset and any signals', () => {
    for (const preset of Object.keys(REWARD_PRESETS) as (keyof typeof REWARD_PRESETS)[]) {
      const r = compileReward({ preset });
      fc.assert(fc.property(signals, (s) => {
        const v = r.compute(s);
        expect(v).toBeGreaterThanOrEqual(0);
        expect(v).toBeLessThanOrEqual(1);
      }));
    }
  });
  it('computes the documented default by hand', () => {
    const r = compileReward();
    // success, right tool, no cache hit, within SLO, no cost: 0.6 + 0.25
    expect(r.compute({ success: true, tool_ok: true, cache_hit: false, latency_ms: 500 })).toBeCloseTo(0.85, 12);
    // no tool used: tool term takes the success value
    expect(r.compute({ success: true, cache_hit: true })).toBeCloseTo(1, 12);
    // latency at 4x the SLO with saturation 16x: half of the 0.2 penalty
    expect(r.compute({ success: true, latency_ms: 4000 })).toBeCloseTo(0.85 - 0.1, 12);
    // saturates far above
    expect(r.compute({ success: true, latency_ms: 1e9 })).toBeCloseTo(0.85 - 0.2, 12);
    // cost: half the cap costs half of 0.1
    expect(r.compute({ success: true, cost_usd: 0.005 })).toBeCloseTo(0.85 - 0.05, 12);
    // failure with a guard flag clips at 0
    expect(r.compute({ success: false, guard_flag: true })).toBe(0);
  });
  it('success weighs more than any other single term, and never lowers the reward', () => {
    for (const preset of Object.keys(REWARD_PRESETS) as (keyof typeof REWARD_PRESETS)[]) {
      const r = compileReward({ preset });
      const others = [r.weights.tool_ok, r.weights.cache_hit, r.penalties.latency_max_penalty, r.penalties.cost_max_penalty, r.penalties.feedback_penalty];
      for (const w of others) expect(r.weights.success).toBeGreaterThan(w);
      fc.assert(fc.property(signals, (s) => {
        expect(r.compute({ ...s, success: true })).toBeGreaterThanOrEqual(r.compute({ ...s, success: false }));
      }));
    }
  });
  it('hash changes with any parameter and is stable otherwise', () => {
    const a = compileReward();
    expect(compileReward({ preset: 'balanced' }).hash).toBe(a.hash);
    expect(compileReward({ preset: 'speed' }).hash).not.toBe(a.hash);
    expect(compileReward({ penalties: { latency_slo_ms: 2000 } }).hash).not.toBe(a.hash);
    expect(compileReward({ default_reward: 0.5 }).hash).not.toBe(a.hash);
  });
  it('rejects unknown keys and out-of-range weights', () => {
    expect(() => compileReward({ weights: { success: 2 } })).toThrow();
  });
});
