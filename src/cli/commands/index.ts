/**
 * The command registry: one line per command module. Only commands that work are listed.
 */
import type { Command } from '@commander-js/extra-typings';
import { registerConfig } from './config.js';
import { registerIngest } from './ingest.js';
import { registerPipeline } from './pipeline.js';
import { registerPolicy } from './policy.js';
import { registerOpe } from './ope.js';
import { registerServe } from './serve.js';
import { registerAudit, registerRollout } from './rollout.js';
import { registerMonitor } from './monitor.js';
import { registerShadow } from './shadow.js';
import { registerBootstrap } from './bootstrap.js';
import { registerSimulate } from './simulate.js';
import { registerDemo } from './demo.js';
import { registerStore } from './store.js';

export function registerAll(program: Command): void {
  registerConfig(program);
  registerIngest(program);
  registerPipeline(program);
  registerPolicy(program);
  registerOpe(program);
  registerServe(program);
  registerRollout(program);
  registerAudit(program);
  registerMonitor(program);
  registerShadow(program);
  registerBootstrap(program);
  registerSimulate(program);
  registerDemo(program);
  registerStore(program);
}
