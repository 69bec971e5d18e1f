/**
 * `umbra bootstrap` as a real process: machine output, byte-identical files for a seed, no future
 * timestamps, the hour pattern, canonical decision events with exact propensities, truth files,
 * and errors with stable codes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DecisionEventSchema } from '../../src/core/events.js';
import { HOUR_WEIGHTS } from '../../src/core/sim/world.js';
import { umbra, umbraJson } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('umbra-bootstrap-');
const END = '2025-09-04T12:00:00Z';
const lines = (file: string): string[] => readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);

describe('umbra bootstrap', () => {
  it('reports the same five KPIs as `umbra monitor` on the ingested telemetry (one tool precision)', () => {
    const out = join(dir, 'kpis.jsonl');
    const data = join(dir, 'kpis-data');
    const b = umbraJson<{ kpis: Record<string, number> }>(['bootstrap', '--episodes', '4000', '--seed', '3', '--end', END, '--out', out]);
    umbraJson(['ingest', '--telemetry', out, '--data-dir', data]);
    const m = umbraJson<{ kpis: { name: string; now: number | null }[] }>(['monitor', '--once', '--data-dir', data]);
    const now = Object.fromEntries(m.kpis.map((k) => [k.name, k.now]));
    // toolPrecision is the share of `tool_ok` among tool calls on both sides: a wrong tool is never ok.
    expect(b.kpis.toolPrecision).toBeGreaterThan(0.4);
    expect(b.kpis.toolPrecision).toBeLessThan(0.7);
    for (const k of ['toolPrecision', 'successRate', 'p95LatencyMs', 'cacheHitRate'] as const) expect(now[k], k).toBe(b.kpis[k]);
    expect(now.policyValue).toBeCloseTo(b.kpis.policyValue!, 9);
  });

  it('prints exactly {episodes, kpis, routeMix} with --json and writes Alice turns and feedback', () => {
    const out = join(dir, 'a.jsonl');
    const r = umbraJson<Record<string, unknown>>(['bootstrap', '--episodes', '3000', '--seed', '4', '--end', END, '--out', out, '--data-dir', dir]);
    expect(Object.keys(r).sort()).toEqual(['episodes', 'kpis', 'routeMix']);
    expect(r.episodes).toBe(3000);
    expect(Object.keys(r.kpis as object).sort()).toEqual(['cacheHitRate', 'p95LatencyMs', 'policyValue', 'successRate', 'toolPrecision']);
    const mix = r.routeMix as Record<string, number>;
    expect(mix.micro! + mix.planner! + mix.deep!).toBeCloseTo(1, 9);
    const parsed = lines(out).map((l) => JSON.parse(l) as { kind?: string; trace_id: string; ts?: string });
    const turns = new Set(parsed.filter((p) => p.kind === undefined).map((p) => p.trace_id));
    expect(turns.size).toBe(3000);
    expect(parsed.some((p) => p.kind === 'feedback')).toBe(true);
  });

  it('is byte-identical for seed 0, different for seed 1, in .jsonl and .json', () => {
    const run = (seed: string, name: string): string => {
      const out = join(dir, name);
      const r = umbra(['bootstrap', '--episodes', '1500', '--seed', seed, '--end', END, '--out', out, '--exploration', '0.05']);
      expect(r.status, r.stderr).toBe(0);
      return readFileSync(out, 'utf8');
    };
    const zero = run('0', 'z1.jsonl');
    expect(zero === run('0', 'z2.jsonl')).toBe(true);
    expect(zero === run('1', 'o1.jsonl')).toBe(false);
    const arr = run('0', 'z.json');
    const parsed = JSON.parse(arr) as unknown[];
    expect(parsed.map((x) => JSON.stringify(x))).toEqual(lines(join(dir, 'z1.jsonl')));
    // No temporary files are left behind.
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('never writes a timestamp in the future: ends before now by default, before --end otherwise', () => {
    const out = join(dir, 'now.jsonl');
    const before = Date.now();
    expect(umbra(['bootstrap', '--episodes', '2000', '--days', '1', '--out', out]).status).toBe(0);
    const after = Date.now();
    const ts = lines(out)
      .map((l) => JSON.parse(l) as { ts?: string })
      .filter((p) => p.ts !== undefined)
      .map((p) => Date.parse(p.ts!));
    expect(Math.max(...ts)).toBeLessThanOrEqual(after);
    expect(Math.min(...ts)).toBeGreaterThanOrEqual(before - 86_400_000 - 1000);
    const fixed = join(dir, 'fixed.jsonl');
    expect(umbra(['bootstrap', '--episodes', '2000', '--days', '3', '--end', END, '--out', fixed]).status).toBe(0);
    const ts2 = lines(fixed)
      .map((l) => JSON.parse(l) as { ts?: string })
      .filter((p) => p.ts !== undefined)
      .map((p) => Date.parse(p.ts!));
    expect(Math.max(...ts2)).toBeLessThan(Date.parse(END));
    expect(Math.min(...ts2)).toBeGreaterThanOrEqual(Date.parse(END) - 3 * 86_400_000);
  });

  it('follows the daily pattern: chi-square of session starts per hour against the weights (seed 11)', () => {
    const out = join(dir, 'hours.jsonl');
    expect(umbra(['bootstrap', '--episodes', '40000', '--seed', '11', '--daily-pattern', '--days', '14', '--end', END, '--out', out, '--format', 'decisions']).status).toBe(0);
    const starts = new Array<number>(24).fill(0);
    for (const l of lines(out)) {
      const e = JSON.parse(l) as { point: string; ts: string; context: { session_depth: number } };
      if (e.point === 'route' && e.context.session_depth === 1) starts[new Date(e.ts).getUTCHours()]!++;
    }
    const n = starts.reduce((a, b) => a + b, 0);
    const total = HOUR_WEIGHTS.reduce((a, b) => a + b, 0);
    let chi2 = 0;
    for (let h = 0; h < 24; h++) chi2 += (starts[h]! - (n * HOUR_WEIGHTS[h]!) / total) ** 2 / ((n * HOUR_WEIGHTS[h]!) / total);
    expect(chi2, `seed 11: ${starts.join(',')}`).toBeLessThan(49.73); // chi-square(23) at 0.999
  });

  it('writes canonical decision events with exact propensities and a truth line per event', () => {
    const out = join(dir, 'd.jsonl');
    const truth = join(dir, 'truth.jsonl');
    const r = umbra(['bootstrap', '--episodes', '4000', '--seed', '3', '--end', END, '--format', 'decisions', '--exploration', '0.1', '--truth', truth, '--out', out, '--scenarios', 'realistic']);
    expect(r.status, r.stderr).toBe(0);
    const events = lines(out).map((l) => DecisionEventSchema.parse(JSON.parse(l)));
    const truths = lines(truth).map((l) => JSON.parse(l) as { id: string; point: string; expected: Record<string, number> });
    expect(truths.map((t) => t.id)).toEqual(events.map((e) => e.id));
    let served = 0;
    for (const [i, e] of events.entries()) {
      expect(e.propensity).toBeGreaterThan(0);
      expect(e.propensity).toBeLessThanOrEqual(1);
      expect(e.probs![e.action]).toBe(e.propensity);
      expect(e.probs![e.baseline!]).toBeCloseTo(0.9, 12);
      expect(typeof e.context.text).toBe('string');
      expect(Object.keys(truths[i]!.expected).sort()).toEqual([...e.actions].sort());
      if (e.action === e.baseline) served++;
    }
    // Serving the rule choice with probability 1 - e, empirically (5 standard errors).
    expect(Math.abs(served / events.length - 0.9)).toBeLessThan(5 * Math.sqrt((0.9 * 0.1) / events.length));
  });

  it('rejects bad input with stable codes', () => {
    const out = join(dir, 'x.jsonl');
    const future = umbra(['bootstrap', '--episodes', '10', '--end', '2999-01-01T00:00:00Z', '--out', out]);
    expect(future.status).toBe(2);
    expect(future.stderr).toContain('E_USAGE');
    expect(umbra(['bootstrap', '--episodes', '10', '--scenario', 'utopian', '--out', out]).stderr).toContain('E_USAGE');
    expect(umbra(['bootstrap', '--episodes', '0', '--out', out]).status).toBe(2);
    expect(umbra(['bootstrap', '--episodes', '10', '--scenario', 'realistic', '--scenarios', 'drift', '--out', out]).status).toBe(2);
    const blocked = join(dir, 'a.jsonl', 'nested.jsonl'); // a file where a directory should be
    const w = umbra(['bootstrap', '--episodes', '10', '--out', blocked, '--json']);
    expect(w.status).toBe(5);
    expect(JSON.parse(w.stderr) as unknown).toMatchObject({ error: { code: 'E_OUTPUT_UNWRITABLE' } });
  });
});
