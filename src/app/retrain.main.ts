/**
 * Process entry point: one shadow retraining in a child process (spawned by `childRetrainer` in
 * shadow.ts). Reads its job from argv, prints one JSON line `{ok: true, result}` or
 * `{ok: false, error}` and exits. It dies with its parent: a controller killed mid-retrain leaves
 * no orphan writing bundles.
 */
import { readFileSync } from 'node:fs';
import { compileConfig } from '../core/config/index.js';
import { toUmbraError } from '../core/errors.js';
import { compileSettings } from '../core/settings.js';
import { retrainOnce } from '../services/shadow/retrain.js';
import { withWired } from './context.js';

process.on('disconnect', () => process.exit(70));

async function main(): Promise<void> {
  const [dataDir, configPath, newEpisodes, scratchDir] = process.argv.slice(2);
  if (!dataDir || !configPath) throw new Error('usage: retrain.main DATA_DIR CONFIG_JSON NEW_EPISODES');
  const settings = compileSettings(compileConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath));
  const result = await withWired({ settings, dataDir }, (w) => retrainOnce({ store: w.store, settings, bundles: w.bundles, newEpisodes: Number(newEpisodes ?? 0), ...(scratchDir ? { scratchDir } : {}), note: (m) => process.stderr.write(`${m}\n`) }));
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const err = toUmbraError(e);
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message } })}\n`);
    process.exit(1);
  },
);
