/**
 * `umbra store migrate`: apply the store's pending schema migrations (every process also does on
 * start; this lets a deployment migrate once, before rolling out new replicas) and print the
 * schema version. PostgreSQL applies them under an advisory lock, so racing callers are safe.
 */
import { Command } from '@commander-js/extra-typings';
import { migrateStore } from '../../app/context.js';
import { emit, ensureDataDir, settingsFor } from '../context.js';
import { globalsOf } from '../run.js';

export function registerStore(program: Command): void {
  const store = new Command('store').description('the store: schema migrations');
  store
    .command('migrate')
    .description('apply pending schema migrations once (PostgreSQL: under an advisory lock) and print the schema version; the password of the URL is never printed')
    .action(async (_opts, cmd) => {
      const g = globalsOf(cmd);
      const r = await migrateStore(settingsFor(g), ensureDataDir(g));
      emit(g, r, () => `${r.kind} store at ${r.location}: schema version ${r.version}\n${r.migrations.map((m) => `  ${m.version} ${m.name} (applied ${m.appliedAt})`).join('\n')}`);
    });
  program.addCommand(store);
}
