import { readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';
import { startTestServer } from '../helpers/server.js';

const moduleUrl = pathToFileURL(join(projectRoot, 'dist', 'src', 'platform', 'thread-priority.js')).href;

/** Run lowerThreadPriority in a fresh worker thread: what it returned and the thread's niceness after. */
function inWorker(priority: string, niceness?: number): Promise<{ returned: number | null; niceness: number }> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const os = require('node:os');
    import(${JSON.stringify(moduleUrl)}).then(({ lowerThreadPriority }) => {
      const r = lowerThreadPriority(${JSON.stringify(priority)}${niceness === undefined ? '' : `, ${niceness}`});
      parentPort.postMessage({ returned: r ?? null, niceness: os.getPriority() });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (m: { returned: number | null; niceness: number }) => {
      void w.terminate().then(() => resolve(m));
    });
    w.once('error', reject);
  });
}

/** The niceness of every thread of this process (Linux). */
function nicenesses(): number[] {
  return readdirSync('/proc/self/task').flatMap((t) => {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19 - 3])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe.runIf(process.platform === 'linux')('background thread priority', () => {
  it('low: raises the niceness of the calling worker thread only, never of the main thread (the event loop)', async () => {
    const before = os.getPriority();
    expect(await inWorker('low', 7)).toEqual({ returned: Math.max(before, 7), niceness: Math.max(before, 7) });
    expect(os.getPriority()).toBe(before);
  });

  it('normal changes nothing, and a priority is never raised', async () => {
    const before = os.getPriority();
    expect(await inWorker('normal')).toEqual({ returned: null, niceness: before });
    expect((await inWorker('low', -5)).niceness).toBe(before);
  });

  it('the decision service runs shadow scoring at niceness 10 and its store thread at 5, nothing else', async () => {
    const count = (n: number): number => nicenesses().filter((x) => x === n).length;
    const before = { ten: count(10), five: count(5) };
    const server = await startTestServer();
    try {
      await server.store.counts(); // the store thread is up
      const deadline = Date.now() + 5000;
      while ((count(10) < before.ten + 1 || count(5) < before.five + 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect({ ten: count(10), five: count(5) }).toEqual({ ten: before.ten + 1, five: before.five + 1 });
      expect(os.getPriority()).toBe(0);
    } finally {
      await server.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
