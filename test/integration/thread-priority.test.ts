import { spawnSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { projectRoot } from '../helpers/shared-data.js';
import { startTestServer } from '../helpers/server.js';

const moduleUrl = pathToFileURL(join(projectRoot, 'dist', 'src', 'services', 'thread-priority.js')).href;
const hasChrt = spawnSync('chrt', ['--help'], { stdio: 'ignore' }).status === 0;

interface Seen {
  returned: { policy: string; niceness: number } | null;
  after: { policy: string; niceness: number } | null;
}

/** Run lowerThreadPriority in a fresh worker thread: what it returned and what /proc says after. */
function inWorker(priority: string, niceness?: number): Promise<Seen> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    import(${JSON.stringify(moduleUrl)}).then(({ lowerThreadPriority, threadScheduling }) => {
      const r = lowerThreadPriority(${JSON.stringify(priority)}${niceness === undefined ? '' : `, ${niceness}`});
      parentPort.postMessage({ returned: r ?? null, after: threadScheduling() ?? null });
    });`;
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true });
    w.once('message', (m: Seen) => {
      void w.terminate().then(() => resolve(m));
    });
    w.once('error', reject);
  });
}

describe.runIf(process.platform === 'linux')('background thread priority', () => {
  it('idle: the calling worker thread runs under SCHED_IDLE (niceness 19 without chrt), the main thread is untouched', async () => {
    const before = os.getPriority();
    const r = await inWorker('idle');
    expect(r.after).toEqual({ policy: hasChrt ? 'idle' : 'other', niceness: 19 });
    expect(r.returned).toEqual(r.after);
    expect(os.getPriority()).toBe(before);
  });

  it('low: a higher niceness for that thread only; normal changes nothing; never raises a priority', async () => {
    const before = os.getPriority();
    expect((await inWorker('low', 7)).after).toEqual({ policy: 'other', niceness: Math.max(before, 7) });
    expect(await inWorker('normal')).toEqual({ returned: null, after: { policy: 'other', niceness: before } });
    expect((await inWorker('low', -5)).after).toEqual({ policy: 'other', niceness: before });
    expect(os.getPriority()).toBe(before);
  });
});

/** Scheduling policy of every thread of this process (Linux): 5 is SCHED_IDLE. */
function threadPolicies(): number[] {
  return readdirSync('/proc/self/task').flatMap((t) => {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      return [Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[41 - 3])];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe.runIf(process.platform === 'linux' && hasChrt)('the decision service', () => {
  it('runs its shadow-scoring and store threads as idle background threads, and no other', async () => {
    const before = threadPolicies().filter((p) => p === 5).length;
    const server = await startTestServer();
    try {
      // Both background threads have started (the store answered; the shadow host is spawned at start).
      await server.store.counts();
      const deadline = Date.now() + 5000;
      while (threadPolicies().filter((p) => p === 5).length < before + 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(threadPolicies().filter((p) => p === 5).length).toBe(before + 2);
    } finally {
      await server.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
