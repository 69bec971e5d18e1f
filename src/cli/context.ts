/**
 * What every command shares: the data directory, the effective settings, the wired parts from the
 * composition root, and output that keeps standard output for the result (one JSON object with
 * --json) and standard error for the rest.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../core/config/index.js';
import type { Settings } from '../core/settings.js';
import { loadSettings, withWired, type StoreMode, type Wired } from '../app/context.js';

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
 * The effective settings: the file given with `explicit` or --config, else `<data-dir>/config.json`
 * when present, else the defaults.
 */
export function settingsFor(g: GlobalOptions, explicit?: string): Settings {
  return loadSettings({ dataDir: dataDirOf(g), configPath: explicit ?? g.config });
}

/** The effective config (see `settingsFor`). */
export function loadConfig(g: GlobalOptions, explicit?: string): Config {
  return settingsFor(g, explicit).config;
}

/** Run `fn` with the data directory's store and services wired (and closed afterwards). */
export async function withApp<T>(g: GlobalOptions, fn: (w: Wired) => Promise<T>, mode?: StoreMode): Promise<T> {
  const settings = settingsFor(g);
  const dataDir = ensureDataDir(g);
  return withWired({ settings, dataDir, ...(mode === undefined ? {} : { mode }) }, fn);
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
