/**
 * What every command shares: the data directory, the effective settings, the wired parts from the
 * composition root, and output that keeps standard output for the result (one JSON object with
 * --json) and standard error for the rest.
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Config } from '../core/config/index.js';
import type { Settings } from '../core/settings.js';
import { loadSettings, storeFile, withWired, type StoreMode, type Wired } from '../app/context.js';
import { ErrorCode, UmbraError } from '../core/errors.js';

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

/** A data directory that exists as something else (a file) is refused before anything is written. */
function notAFile(d: string): void {
  if (existsSync(d) && !statSync(d).isDirectory()) throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `the data directory ${d} is a file, not a directory: give --data-dir a directory (or set UMBRA_HOME)`);
}

/**
 * Make sure the data directory exists and return it: for commands that write a store (ingest,
 * serve, shadow start, rollout register). Call it only after the input was validated, so that a
 * refused command leaves nothing behind.
 */
export function ensureDataDir(g: GlobalOptions): string {
  const d = dataDirOf(g);
  notAFile(d);
  try {
    mkdirSync(d, { recursive: true });
  } catch (e) {
    throw new UmbraError(ErrorCode.OUTPUT_UNWRITABLE, `cannot create the data directory ${d}: ${(e as Error).message}`);
  }
  return d;
}

/**
 * The data directory of a command that reads an existing store (status, history, verify, monitor,
 * shadow status, ...): E_NO_STORE when it holds none, naming the path and how to make one, so a
 * typo in --data-dir is never a fresh, empty store.
 */
export function existingDataDir(g: GlobalOptions, settings: Settings): string {
  const d = dataDirOf(g);
  const file = storeFile(settings, d);
  if (file === undefined) return d; // a database server's store: nothing local to look for
  if (existsSync(d) && !statSync(d).isDirectory()) throw new UmbraError(ErrorCode.NO_STORE, `the data directory ${d} is a file, not a directory holding a store`, { dataDir: d });
  if (!existsSync(file)) {
    const how = 'create one with `umbra ingest --telemetry FILE`, `umbra serve` or `umbra demo --data-dir DIR`, or point --data-dir (or UMBRA_HOME) at an existing one';
    throw new UmbraError(ErrorCode.NO_STORE, `no store in ${d} (no ${file}): ${how}`, { dataDir: d, store: file });
  }
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

/**
 * Run `fn` with the data directory's store and services wired (and closed afterwards). The store
 * must exist (E_NO_STORE otherwise) unless `create` is set: only commands that write data create one.
 */
export async function withApp<T>(g: GlobalOptions, fn: (w: Wired) => Promise<T>, mode?: StoreMode, create = false): Promise<T> {
  const settings = settingsFor(g);
  const dataDir = create ? ensureDataDir(g) : existingDataDir(g, settings);
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
