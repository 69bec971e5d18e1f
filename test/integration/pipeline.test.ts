import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyArtifact } from '../../src/services/artifacts/artifacts.js';
import { umbra, umbraJson } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { kindOfText, successProb, worldEvents } from './learn-world.js';
import { tempDir } from '../helpers/tmp.js';

const CONFIG = join(projectRoot, 'examples', 'config.json');
const CONSERVATIVE = join(projectRoot, 'examples', 'config_conservative.json');

interface Summary {
  steps: string[];
  dryRun: boolean;
  dataset?: { records: number; invalid: number; points: Record<string, { train: number; validation: number }> };
  trained?: Record<string, { algorithm: string; n: number }>;
  evaluation?: Record<string, { n: number; loggerValue: number; estimates: Record<string, { value: number | null }>; selection?: { chosen: string } }>;
  policies?: Record<string, string>;
  warnings: string[];
}

let dir: string;
let log: string;

beforeAll(() => {
  dir = tempDir('umbra-pipeline-');
  log = join(dir, 'log.jsonl');
  const lines = worldEvents(1500, 1).map((e) => JSON.stringify(e));
  // Garbage and a late outcome event: quarantined / joined, never fatal.
  lines.splice(100, 0, 'not json at all', '{"v":1,"id":"x"}');
  lines.push(JSON.stringify({ v: 1, kind: 'outcome', id: 'req-1-3', ts: '2025-09-02T00:00:00Z', reward: 1 }));
  writeFileSync(log, `${lines.join('\n')}\n`);
});

