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

/** Scheduling policy (5 is SCHED_IDLE) and niceness of every thread of this process (Linux). */
function threads(): { policy: number; nice: number }[] {
  return readdirSync('/proc/self/task').flatMap((t) => {
    try {
      const stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      return [{ policy: Number(f[41 - 3]), nice: Number(f[19 - 3]) }];
    } catch {
      return []; // the thread ended meanwhile
    }
  });
}

describe.runIf(process.platform === 'linux' && hasChrt)('the decision service', () => {
  it('runs shadow scoring as an idle-only thread and its store thread at niceness 5, nothing else', async () => {
    const idle = (): number => threads().filter((t) => t.policy === 5).length;
    const niced = (): number => threads().filter((t) => t.policy !== 5 && t.nice === 5).length;
    const before = { idle: idle(), niced: niced() };
    const server = await startTestServer();
    try {
      await server.store.counts(); // the store thread is up
      const deadline = Date.now() + 5000;
      while ((idle() < before.idle + 1 || niced() < before.niced + 1) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect({ idle: idle(), niced: niced() }).toEqual({ idle: before.idle + 1, niced: before.niced + 1 });
    } finally {
      await server.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
