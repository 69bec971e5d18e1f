import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { settingsOf } from '../../src/core/settings.js';
import { featureDefinition, featureHash } from '../../src/core/features/index.js';
import { compileReward } from '../../src/core/reward.js';
import { loadPolicy, loadPolicyArtifact, writePolicyArtifact } from '../../src/services/artifacts/artifacts.js';
import { type Episode, trainPoint } from '../../src/services/learning/trainer.js';
import { expandText } from '../../src/core/text.js';
import { worldEvents } from './learn-world.js';
import { tempDir } from '../helpers/tmp.js';

function episodes(n: number): Episode[] {
  const rf = compileReward();
  return worldEvents(n, 4)
    .filter((e) => e.point === 'route')
    .map((e) => ({ id: e.id, ts: e.ts, point: 'route', context: expandText(e.context, ['text']), actions: e.actions, action: e.action, propensity: e.propensity!, baseline: e.baseline!, reward: rf.compute(e.outcome!), defaulted: false }));
}

describe('policy artifacts on disk', () => {
  const config = settingsOf({});
  const trained = trainPoint('route', episodes(400), config);
  const dir = tempDir('umbra-artifacts-');

  it('are written atomically under a content-addressed name and load back identical', () => {
    const { file, path } = writePolicyArtifact(dir, trained.artifact);
    expect(file).toMatch(/^route-linucb-[0-9a-f]{16}\.json$/);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    // Writing the same artifact again gives the same name (content addressing).
    expect(writePolicyArtifact(dir, trained.artifact).file).toBe(file);
    const loaded = loadPolicyArtifact(path, { featureHash: featureHash(featureDefinition(config.config.features)), rewardHash: compileReward(config.config.reward).hash });
    expect(loaded.version).toBe(file.replace(/\.json$/, ''));
    expect(loaded.artifact).toMatchObject({ point: 'route', kind: 'linucb', window: { n: trained.metrics.n }, seeds: { decision: 7, training: 42 } });
    for (const e of episodes(60).slice(40)) {
      expect(loaded.policy.probs(e.context, e.actions, e.baseline)).toEqual(trained.policy.probs(e.context, e.actions, e.baseline));
      expect(loaded.policy.decide(e.id, e.context, e.actions).action).toBe(trained.policy.decide(e.id, e.context, e.actions).action);
    }
  });

  it('refuse a different feature map or reward by name, a malformed file, and a missing one', () => {
    const { path } = writePolicyArtifact(dir, trained.artifact);
    const other = settingsOf({ features: { dim: 128 }, reward: { preset: 'speed' } });
    const expectCode = (f: () => unknown, code: string, text?: string): void => {
      try {
        f();
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe(code);
        if (text !== undefined) expect((e as Error).message).toContain(text);
      }
    };
    expectCode(() => loadPolicyArtifact(path, { featureHash: featureHash(featureDefinition(other.config.features)) }), 'E_ARTIFACT_MISMATCH', 'feature-map hash');
    expectCode(() => loadPolicyArtifact(path, { rewardHash: compileReward(other.config.reward).hash }), 'E_ARTIFACT_MISMATCH', 'reward hash');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, readFileSync(path, 'utf8').slice(0, 500));
    expectCode(() => loadPolicyArtifact(broken), 'E_ARTIFACT_INVALID');
    const wrongShape = join(dir, 'wrong.json');
    writeFileSync(wrongShape, JSON.stringify({ ...trained.artifact, params: { d: 64, lambda: 1, arms: 'many' } }));
    expectCode(() => loadPolicyArtifact(wrongShape), 'E_ARTIFACT_INVALID', 'params.arms');
    expectCode(() => loadPolicyArtifact(join(dir, 'absent.json')), 'E_POLICY_NOT_FOUND');
    expect(existsSync(join(dir, 'absent.json'))).toBe(false);
  });

  it('serve the policy host’s loader contract', () => {
    const { path, file } = writePolicyArtifact(dir, trained.artifact);
    const hosted = loadPolicy(path);
    expect(hosted.version).toBe(file.replace(/\.json$/, ''));
    const e = episodes(50)[45]!;
    const d = hosted.decide(e.id, e.context, e.actions, e.baseline);
    expect(d.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(d.propensity).toBe(d.probs[e.actions.indexOf(d.action)]);
  });
});
