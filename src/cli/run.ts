/**
 * Command plumbing: a wrapper that turns any thrown error into a stable code on stderr and the
 * mapped exit status, and a helper to read the global options from any sub-command.
 */
import { CommanderError } from '@commander-js/extra-typings';
import { EXIT_STATUS, ErrorCode, UmbraError, toUmbraError } from '../core/errors.js';
import type { GlobalOptions } from './context.js';

/** The global options (--data-dir, --json, --config) as seen from any command. */
export function globalsOf(cmd: { optsWithGlobals(): object }): GlobalOptions {
  const o = cmd.optsWithGlobals() as Record<string, unknown>;
  const g: GlobalOptions = {};
  if (typeof o.dataDir === 'string') g.dataDir = o.dataDir;
  if (o.json === true) g.json = true;
  if (typeof o.config === 'string') g.config = o.config;
  return g;
}

let jsonErrors = process.argv.includes('--json');

/** Print an error with its code to stderr and exit with the mapped status. */
export function handleFatal(e: unknown): never {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') process.exit(0);
    const err = new UmbraError(ErrorCode.USAGE, e.message.replace(/^error: /, ''));
    writeError(err);
    process.exit(EXIT_STATUS[err.code]);
  }
  const err = toUmbraError(e);
  writeError(err);
  if (err.code === ErrorCode.INTERNAL && e instanceof Error && process.env.UMBRA_DEBUG) process.stderr.write(`${e.stack}\n`);
  process.exit(EXIT_STATUS[err.code]);
}

function writeError(err: UmbraError): void {
  if (jsonErrors) process.stderr.write(`${JSON.stringify(err.toJSON())}\n`);
  else process.stderr.write(`umbra: ${err.code}: ${err.message}\n`);
}

/** For tests: choose the error format explicitly. */
export function setJsonErrors(on: boolean): void {
  jsonErrors = on;
}
