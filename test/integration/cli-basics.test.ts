import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { umbra } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { VERSION } from '../../src/version.js';
import { tempDir } from '../helpers/tmp.js';

describe('umbra CLI shell', () => {
  it('prints help and the package version', () => {
    const h = umbra(['--help']);
    expect(h.status).toBe(0);
    expect(h.stdout).toContain('Usage: umbra');
    const v = umbra(['--version']);
    expect(v.stdout.trim()).toBe(VERSION);
    const pkg = JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')) as { version: string };
    expect(pkg.version).toBe(VERSION);
  });
  it('reports an unknown command as E_USAGE with exit 2', () => {
    const r = umbra(['frobnicate']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_USAGE');
  });
  it('config check: valid file exits 0, invalid lists paths with exit 3', () => {
    const dir = tempDir('umbra-cfg-');
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, JSON.stringify({ shadow_mode: { retrain_interval_hours: 1 } }));
    writeFileSync(bad, JSON.stringify({ promotion_criteria: { min_policy_value: 'high' } }));
    expect(umbra(['config', 'check', good]).status).toBe(0);
    const r = umbra(['config', 'check', bad, '--json']);
    expect(r.status).toBe(3);
    const err = JSON.parse(r.stderr) as { error: { code: string; details: { issues: { path: string }[] } } };
    expect(err.error.code).toBe('E_CONFIG_INVALID');
    expect(err.error.details.issues[0]!.path).toBe('promotion_criteria.min_policy_value');
    const missing = umbra(['config', 'check', join(dir, 'nope.json')]);
    expect(missing.status).toBe(5);
    expect(missing.stderr).toContain('E_INPUT_NOT_FOUND');
  });
  it('config print gives the effective config with defaults', () => {
    const r = umbra(['config', 'print']);
    expect(r.status).toBe(0);
    const c = JSON.parse(r.stdout) as { promotion_criteria: { min_episodes: number } };
    expect(c.promotion_criteria.min_episodes).toBe(100);
  });
});
