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

/**
 * A message as it may be printed: control characters (NUL, escape sequences, ...) from user input
 * are shown as `\uXXXX` escapes, never written raw to a terminal; very long messages are cut.
 */
export function safeText(s: string, max = 8000): string {
  // eslint-disable-next-line no-control-regex
  const clean = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return clean.length > max ? `${clean.slice(0, max)}… (${clean.length - max} more characters)` : clean;
}

/** Print an error with its code to stderr and exit with the mapped status. */
export function handleFatal(e: unknown): never {
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || (e.code === 'commander.help' && e.exitCode === 0)) process.exit(0);
    // A command group without its sub-command (`umbra rollout`): the help was shown on stderr; a usage error.
    const msg = e.code === 'commander.help' ? 'missing sub-command: choose one of the commands listed above' : `${e.message.replace(/^error: /, '')} (see --help)`;
    const err = new UmbraError(ErrorCode.USAGE, safeText(msg));
    writeError(err);
    process.exit(EXIT_STATUS[err.code]);
  }
  const raw = toUmbraError(e);
  const err = new UmbraError(raw.code, safeText(raw.message), raw.details);
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