describe('umbra pipeline', () => {
  it('ships example configs that `umbra config check` accepts', () => {
    for (const f of [CONFIG, CONSERVATIVE]) expect(umbra(['config', 'check', f]).status).toBe(0);
  });

  it('--dry-run validates config and input, prints the plan and writes nothing', () => {
    const out = join(dir, 'dry');
    const s = umbraJson<Summary & { plan: string[] }>(['pipeline', '--telemetry', log, '--config', CONFIG, '--out', out, '--dry-run']);
    expect(s.dryRun).toBe(true);
    expect(s.dataset!.invalid).toBe(2);
    expect(s.plan.some((l) => l.startsWith('train route: linucb'))).toBe(true);
    expect(s.plan.some((l) => l.startsWith('train tool: beta_ts'))).toBe(true);
    expect(existsSync(out)).toBe(false);
    const bad = join(dir, 'bad-config.json');
    writeFileSync(bad, JSON.stringify({ policies: { default: { algorithm: 'magic' } } }));
    const r = umbra(['pipeline', '--telemetry', log, '--config', bad, '--out', out, '--dry-run']);
    expect(r.status).toBe(3);
    expect(r.stderr).toContain('policies.default.algorithm');
    expect(existsSync(out)).toBe(false);
  });

  it('--step all builds a time-ordered dataset, trains every point, evaluates and packages', () => {
    const out = join(dir, 'all');
    const s = umbraJson<Summary>(['pipeline', '--telemetry', log, '--config', CONFIG, '--out', out]);
    expect(s.steps).toEqual(['dataset', 'train', 'evaluate', 'package']);
    expect(Object.keys(s.trained!).sort()).toEqual(['route', 'tool']);
    expect(s.dataset!.points.route).toEqual({ train: 1200, validation: 300, actions: ['deep', 'micro', 'planner'] });
    // Model selection: every candidate estimated on the validation window, the chosen one by the highest lower bound.
    const evaluation = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8')) as { points: Record<string, { selection: { chosen: string; candidates: { name: string; algorithm: string; value: number | null; lower: number | null; chosen: boolean }[] } }> };
    for (const point of ['route', 'tool']) {
      const sel = evaluation.points[point]!.selection;
      expect(sel.candidates.map((c) => c.name)).toEqual(['configured', 'sparse', 'sparse-strong-l2', 'constant-best', 'rules']);
      expect(sel.candidates.filter((c) => c.chosen).map((c) => c.name)).toEqual([sel.chosen]);
      const chosen = sel.candidates.find((c) => c.chosen)!;
      for (const c of sel.candidates) if (c.lower !== null) expect(chosen.lower!).toBeGreaterThanOrEqual(c.lower - 1e-9);
      expect(s.evaluation![point]!.selection!.chosen).toBe(sel.chosen);
      expect(s.trained![point]!.algorithm).toBe(chosen.algorithm);
      expect(existsSync(join(out, 'models', 'holdout', `${point}.json`))).toBe(true);
    }
    expect(evaluation.points.route!.selection.chosen).not.toBe('rules');

    // Validation is the latest window of each point, never a random sample.
    const read = (f: string): { point: string; ts: string; context: Record<string, unknown> }[] =>
      readFileSync(join(out, 'dataset', f), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { point: string; ts: string; context: Record<string, unknown> });
    const train = read('train.jsonl');
    const validation = read('validation.jsonl');
    for (const point of ['route', 'tool']) {
      const lastTrain = Math.max(...train.filter((e) => e.point === point).map((e) => Date.parse(e.ts)));
      const firstVal = Math.min(...validation.filter((e) => e.point === point).map((e) => Date.parse(e.ts)));
      expect(firstVal).toBeGreaterThanOrEqual(lastTrain);
    }
    // Raw text never reaches the dataset: only its expanded form.
    expect(train.some((e) => 'text' in e.context)).toBe(false);
    expect(train.filter((e) => e.point === 'route').every((e) => typeof e.context.text_tokens === 'string')).toBe(true);

    const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { policies: Record<string, string>; evaluation: Record<string, unknown>; config: { policies: unknown } };
    expect(manifest.policies).toEqual(s.policies);
    expect(Object.keys(manifest.evaluation).sort()).toEqual(['route', 'tool']);
    expect(manifest.config.policies).toBeDefined();
    for (const [point, file] of Object.entries(manifest.policies)) {
      expect(file).toMatch(new RegExp(`^${point}-(linucb|beta_ts|sparse|constant)-[0-9a-f]{16}\\.json$`));
      const loaded = loadPolicyArtifact(join(out, file));
      expect(loaded.artifact.point).toBe(point);
      // The winner is retrained on the whole window before packaging.
      expect(loaded.artifact.window.n).toBe(s.dataset!.points[point]!.train + s.dataset!.points[point]!.validation);
      expect(loaded.artifact.metrics.evaluation).toBeDefined();
    }
    // The evaluation carries the off-policy estimates of src/core/ope for every point.
    expect(Object.keys(s.evaluation!.route!.estimates)).toEqual(expect.arrayContaining(['ips', 'snips', 'dm', 'dr']));
    // By the world's truth, the learned route policy beats the rules it was logged with.
    const route = loadPolicyArtifact(join(out, s.policies!.route!)).policy;
    const events = worldEvents(1500, 1).filter((e) => e.point === 'route');
    let learned = 0;
    let rules = 0;
    for (const e of events.slice(1200)) {
      const kind = kindOfText(e.context.text as string);
      const p = route.probs(e.context, e.actions, e.baseline);
      learned += e.actions.reduce((acc, a, i) => acc + p[i]! * successProb(kind, a), 0);
      rules += successProb(kind, e.baseline!);
    }
    expect(learned / 300).toBeGreaterThan(rules / 300 + 0.1);
  });

  it('runs step by step with the same result as all at once (deterministic, content-addressed)', () => {
    const all = umbraJson<Summary>(['pipeline', '--telemetry', log, '--config', CONFIG, '--out', join(dir, 'all2')]);
    const out = join(dir, 'steps');
    const train = umbra(['pipeline', '--step', 'train', '--config', CONFIG, '--out', out, '--json']);
    expect(train.status).toBe(8);
    expect(train.stderr).toContain('E_NO_DATA');
    for (const step of ['dataset', 'train', 'evaluate']) umbraJson(['pipeline', '--telemetry', log, '--step', step, '--config', CONFIG, '--out', out]);
    const pkg = umbraJson<Summary>(['pipeline', '--step', 'package', '--config', CONFIG, '--out', out]);
    expect(pkg.policies).toEqual(all.policies);
    // A different reward config refuses the stored dataset instead of training on stale rewards.
    const other = join(dir, 'other-reward.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(CONFIG, 'utf8')), reward: { preset: 'speed' } }));
    const r = umbra(['pipeline', '--step', 'train', '--config', other, '--out', out, '--json']);
    expect(r.status).toBe(7);
    expect(r.stderr).toContain('E_ARTIFACT_MISMATCH');
  });

  it('trains conservative policies with examples/config_conservative.json', () => {
    const out = join(dir, 'conservative');
    const s = umbraJson<Summary>(['pipeline', '--telemetry', log, '--config', CONSERVATIVE, '--out', out]);
    const route = loadPolicyArtifact(join(out, s.policies!.route!));
    expect(route.artifact.settings.conservative.enabled).toBe(true);
    // Early candidates stay close to production: most validation decisions keep the baseline.
    const validation = readFileSync(join(out, 'dataset', 'validation.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { point: string; context: Record<string, string>; actions: string[]; baseline: string });
    const routeVal = validation.filter((e) => e.point === 'route');
    const kept = routeVal.filter((e) => {
      const p = route.policy.probs(e.context, e.actions, e.baseline);
      return p[e.actions.indexOf(e.baseline)]! > 0.9;
    }).length;
    expect(kept / routeVal.length).toBeGreaterThan(0.3);
  });

  it('works on Alice telemetry as Alice writes it (turn events from the simulator)', () => {
    const alice = join(dir, 'alice.jsonl');
    umbraJson(['bootstrap', '--episodes', '1500', '--seed', '3', '--exploration', '0.05', '--end', '2025-10-06T00:00:00Z', '--out', alice]);
    const s = umbraJson<Summary>(['pipeline', '--telemetry', alice, '--config', CONFIG, '--out', join(dir, 'alice-out')]);
    expect(Object.keys(s.policies!).sort()).toEqual(['cache', 'route', 'tool']);
    expect(s.trained!.route!.n).toBe(1500);
    const route = loadPolicyArtifact(join(dir, 'alice-out', s.policies!.route!));
    expect(route.artifact.actions.sort()).toEqual(['deep', 'micro', 'planner']);
  });

  it('reports a log without valid events as E_NO_DATA and a missing file as E_INPUT_NOT_FOUND', () => {
    const empty = join(dir, 'empty.jsonl');
    writeFileSync(empty, 'garbage\n{"nope": true}\n');
    const r = umbra(['pipeline', '--telemetry', empty, '--out', join(dir, 'e'), '--json']);
    expect(r.status).toBe(8);
    expect(JSON.parse(r.stderr).error.code).toBe('E_NO_DATA');
    const m = umbra(['pipeline', '--telemetry', join(dir, 'missing.jsonl'), '--out', join(dir, 'm')]);
    expect(m.status).toBe(5);
    expect(m.stderr).toContain('E_INPUT_NOT_FOUND');
  });
});

describe('umbra policy score', () => {
  it('writes {id, probs} lines in input order, equal to the library, and names a bad line', () => {
    const out = join(dir, 'score');
    const s = umbraJson<Summary>(['pipeline', '--telemetry', log, '--config', CONFIG, '--out', out]);
    const artifact = join(out, s.policies!.route!);
    const { policy } = loadPolicyArtifact(artifact);
    const inputs = [
      { id: 'b', context: { text: 'Förklara varför himlen är blå och jämför med solnedgången', lang: 'sv', hour: 9 }, actions: ['micro', 'planner', 'deep'], baseline: 'micro', extra: 1 },
      { id: 'a', context: { text: 'Hej!', lang: 'en' }, actions: ['deep', 'micro'] },
      { id: 'c', context: {}, actions: ['micro', 'planner', 'deep', 'brand_new'] },
    ];
    const file = join(dir, 'contexts.jsonl');
    writeFileSync(file, `${inputs.map((i) => JSON.stringify(i)).join('\n')}\n`);
    const r = umbra(['policy', 'score', '--policy', artifact, '--contexts', file]);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { id: string; probs: Record<string, number> });
    expect(lines.map((l) => l.id)).toEqual(['b', 'a', 'c']);
    inputs.forEach((inp, i) => {
      const expected = policy.probs(inp.context, inp.actions, inp.baseline);
      expect(inp.actions.map((a) => lines[i]!.probs[a])).toEqual(expected);
      expect(Object.values(lines[i]!.probs).reduce((x, y) => x + y, 0)).toBeCloseTo(1, 12);
    });
    // The pipeline manifest works as --policy with --point.
    const viaManifest = umbra(['policy', 'score', '--policy', join(out, 'manifest.json'), '--point', 'route', '--contexts', file]);
    expect(viaManifest.stdout).toBe(r.stdout);

    writeFileSync(file, `${JSON.stringify(inputs[0])}\n${JSON.stringify({ id: 'x', context: { a: [1] }, actions: ['micro'] })}\n`);
    const bad = umbra(['policy', 'score', '--policy', artifact, '--contexts', file, '--json']);
    expect(bad.status).toBe(4);
    const err = JSON.parse(bad.stderr) as { error: { code: string; message: string } };
    expect(err.error.code).toBe('E_SCHEMA');
    expect(err.error.message).toContain('line 2');

    const missing = umbra(['policy', 'score', '--policy', join(dir, 'nope.json'), '--contexts', file]);
    expect(missing.status).toBe(6);
    expect(missing.stderr).toContain('E_POLICY_NOT_FOUND');
    const garbage = join(dir, 'garbage.json');
    writeFileSync(garbage, '{"format": "something else"}');
    const inv = umbra(['policy', 'score', '--policy', garbage, '--contexts', file]);
    expect(inv.status).toBe(7);
    expect(inv.stderr).toContain('E_ARTIFACT_INVALID');
    expect(readdirSync(out).filter((f) => f.endsWith('.json')).length).toBe(4);
  });
});
