/**
 * The README promises Node 20: every package the lockfile installs must accept the Node version
 * range that package.json declares, so `npm ci` prints no EBADENGINE warning on a supported Node.
 * (A dependency that wanted a newer Node is pinned by `overrides` in package.json.)
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import semver from 'semver';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');
const manifest = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(resolve(root, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { engines?: { node?: string } | string[]; dev?: boolean }>;
};

describe('engines', () => {
  it('every locked package accepts the lowest Node version package.json supports', () => {
    const lowest = semver.minVersion(manifest.engines.node);
    expect(lowest).not.toBeNull();
    const refusing: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
      if (path === '' || range === undefined) continue;
      if (!semver.satisfies(lowest!, range)) refusing.push(`${path.replace(/^.*node_modules\//, '')} wants node ${range}`);
    }
    expect(refusing).toEqual([]);
  });
});
