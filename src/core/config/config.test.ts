import { describe, expect, it } from 'vitest';
import { compileConfig, configHash, defaultConfig } from './index.js';
import { isUmbraError } from '../errors.js';

describe('config', () => {
  it('applies the seed defaults under their seed names', () => {
    const c = defaultConfig();
    expect(c.shadow_mode.retrain_interval_hours).toBe(6);
    expect(c.shadow_mode.min_new_episodes).toBe(50);
    expect(c.shadow_mode.promotion_threshold).toBe(0.05);
    expect(c.shadow_mode.shadow_models_dir).toBe('shadow_models');
    expect(c.bootstrap).toMatchObject({ episodes: 2000, scenario: 'realistic', daily_patterns: true });
    expect(c.promotion_criteria).toMatchObject({ min_improvement_pct: 5, min_policy_value: 0.65, max_variance: 0.1, min_episodes: 100 });
    expect(c.reward.preset).toBe('balanced');
  });
  it('accepts the seed example and keeps unspecified defaults', () => {
    const c = compileConfig({ shadow_mode: { retrain_interval_hours: 0.5 }, promotion_criteria: { min_episodes: 10 } });
    expect(c.shadow_mode.retrain_interval_hours).toBe(0.5);
    expect(c.shadow_mode.min_new_episodes).toBe(50);
    expect(c.promotion_criteria.min_episodes).toBe(10);
  });
  it('lists every problem with path, expected and got', () => {
    try {
      compileConfig({ promotion_criteria: { min_policy_value: 'high' }, shadow_mode: { retrain_interval_hours: -1 }, nope: 1 });
      expect.unreachable();
    } catch (e) {
      expect(isUmbraError(e, 'E_CONFIG_INVALID')).toBe(true);
      const issues = (e as { details: { issues: { path: string; message: string; expected?: string; got?: string }[] } }).details.issues;
      const byPath = Object.fromEntries(issues.map((i) => [i.path, i]));
      expect(byPath['promotion_criteria.min_policy_value']).toMatchObject({ expected: 'number', got: '"high"' });
      expect(byPath['shadow_mode.retrain_interval_hours']).toBeDefined();
      expect(issues.some((i) => i.message.includes('nope'))).toBe(true);
    }
  });
  it('hash follows content', () => {
    expect(configHash(defaultConfig())).toBe(configHash(compileConfig({})));
    expect(configHash(compileConfig({ bootstrap: { episodes: 5 } }))).not.toBe(configHash(defaultConfig()));
  });
});
