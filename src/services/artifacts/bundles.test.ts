/**
 * Bundles and the shared archive: `publish` puts every file of a bundle into the store, `ensure`
 * brings it into another directory byte for byte, and a file name from the store cannot leave the
 * bundle's directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { Bundles } from './bundles.js';

const dirs: string[] = [];
const temp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'umbra-bundles-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('Bundles with a shared archive', () => {
  it('publishes a bundle and fetches it into another directory byte for byte', async () => {
    const store = new MemoryStore();
    const src = temp();
    const art = join(src, 'route-abc.json');
    writeFileSync(art, '{"policy":"route","w":[0.25,-1e-9]}\n');
    const a = new Bundles(join(temp(), 'shadow_models'), store);
    const m = a.save({ route: art }, { origin: 'test', evaluation: { gates: { passed: true } } });
    const b = new Bundles(join(temp(), 'shadow_models'), store);
    expect(await b.ensure(m.version)).toBe(false); // not published yet
    await a.publish(m.version);
    expect(await b.ensure(m.version)).toBe(true);
    expect(readFileSync(b.artifacts(m.version).route!, 'utf8')).toBe(readFileSync(a.artifacts(m.version).route!, 'utf8'));
    expect(readFileSync(join(b.dir(m.version), 'manifest.json'), 'utf8')).toBe(readFileSync(join(a.dir(m.version), 'manifest.json'), 'utf8'));
    expect(b.read(m.version)).toEqual(m);
    // Without an archive nothing is fetched; with one but an unknown version, false.
    expect(await new Bundles(join(temp(), 'x')).ensure(m.version)).toBe(false);
    expect(await b.ensure('cand-000000000000')).toBe(false);
  });

  it('refuses a file name from the store that would leave the bundle directory', async () => {
    const store = new MemoryStore();
    await store.putBundle('cand-evil', { 'manifest.json': '{"version":"cand-evil","createdAt":"x","policies":{"route":"../../escape.json"}}', '../../escape.json': '{}' });
    const root = join(temp(), 'shadow_models');
    const b = new Bundles(root, store);
    await expect(b.ensure('cand-evil')).rejects.toMatchObject({ code: 'E_ARTIFACT_INVALID' });
    expect(existsSync(join(root, 'cand-evil', 'manifest.json'))).toBe(false);
    expect(existsSync(join(root, '..', 'escape.json'))).toBe(false);
  });
});
