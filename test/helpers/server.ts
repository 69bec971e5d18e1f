/**
 * Start the real decision service (compiled) on a free loopback port for integration tests, with
 * a throwaway data directory and optional fault-injecting policies.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { projectRoot } from './shared-data.js';
import type { RunningServer, ServeOptions } from '../../src/app/serve.js';
import type { ConfigInput } from '../../src/core/config/index.js';
import { tempDir } from './tmp.js';

const dist = (p: string): string => pathToFileURL(join(projectRoot, 'dist', 'src', p)).href;

/** The compiled modules (workers need compiled JS). */
export const serverModule = (await import(dist('app/serve.js'))) as typeof import('../../src/app/serve.js');
export const bundlesModule = (await import(dist('services/artifacts/bundles.js'))) as typeof import('../../src/services/artifacts/bundles.js');
export const configModule = (await import(dist('core/config/index.js'))) as typeof import('../../src/core/config/index.js');
export const settingsModule = (await import(dist('core/settings.js'))) as typeof import('../../src/core/settings.js');

export const faultLoaderUrl = pathToFileURL(join(projectRoot, 'test', 'fixtures', 'fault-loader.mjs')).href;

/** Start a server on 127.0.0.1:0 in a fresh data directory. */
export async function startTestServer(cfg: ConfigInput = {}, o: Partial<ServeOptions> = {}): Promise<RunningServer> {
  const dataDir = tempDir('umbra-srv-');
  const settings = settingsModule.settingsOf(cfg);
  const s = await serverModule.startServer({ settings, dataDir, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000, ...o });
  return s;
}

/**
 * Make a bundle whose route policy behaves as `behaviour` (see test/fixtures/fault-loader.mjs).
 * The scratch folder of its artifact is pushed to `track`, when given, for the caller to remove.
 */
export function faultBundle(dataDir: string, cfg: ConfigInput, behaviour: string, track?: string[]): string {
  const dir = tempDir('umbra-art-');
  track?.push(dir);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${behaviour.replace(':', '_')}.json`);
  writeFileSync(file, JSON.stringify({ fixture: behaviour }));
  return bundlesModule.Bundles.of(dataDir, configModule.compileConfig(cfg)).save({ route: file }).version;
}

/** POST JSON and parse the answer. */
export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
