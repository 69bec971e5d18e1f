/**
 * Run the built CLI as a real process (tests run after `npm run build`).
 */
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from './shared-data.js';

export const CLI = join(projectRoot, 'dist', 'src', 'cli', 'main.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Run `umbra ...args` synchronously. */
export function umbra(args: string[], opts: SpawnSyncOptions = {}): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 120_000, ...opts });
  return { status: r.status ?? -1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
}

/** Run and parse the JSON object on stdout (asserting exit 0). */
export function umbraJson<T = Record<string, unknown>>(args: string[], opts: SpawnSyncOptions = {}): T {
  const r = umbra([...args, '--json'], opts);
  if (r.status !== 0) throw new Error(`umbra ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}
