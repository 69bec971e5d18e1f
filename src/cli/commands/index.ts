/**
 * The command registry: one line per command module. Only commands that work are listed.
 */
import type { Command } from '@commander-js/extra-typings';
import { registerConfig } from './config.js';

export function registerAll(program: Command): void {
  registerConfig(program);
}
