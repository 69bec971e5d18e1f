import { describe, expect, it } from 'vitest';
import { compileConfig, defaultConfig } from './index.js';
import { rolloutConfig } from './rollout.js';
import { isUmbraError } from '../errors.js';

describe('rollout config section', () => {
  it('carries the defaults of the rollout spec', () => {
    const r = defaultConfig().rollout;
    expect(r).toMatchObject({
      mode: 'auto',
      check_interval_s: 60,
      canary_weight: 0.05,
      canary_min_duration_s: 86_400,
      guardrail_alpha: 0.05,
      srm_p: 0.001,
      noninferiority_margin: 0.01,
      blind_consecutive_errors: 4,
      blind_window_s: 900,
      retry_cooldown_s: 1800,
      keep_champions: 3,
      max_rollbacks: 2,
    });
    expect(r.guardrails.success_rate).toEqual({ enabled: true, floor_abs: 0.01, floor_rel: 0 });
    expect(r.drift).toMatchObject({ detector: 'page_hinkley', delta: 0.02, lambda: 40, direction: 'down' });
  });

  it('reports bad values with their path', () => {
    try {
      compileConfig({ rollout: { canary_weight: 0.6, guardrails: { p95_latency_ms: { floor_rel: 0.01 } }, bogus: 1 } });
      expect.unreachable();
    } catch (e) {
      expect(isUmbraError(e, 'E_CONFIG_INVALID')).toBe(true);
      const paths = (e as { details: { issues: { path: string }[] } }).details.issues.map((i) => i.path);
      expect(paths).toContain('rollout.canary_weight');
      expect(paths).toContain('rollout');
    }
    expect(() => rolloutConfig({ guardrails: { p95_latency_ms: { floor_rel: 0.01 } } })).toThrow(/twice latency_sketch_accuracy/);
    expect(rolloutConfig({ guardrails: { p95_latency_ms: { enabled: false, floor_rel: 0 } } }).guardrails.p95_latency_ms.enabled).toBe(false);
  });
});
