/**
 * The last line of .ci/run, "N passed, N failed", adds up vitest's report, the checks (lint,
 * typecheck, promtool) and other suites' JSON counts (the Python client's), and the run fails
 * when anything failed or a suite left no results.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from './helpers/shared-data.js';

const dir = mkdtempSync(join(tmpdir(), 'umbra-ci-summary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function summary(args: string[]): { line: string; status: number } {
  const r = spawnSync(process.execPath, [join(projectRoot, 'scripts', 'ci-summary.mjs'), ...args], { encoding: 'utf8' });
  return { line: r.stdout.trim(), status: r.status ?? -1 };
}
function file(name: string, value: unknown): string {
  const p = join(dir, name);
  writeFileSync(p, JSON.stringify(value));
  return p;
}

describe('scripts/ci-summary.mjs', () => {
  const vitest = file('vitest.json', { numPassedTests: 40, numFailedTests: 0, numPendingTests: 1, testResults: [] });

  it('adds the checks and the Python suite to vitest’s counts', () => {
    const py = file('py.json', { passed: 13, failed: 0, skipped: 0 });
    expect(summary([vitest, '--extra-failed', '0', '--extra-passed', '2', '--suite', py])).toEqual({ line: '55 passed, 0 failed, 1 skipped', status: 0 });
  });

  it('fails the run when a Python test or a check failed', () => {
    const py = file('py-red.json', { passed: 12, failed: 1, skipped: 0 });
    expect(summary([vitest, '--extra-failed', '0', '--suite', py])).toEqual({ line: '52 passed, 1 failed, 1 skipped', status: 1 });
    expect(summary([vitest, '--extra-failed', '1', '--extra-passed', '1'])).toEqual({ line: '41 passed, 1 failed, 1 skipped', status: 1 });
  });

  it('counts a suite without results, or one that ran nothing, as a failure', () => {
    expect(summary([vitest, '--suite', join(dir, 'missing.json')]).line).toBe('40 passed, 1 failed, 1 skipped');
    expect(summary([vitest, '--suite', file('empty.json', { passed: 0, failed: 0, skipped: 0 })]).status).toBe(1);
  });

  it('still reads the older form with the failed checks as second argument', () => {
    expect(summary([vitest, '2'])).toEqual({ line: '40 passed, 2 failed, 1 skipped', status: 1 });
  });
});
