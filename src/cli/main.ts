#!/usr/bin/env node
/**
 * The `umbra` command line. Each command lives in its own module under ./commands and registers
 * itself on the program; errors are mapped to exit statuses in one place (./run.ts).
 */
import { Command } from '@commander-js/extra-typings';
import { registerAll } from './commands/index.js';
import { VERSION } from '../version.js';
import { handleFatal } from './run.js';

export function buildProgram(): Command {
  const program = new Command('umbra')
    .description('Learn routing policies in the shadow of production, prove them off-policy, roll them out safely.')
    .version(VERSION, '-V, --version')
    .option('--data-dir <dir>', 'data directory (default: $UMBRA_HOME or ./.umbra)')
    .option('--json', 'print one JSON object on standard output')
    .option('--config <file>', 'config file (default: <data-dir>/config.json when present)')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  program.exitOverride();
  registerAll(program);
  return program;
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    handleFatal(e);
  }
}

process.on('unhandledRejection', (e) => handleFatal(e));
void main();
