/**
 * End to end with the simulator's truth file: `umbra bootstrap --format decisions --truth` writes a
 * decision log and the expected reward of every action of every decision; `umbra ope` evaluates an
 * intent-based router on the route decisions. With a 5 % exploration floor the estimate must agree
 * with the truth; with Alice's deterministic rules (no floor) the report must refuse IPS and DR.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umbra, umbraJson } from '../helpers/cli.js';

let dir: string;
const f = (name: string): string => join(dir, name);

function target(intent: unknown): Record<string, number> {
  if (intent === 'complex_query' || intent === 'calculation' || intent === 'search') return { micro: 0.1, planner: 0.3, deep: 0.6 };
  if (intent === 'greeting' || intent === 'time' || intent === 'help') return { micro: 0.7, planner: 0.2, deep: 0.1 };
  return { micro: 0.2, planner: 0.6, deep: 0.2 };
}

interface Estimate {
  value: number | null;
  stderr: number | null;
  intervals: { normal?: [number, number]; bernstein?: [number, number] };
  reason?: string;
}
interface OpeJson {
  n: number;
  estimates: Record<string, Estimate>;
  identification: { status: string };
  diagnostics: { flags: string[] };
}

/** Write the target file for the route events of a log and return the conditional truth. */
function prepare(log: string, truthFile: string, out: string): { truth: number; n: number } {
  const expected = new Map<string, Record<string, number>>();
  for (const line of readFileSync(truthFile, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const t = JSON.parse(line) as { id: string; point: string; expected: Record<string, number> };
    if (t.point === 'route') expected.set(t.id, t.expected);
  }
  const lines: string[] = [];
  let sum = 0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (line.trim() === '') continue;
    const e = JSON.parse(line) as { id: string; point: string; context: { intent?: unknown } };
    if (e.point !== 'route') continue;
    const p = target(e.context.intent);
    const q = expected.get(e.id)!;
    sum += Object.entries(p).reduce((s, [a, pa]) => s + pa * q[a]!, 0);
    lines.push(JSON.stringify({ id: e.id, probs: p }));
  }
  writeFileSync(out, `${lines.join('\n')}\n`);
  return { truth: sum / lines.length, n: lines.length };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ope-sim-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('umbra ope on the simulator’s truth file', () => {
  const common = ['bootstrap', '--episodes', '4000', '--format', 'decisions', '--seed', '5', '--end', '2024-05-01T00:00:00Z'];

  it('agrees with the truth under a 5 % exploration floor (seed 5)', () => {
    const b = umbra([...common, '--exploration', '0.05', '--out', f('explore.jsonl'), '--truth', f('explore-truth.jsonl')]);
    expect(b.status, b.stderr).toBe(0);
    const { truth, n } = prepare(f('explore.jsonl'), f('explore-truth.jsonl'), f('explore-target.jsonl'));
    const r = umbraJson<OpeJson>(['ope', '--log', f('explore.jsonl'), '--target', f('explore-target.jsonl'), '--point', 'route']);
    expect(r.n).toBe(n);
    expect(r.identification.status).toBe('identified');
    for (const k of ['ips', 'snips', 'dr']) {
      const e = r.estimates[k]!;
      // one seeded run: within three standard errors of the truth, and inside the Bernstein interval
      expect(Math.abs(e.value! - truth), `${k}: ${e.value} vs truth ${truth} (seed 5)`).toBeLessThan(3 * e.stderr!);
      expect(e.intervals.bernstein![0]).toBeLessThanOrEqual(truth);
      expect(e.intervals.bernstein![1]).toBeGreaterThanOrEqual(truth);
    }
  });

  it("refuses IPS and DR on Alice's deterministic rules and keeps to supported claims", () => {
    const b = umbra([...common, '--exploration', '0', '--out', f('rules.jsonl'), '--truth', f('rules-truth.jsonl')]);
    expect(b.status, b.stderr).toBe(0);
    prepare(f('rules.jsonl'), f('rules-truth.jsonl'), f('rules-target.jsonl'));
    const r = umbraJson<OpeJson>(['ope', '--log', f('rules.jsonl'), '--target', f('rules-target.jsonl'), '--point', 'route']);
    expect(r.identification.status).toBe('unidentified');
    expect(r.diagnostics.flags).toContain('deterministic_logger');
    for (const k of ['ips', 'snips', 'dr', 'switch_dr']) expect(r.estimates[k]!.value, k).toBeNull();
    expect(r.estimates.dm!.value).not.toBeNull();
  });
});
