/**
 * What every command shares: the data directory, the effective config, and output that keeps
 * standard output for the result (one JSON object with --json) and standard error for the rest.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { compileConfig, type Config } from '../core/config/index.js';
import { readJsonFile } from '../platform/fs.js';

/** Global options every command inherits. */
export interface GlobalOptions {
  dataDir?: string;
  json?: boolean;
  config?: string;
}

/** The data directory: --data-dir, else UMBRA_HOME, else ./.umbra. */
export function dataDirOf(g: GlobalOptions): string {
  return resolve(g.dataDir ?? process.env.UMBRA_HOME ?? '.umbra');
}

/** Make sure the data directory exists and return it. */
export function ensureDataDir(g: GlobalOptions): string {
  const d = dataDirOf(g);
  mkdirSync(d, { recursive: true });
  return d;
}

/**
 * The effective config: the file given with --config, else `<data-dir>/config.json` when present,
 * else the defaults.
 */
export function loadConfig(g: GlobalOptions, explicit?: string): Config {
  const path = explicit ?? g.config ?? join(dataDirOf(g), 'config.json');
  if (explicit === undefined && g.config === undefined && !existsSync(path)) return compileConfig({});
  return compileConfig(readJsonFile(path, 'config file'), path);
}

/** Print the result: one JSON object on stdout with --json, else the human text on stdout. */
export function emit(g: GlobalOptions, value: unknown, human: () => string): void {
  if (g.json) process.stdout.write(`${JSON.stringify(value)}\n`);
  else process.stdout.write(`${human()}\n`);
}

/** Progress and notes for people: standard error, never in the way of machine output. */
export function note(msg: string): void {
  process.stderr.write(`${msg}\n`);
}

/** True when progress bars may be drawn (a terminal on stderr and no --json). */
export function interactive(g: GlobalOptions): boolean {
  return !g.json && process.stderr.isTTY === true && process.env.CI !== 'true';
}
