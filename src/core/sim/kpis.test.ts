import { describe, expect, it } from 'vitest';
import { KpiAccumulator, computeKpis, percentile, type KpiRow } from './kpis.js';

const row = (o: Partial<KpiRow>): KpiRow => ({ success: true, latencyMs: 100, cacheHit: false, toolCalled: false, toolRight: false, toolOk: false, reward: 0.5, ...o });

describe('KPIs', () => {
  it('computes each KPI as defined', () => {
    const k = computeKpis([
      row({ success: true, latencyMs: 10, cacheHit: true, reward: 1 }),
      row({ success: false, latencyMs: 5000, toolCalled: true, toolRight: false, reward: 0 }),
      row({ success: true, latencyMs: 300, toolCalled: true, toolRight: true, toolOk: true, reward: 0.8 }),
      row({ success: true, latencyMs: 200, toolCalled: true, toolRight: true, toolOk: true, reward: 0.6 }),
    ]);
    expect(k.successRate).toBe(0.75);
    expect(k.cacheHitRate).toBe(0.25);
    expect(k.toolPrecision).toBeCloseTo(2 / 3, 12);
    expect(k.policyValue).toBeCloseTo(0.6, 12);
    expect(k.p95LatencyMs).toBe(5000);
  });

  it('counts a tool call as precise only when it was ok (the right tool, and it returned)', () => {
    const k = computeKpis([
      row({ toolCalled: true, toolRight: true, toolOk: true }),
      row({ toolCalled: true, toolRight: true, toolOk: false }),
      row({ toolCalled: true, toolRight: false, toolOk: false }),
      row({ toolCalled: false }),
    ]);
    expect(k.toolPrecision).toBeCloseTo(1 / 3, 12);
  });

  it('uses the nearest-rank percentile and says null when there is nothing to measure', () => {
    expect(percentile([5, 1, 4, 2, 3], 0.5)).toBe(3);
    expect(percentile(Array.from({ length: 100 }, (_, i) => i + 1), 0.95)).toBe(95);
    expect(percentile(Array.from({ length: 101 }, (_, i) => i + 1), 0.95)).toBe(96);
    expect(computeKpis([])).toEqual({ toolPrecision: null, successRate: null, p95LatencyMs: null, cacheHitRate: null, policyValue: null });
    expect(computeKpis([row({})]).toolPrecision).toBeNull();
  });

  it('streams: the accumulator equals the batch function', () => {
    const rows = Array.from({ length: 5000 }, (_, i) => row({ latencyMs: (i * 7919) % 10007, success: i % 3 !== 0, reward: (i % 10) / 10 }));
    const acc = new KpiAccumulator();
    for (const r of rows) acc.add(r);
    expect(acc.result()).toEqual(computeKpis(rows));
    expect(acc.count).toBe(5000);
  });
});
