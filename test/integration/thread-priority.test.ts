import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';

const moduleUrl = pathToFileURL(join(projectRoot, 'dist', 'src', 'services', 'thread-priority.js')).href;

/** Run lowerThreadPriority(n) in a fresh worker thread; what it returned and the thread's niceness. */
function inWorker(n: number): Promise<{ returned: number | null; niceness: number }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const os = require('node:os');
    import(${JSON.stringify(moduleUrl)}).then(({ lowerThreadPriority }) => {
      const r = lowerThreadPriority(${n});
      parentPort.postMessage({ returned: r === undefined ? null : r, niceness: os.getPriority() });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (m: { returned: number | null; niceness: number }) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

describe.runIf(process.platform === 'linux')('thread priority', () => {
  it('lowers the calling worker thread only, never the main thread (the event loop)', async () => {
    const before = os.getPriority();
    const r = await inWorker(7);
    expect(r.returned).toBe(Math.max(before, 7));
    expect(r.niceness).toBe(Math.max(before, 7));
    expect(os.getPriority()).toBe(before);
  });

  it('does nothing for 0 and never raises a priority', async () => {
    const before = os.getPriority();
    expect(await inWorker(0)).toEqual({ returned: null, niceness: before });
    const r = await inWorker(-5);
    expect(r.niceness).toBe(before);
  });
});
