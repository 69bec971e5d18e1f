#!/usr/bin/env node
/**
 * The `umbra` entry point: builds the program, runs it, and maps every error to its stable code
 * and exit status (./run.ts).
 */
import { buildProgram } from './program.js';
import { handleFatal } from './run.js';

process.on('unhandledRejection', (e) => handleFatal(e));
try {
  await buildProgram().parseAsync(process.argv);
} catch (e) {
  handleFatal(e);
}
