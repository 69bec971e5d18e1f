/**
 * Where the shared real-world data lives: $UMBRA_SHARED_DATA, else ../shared/data beside the
 * project. Under CI a missing folder fails loudly; elsewhere the caller may skip.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The project root (where package.json is). */
export const projectRoot = root;

/** The shared data folder, or undefined when it is absent (never undefined under CI: it throws). */
export function sharedDataDir(): string | undefined {
  const dir = process.env.UMBRA_SHARED_DATA ?? join(root, '..', 'shared', 'data');
  if (existsSync(dir)) return dir;
  if (process.env.CI === 'true') throw new Error(`shared data folder missing: ${dir} (set UMBRA_SHARED_DATA)`);
  return undefined;
}

/** The path of a file in the shared data folder; throws when the folder or file is missing. */
export function sharedFile(...parts: string[]): string {
  const dir = sharedDataDir();
  if (dir === undefined) throw new Error('shared data folder missing (set UMBRA_SHARED_DATA)');
  const p = join(dir, ...parts);
  if (!existsSync(p)) throw new Error(`shared data file missing: ${p}`);
  return p;
}

/** True when the shared data is available (use with it.skipIf outside CI). */
export const hasSharedData = (() => {
  try {
    return sharedDataDir() !== undefined;
  } catch {
    return false;
  }
})();
