/**
 * Entry point of the retraining child process (see retrain.ts). Reads its job from argv, prints
 * one JSON line `{ok: true, result}` or `{ok: false, error}` and exits. It dies with its parent:
 * a controller killed mid-retrain leaves no orphan writing bundles.
 */
import { readFileSync } from 'node:fs';
import { compileConfig } from '../core/config/index.js';
import { toUmbraError } from '../core/errors.js';
import { openDataStore } from '../store/index.js';
import { retrainOnce } from './retrain.js';

process.on('disconnect', () => process.exit(70));

async function main(): Promise<void> {
  const [dataDir, configPath, newEpisodes] = process.argv.slice(2);
  if (!dataDir || !configPath) throw new Error('usage: retrain-child DATA_DIR CONFIG_JSON NEW_EPISODES');
  const config = compileConfig(JSON.parse(readFileSync(configPath, 'utf8')), configPath);
  const store = openDataStore(dataDir, config);
  try {
    const result = await retrainOnce({ store, config, dataDir, newEpisodes: Number(newEpisodes ?? 0), note: (m) => process.stderr.write(`${m}\n`) });
    process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`);
  } finally {
    await store.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    const err = toUmbraError(e);
    process.stdout.write(`${JSON.stringify({ ok: false, error: { code: err.code, message: err.message } })}\n`);
    process.exit(1);
  },
);
