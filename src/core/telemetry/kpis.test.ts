import { describe, expect, it } from 'vitest';
import { compileReward } from '../reward.js';
import { computeKpis, percentile } from './kpis.js';

const reward = compileReward({});

describe('KPIs', () => {
  it('computes each rate over the facts that carry its signal, and null without any', () => {
    const s = computeKpis(
      [
        { outcome: { success: true, tool_ok: true, latency_ms: 100, cache_hit: true } },
        { outcome: { success: false, tool_ok: false, latency_ms: 300 } },
        { outcome: { success: true, latency_ms: 200 } },
        { outcome: {} },
      ],
      reward,
    );
    expect(s.kpis.successRate).toBeCloseTo(2 / 3, 12);
    expect(s.kpis.toolPrecision).toBe(0.5);
    expect(s.kpis.cacheHitRate).toBe(1);
    expect(s.kpis.p95LatencyMs).toBe(300);
    expect(s.kpis.policyValue).toBeCloseTo(
      (reward.compute({ success: true, tool_ok: true, latency_ms: 100, cache_hit: true }) + reward.compute({ success: false, tool_ok: false, latency_ms: 300 }) + reward.compute({ success: true, latency_ms: 200 }) + reward.compute({})) / 4,
      12,
    );
    expect(s.counts).toEqual({ facts: 4, success: 3, tool: 2, latency: 3, cache: 1 });
    expect(computeKpis([], reward).kpis).toEqual({ toolPrecision: null, successRate: null, p95LatencyMs: null, cacheHitRate: null, policyValue: null });
    expect(computeKpis([{ outcome: { success: true }, reward: 0.25 }], reward).kpis.policyValue).toBe(0.25);
  });

  it('uses the nearest-rank 95th percentile', () => {
    const xs = Float64Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(xs, 0.95)).toBe(95);
    expect(percentile(Float64Array.of(7), 0.95)).toBe(7);
    expect(percentile(Float64Array.from({ length: 2000 }, (_, i) => i), 0.95)).toBe(1899);
  });
});
