/**
 * `umbra ope` as a process: the JSON contract, the readable table, the deterministic-logger refusal,
 * the handling of missing targets, and `--policy` agreeing with `--target`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicySettingsSchema } from '../../src/core/config/policies.js';
import { FeatureMap, featureDefinition } from '../../src/core/features/index.js';
import { buildArtifact, createPolicy } from '../../src/core/policies/index.js';
import { Rng } from '../../src/core/rng.js';
import { writePolicyArtifact } from '../../src/services/artifacts/artifacts.js';
import { umbra, umbraJson } from '../helpers/cli.js';

const ACTIONS = ['micro', 'planner', 'deep'];
let dir: string;
const f = (name: string): string => join(dir, name);

interface Estimate {
  value: number | null;
  ci: [number, number] | null;
  reason?: string;
  label?: string;
}
interface OpeJson {
  n: number;
  estimates: Record<string, Estimate>;
  logging: Estimate;
  diagnostics: { ess: number; maxWeight: number; supportDeficit: number; flags: string[] };
  identification: { status: string; fix?: string; bounds: { lo: number; hi: number } | null };
  log: { skipped: Record<string, number> };
  gates?: { verdict: string; gates: { name: string; pass: boolean; reason: string }[] };
  success?: { n: number };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'umbra-ope-'));
  const rng = new Rng(2024);
  const log: string[] = [];
  const det: string[] = [];
  const target: string[] = [];
  const dtarget: string[] = [];
  for (let i = 0; i < 1500; i++) {
    const x = rng.next();
    const a = rng.int(3);
    const p = [0.8, 0.5, 0.3 + 0.6 * x][a]!;
    const ok = rng.next() < p;
    const ctx = { len: Math.round(10 + 200 * x), lang: x < 0.5 ? 'sv' : 'en' };
    log.push(JSON.stringify({ v: 1, id: `e${i}`, ts: '2024-05-01T10:00:00Z', context: ctx, actions: ACTIONS, action: ACTIONS[a], propensity: 1 / 3, probs: { micro: 1 / 3, planner: 1 / 3, deep: 1 / 3 }, outcome: { success: ok } }));
    target.push(JSON.stringify({ id: `e${i}`, probs: x > 0.8 ? { deep: 1 } : { micro: 0.9, planner: 0.05, deep: 0.05 } }));
    const rule = x > 0.5 ? 'deep' : 'micro';
    det.push(JSON.stringify({ v: 1, id: `d${i}`, ts: '2024-05-01T10:00:00Z', context: ctx, actions: ACTIONS, action: rule, reward: rng.next() < 0.7 ? 1 : 0 }));
    dtarget.push(JSON.stringify({ id: `d${i}`, probs: { micro: 0.5, planner: 0.5 } }));
  }
  writeFileSync(f('log.jsonl'), `${log.join('\n')}\n`);
  writeFileSync(f('target.jsonl'), `${target.join('\n')}\n`);
  writeFileSync(f('partial-target.jsonl'), `${target.slice(0, 1000).join('\n')}\n`);
  writeFileSync(f('det.jsonl'), `${det.join('\n')}\n`);
  writeFileSync(f('dtarget.jsonl'), `${dtarget.join('\n')}\n`);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('umbra ope', () => {
  it('prints one JSON object with the contract fields', () => {
    const r = umbraJson<OpeJson>(['ope', '--log', f('log.jsonl'), '--target', f('target.jsonl'), '--data-dir', f('dd')]);
    expect(r.n).toBe(1500);
    for (const k of ['ips', 'snips', 'dm', 'dr', 'clipped_ips', 'switch_dr']) {
      const e = r.estimates[k]!;
      expect(typeof e.value, k).toBe('number');
      expect(e.ci, k).toHaveLength(2);
      expect(e.ci![0], k).toBeLessThanOrEqual(e.value! + 1e-12);
    }
    expect(r.estimates.dm!.label).toBe('model-based');
    expect(typeof r.logging.value).toBe('number');
    expect(r.logging.ci).toHaveLength(2);
    expect(r.diagnostics.ess).toBeGreaterThan(100);
    expect(r.diagnostics.maxWeight).toBeCloseTo(3, 9);
    expect(r.diagnostics.supportDeficit).toBe(0);
    expect(r.success?.n).toBe(1500);
    expect(Math.abs(r.estimates.dr!.value! - r.estimates.ips!.value!)).toBeLessThan(0.05);
  });

  it('reproduces its bootstrap with a seed and restricts the estimators', () => {
    const args = ['ope', '--log', f('log.jsonl'), '--target', f('target.jsonl'), '--estimators', 'ips,snips', '--bootstrap', '200', '--seed', '5'];
    const a = umbraJson<OpeJson>(args);
    const b = umbraJson<OpeJson>(args);
    expect(Object.keys(a.estimates).sort()).toEqual(['ips', 'snips']);
    expect(a.estimates.ips!.ci).toEqual(b.estimates.ips!.ci);
    const bad = umbra(['ope', '--log', f('log.jsonl'), '--target', f('target.jsonl'), '--estimators', 'ips,magic', '--json']);
    expect(bad.status).toBe(2);
    expect(JSON.parse(bad.stderr).error.code).toBe('E_USAGE');
  });

  it('refuses to invent IPS/SNIPS/DR for a deterministic logger and says how to fix it', () => {
    const r = umbraJson<OpeJson>(['ope', '--log', f('det.jsonl'), '--target', f('dtarget.jsonl')]);
    for (const k of ['ips', 'snips', 'dr']) {
      expect(r.estimates[k]!.value, k).toBeNull();
      expect(r.estimates[k]!.reason, k).toMatch(/unidentified/);
    }
    expect(r.estimates.dm!.label).toBe('model-based');
    expect(r.identification.status).toBe('unidentified');
    expect(r.identification.fix).toMatch(/exploration floor/);
    expect(r.identification.bounds!.lo).toBeLessThan(r.identification.bounds!.hi);
    expect(r.diagnostics.flags).toContain('deterministic_logger');
    const human = umbra(['ope', '--log', f('det.jsonl'), '--target', f('dtarget.jsonl')]);
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/ips\s+null\s+—/);
    expect(human.stdout).toMatch(/!! WARNINGS/);
    expect(human.stdout).toMatch(/worst-case bounds/);
  });

  it('fails on logged events without a target unless told to skip and count them', () => {
    const r = umbra(['ope', '--log', f('log.jsonl'), '--target', f('partial-target.jsonl'), '--json']);
    expect(r.status).toBe(4);
    expect(JSON.parse(r.stderr).error.message).toMatch(/500 of 1500 logged events have no line/);
    const ok = umbraJson<OpeJson>(['ope', '--log', f('log.jsonl'), '--target', f('partial-target.jsonl'), '--allow-missing']);
    expect(ok.n).toBe(1000);
    expect(ok.log.skipped.noTarget).toBe(500);
  });

  it('evaluates the gates on request, in JSON and in words', () => {
    const r = umbraJson<OpeJson>(['ope', '--log', f('log.jsonl'), '--target', f('target.jsonl'), '--gates', '--new-episodes', '40']);
    expect(r.gates?.verdict).toBe('hold');
    const g = Object.fromEntries(r.gates!.gates.map((x) => [x.name, x]));
    expect(g.min_episodes?.pass).toBe(false);
    expect(g.min_episodes?.reason).toMatch(/only 40 new episodes/);
    const human = umbra(['ope', '--log', f('log.jsonl'), '--target', f('target.jsonl'), '--gates']);
    expect(human.stdout).toMatch(/promotion gates \(dr, bernstein lower bound\)/);
  });

  it('--policy gives the same estimates as --target with the policy’s own scores', () => {
    const fm = FeatureMap.fit(featureDefinition({}), [{ len: 10, lang: 'sv' }, { len: 200, lang: 'en' }]);
    const policy = createPolicy('route', PolicySettingsSchema.parse({ epsilon: 0.2 }), fm);
    const rng = new Rng(9);
    policy.fit(
      Array.from({ length: 300 }, () => {
        const x = rng.next();
        const a = rng.int(3);
        return { context: { len: Math.round(10 + 200 * x), lang: x < 0.5 ? 'sv' : 'en' }, action: ACTIONS[a]!, reward: a === 2 ? x : 0.5 };
      }),
    );
    const art = buildArtifact(policy, { rewardHash: 'r', configHash: 'c', window: { first: '2024-01-01T00:00:00Z', last: '2024-01-02T00:00:00Z', n: 300 }, trainingSeed: 1, metrics: {}, createdWith: 'test' });
    const { path } = writePolicyArtifact(f('models'), art);
    const byPolicy = umbraJson<OpeJson>(['ope', '--log', f('log.jsonl'), '--policy', path, '--estimators', 'ips,snips']);
    expect(byPolicy.n).toBe(1500);
    const scores = umbra(['policy', 'score', '--policy', path, '--contexts', f('log.jsonl'), '--out', f('scores.jsonl')]);
    expect(scores.status).toBe(0);
    const byTarget = umbraJson<OpeJson>(['ope', '--log', f('log.jsonl'), '--target', f('scores.jsonl'), '--estimators', 'ips,snips']);
    expect(byPolicy.estimates.ips!.value).toBeCloseTo(byTarget.estimates.ips!.value!, 12);
    expect(byPolicy.estimates.snips!.value).toBeCloseTo(byTarget.estimates.snips!.value!, 12);
  });

  it('needs exactly one of --policy and --target', () => {
    const r = umbra(['ope', '--log', f('log.jsonl'), '--json']);
    expect(r.status).toBe(2);
    expect(JSON.parse(r.stderr).error.message).toMatch(/exactly one of --policy/);
  });
});
