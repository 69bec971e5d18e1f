/**
 * The `umbra` program definition, separate from the entry point so that docs and tests can walk
 * every command's help without running anything.
 */
import { Command } from '@commander-js/extra-typings';
import { registerAll } from './commands/index.js';
import { VERSION } from '../version.js';

export function buildProgram(): Command {
  const program = new Command('umbra')
    .description('Learn routing policies in the shadow of production, prove them off-policy, roll them out safely.')
    .version(VERSION, '-V, --version')
    .option('--data-dir <dir>', 'data directory (default: $UMBRA_HOME or ./.umbra)')
    .option('--json', 'print one JSON object on standard output')
    .option('--config <file>', 'config file (default: <data-dir>/config.json when present)')
    .option('--store <url>', 'the store of every command and service: postgres://user:password@host:port/db[?schema=NAME] (default: $UMBRA_STORE_URL, store.url, else SQLite in the data directory)')
    // Errors are printed once, by the entry point, as `umbra: E_USAGE: message` (./run.ts).
    .configureOutput({ outputError: () => undefined });
  // One setting selects the store: --store becomes UMBRA_STORE_URL, so that every process this one
  // starts (replicas, retraining, policy workers) opens the same store.
  program.hook('preAction', (cmd) => {
    const url = (cmd.opts() as { store?: unknown }).store;
    if (typeof url === 'string' && url.trim() !== '') process.env.UMBRA_STORE_URL = url.trim();
  });
  registerAll(program);
  // Every command, including those added with addCommand (which inherit nothing), hands its
  // errors to the entry point instead of exiting on its own.
  const walk = (cmd: Command): void => {
    cmd.exitOverride();
    cmd.configureOutput({ outputError: () => undefined });
    for (const sub of cmd.commands as Command[]) walk(sub);
  };
  walk(program);
  return program;
}

/** Every command path with its help text, depth first (used to generate docs/cli.md). */
export function helpTexts(): { path: string; help: string }[] {
  const out: { path: string; help: string }[] = [];
  const walk = (cmd: Command, prefix: string): void => {
    const path = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
    out.push({ path, help: cmd.helpInformation({ error: false }) });
    for (const sub of cmd.commands as Command[]) if (sub.name() !== 'help') walk(sub, path);
  };
  walk(buildProgram(), '');
  return out;
}
