/**
 * `umbra serve --replicas N` on the shared store and stream: N processes answer on one port, a
 * replica killed with SIGKILL is started again while the others keep answering, every answered
 * decision reaches the stream, and SIGTERM stops them all.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { NATS_URL, scratchDatabase, scratchName, serviceAvailable } from '../helpers/services.js';

const up = (await serviceAvailable('postgres')) && (await serviceAvailable('nats'));
const streamModule = (await import(join(projectRoot, 'dist', 'src', 'store', 'stream', 'jetstream.js'))) as typeof import('../../src/store/stream/jetstream.js');

function workers(primary: number): number[] {
  try {
    return execFileSync('pgrep', ['-P', String(primary)], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!up)('umbra serve --replicas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-replicas-'));
  const tag = scratchName('r');
  const cleanups: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const f of cleanups.reverse()) await f().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers from every replica, restarts a killed one, and publishes every answered decision', async () => {
    const db = await scratchDatabase();
    cleanups.push(() => db.drop());
    const cfg = { store: { stream_name: tag.toUpperCase(), stream_subject: `${tag}.events`, stream_consumer: `${tag}_c` } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    cleanups.push(async () => {
      const s = await streamModule.EventStream.open({ url: NATS_URL, stream: tag.toUpperCase(), subject: `${tag}.events` });
      await s.destroy();
      await s.close();
    });
    const proc = spawn(process.execPath, [CLI, '--data-dir', dir, '--store', db.url, '--json', 'serve', '--port', '0', '--replicas', '2', '--stream', NATS_URL], { stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(async () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    });
    const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout! }).once('line', resolve));
    const url = (JSON.parse(line) as { url: string; replicas: number }).url;
    for (let i = 0; i < 50 && workers(proc.pid!).length < 2; i++) await sleep(100);
    const before = workers(proc.pid!);
    expect(before).toHaveLength(2);
    await sleep(1000); // both listening

    const answered: string[] = [];
    let failed = 0;
    const decide = async (id: string): Promise<void> => {
      try {
        const r = await fetch(`${url}/v1/decide`, { method: 'POST', signal: AbortSignal.timeout(3000), headers: { 'content-type': 'application/json', connection: 'close' }, body: JSON.stringify({ point: 'route', context: {}, actions: ['a', 'b'], baselineAction: 'a', stickyKey: id, id }) });
        if (r.status === 200) answered.push(((await r.json()) as { id: string }).id);
        else failed++;
      } catch (e) {
        if (process.env.UMBRA_DEBUG_FLEET) process.stderr.write(`DBG ${id}: ${(e as Error).message}\n`);
        failed++;
      }
    };
    for (let i = 0; i < 100; i++) await decide(`${tag}-a${i}`);
    expect(answered).toHaveLength(100);
    process.kill(before[0]!, 'SIGKILL');
    for (let i = 0; i < 100; i++) await decide(`${tag}-b${i}`);
    // Connections already handed to the killed replica fail; the other replica answers the rest.
    expect(answered.length).toBeGreaterThanOrEqual(195);
    let after: number[] = [];
    for (let i = 0; i < 100; i++) {
      after = workers(proc.pid!);
      if (after.length === 2 && !after.includes(before[0]!)) break;
      await sleep(100);
    }
    expect(after).toHaveLength(2);
    expect(after).not.toContain(before[0]!);

    const s = await streamModule.EventStream.open({ url: NATS_URL, stream: tag.toUpperCase(), subject: `${tag}.events` });
    try {
      expect(await s.messages()).toBeGreaterThanOrEqual(answered.length);
    } finally {
      await s.close();
    }
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    await exited;
    await sleep(300);
    expect(workers(proc.pid!)).toEqual([]);
    expect(failed).toBeLessThanOrEqual(5);
  }, 120_000);
});
