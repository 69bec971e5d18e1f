/**
 * The decision service against hostile clients and crashes: slow-header and slow-body clients are
 * cut by the server's timeouts, long free text under any key never reaches the decision log, and
 * `kill -9` under load loses no acknowledged decision or outcome (the journal is replayed at start).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI } from '../helpers/cli.js';
import { projectRoot } from '../helpers/shared-data.js';
import { post, startTestServer } from '../helpers/server.js';
import type { RunningServer } from '../../src/app/serve.js';

const storeModule = (await import(pathToFileURL(join(projectRoot, 'dist', 'src', 'store', 'index.js')).href)) as typeof import('../../src/store/index.js');

let server: RunningServer | undefined;
const children: ChildProcess[] = [];
afterEach(async () => {
  await server?.close();
  server = undefined;
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** A client socket and when the server closed it: watched from the moment it connects, so a close that
 * comes while the test still opens other sockets is not missed. */
interface Watched {
  sock: Socket;
  /** Milliseconds from connect to close. */
  closed: Promise<number>;
}

/** Resolves with the milliseconds until the server closed the socket (or rejects after `maxMs`). */
function closedWithin(w: Watched, maxMs: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still open after ${maxMs} ms`)), maxMs);
    void w.closed.then((ms) => {
      clearTimeout(timer);
      resolve(ms);
    });
  });
}

function open(url: string): Promise<Watched> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port) }, () => {
      const t0 = Date.now();
      s.on('error', () => undefined);
      resolve({ sock: s, closed: new Promise((done) => s.once('close', () => done(Date.now() - t0))) });
    });
    s.once('error', reject);
  });
}

describe('the decision service against hostile clients', () => {
  it('cuts slow-header, slow-body and idle connections at their configured timeouts', async () => {
    server = await startTestServer({ server: { headers_timeout_ms: 400, request_timeout_ms: 800, idle_timeout_ms: 1500 } });
    const url = server.url;
    // slow headers: one header byte every 100 ms (each byte keeps the socket from being idle)
    const head0 = await open(url);
    const slowHead = head0.sock;
    const head = `POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: ${'a'.repeat(200)}\r\n`;
    let i = 0;
    const drip = setInterval(() => {
      if (!slowHead.destroyed && i < head.length) slowHead.write(head[i++]!);
    }, 100);
    // slow body: headers at once, then the body one byte every 100 ms
    const body0 = await open(url);
    const slowBody = body0.sock;
    const payload = JSON.stringify({ point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner'], baselineAction: 'micro' });
    slowBody.write(`POST /v1/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`);
    let j = 0;
    const dripBody = setInterval(() => {
      if (!slowBody.destroyed && j < payload.length - 1) slowBody.write(payload[j++]!);
    }, 100);
    // idle: connects and sends nothing
    const idle = await open(url);
    try {
      const [h, b, d] = await Promise.all([closedWithin(head0, 6000), closedWithin(body0, 6000), closedWithin(idle, 8000)]);
      expect(h).toBeLessThan(6000);
      expect(b).toBeLessThan(6000);
      expect(d).toBeLessThan(8000);
    } finally {
      clearInterval(drip);
      clearInterval(dripBody);
    }
    // and the service still answers well-behaved clients
    const ok = await post(`${url}/v1/decide`, JSON.parse(payload));
    expect(ok.status).toBe(200);
  }, 20_000);

  it('never stores long free text under any key in the decision log; short strings stay categories', async () => {
    server = await startTestServer({});
    const secret = 'Jag heter Anna Svensson och bor på Storgatan 12 i Västerås, ring mig på 070-1234567 i kväll';
    const r = await post(`${server.url}/v1/decide`, { id: 'p1', point: 'route', context: { text: secret, query: secret, note: secret, user_text: secret, lang: 'sv' }, actions: ['micro', 'planner'], baselineAction: 'micro' });
    expect(r.status).toBe(200);
    await server.engine.flush();
    const d = await server.store.getDecision('p1');
    expect(d).toBeDefined();
    const stored = JSON.stringify(d);
    expect(stored).not.toContain('Svensson');
    expect(d!.event.context).toMatchObject({ lang: 'sv', query_len: secret.length, note_len: secret.length, user_text_len: secret.length, text_len: secret.length });
    // an unknown decision point is refused with its stable code, naming the known ones
    const bogus = await post(`${server.url}/v1/decide`, { point: 'bogus', context: {}, actions: ['micro', 'planner'], baselineAction: 'micro' });
    expect(bogus.status).toBe(422);
    expect(bogus.body).toMatchObject({ error: { code: 'E_UNKNOWN_POINT', details: { points: ['cache', 'route', 'tool'] } } });
    // one huge text costs little: it is answered at once, not after featurising a megabyte
    const huge = await post(`${server.url}/v1/decide`, { point: 'route', context: { text: 'ord '.repeat(200_000) }, actions: ['micro', 'planner'], baselineAction: 'micro' });
    expect(huge.status).toBe(200);
    expect(huge.body.servedBy).not.toBe('fallback');
  });
});

/** Start `umbra serve` as a child process on a free port; resolves with its URL once it answers. */
async function serveChild(dataDir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [CLI, '--data-dir', dataDir, 'serve', '--port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${err}`)), 30_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString('utf8');
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`serve exited ${code}: ${err}`)));
  });
  return { child, url };
}

describe('acknowledged writes survive kill -9', () => {
  it('every decision answered 200 and every outcome answered 202 is stored exactly once after kill -9 and a restart', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'umbra-kill9-'));
    // a long commit window: without the journal, a crash would lose up to this much
    writeFileSync(join(dataDir, 'config.json'), JSON.stringify({ server: { log_commit_ms: 2000, log_flush_ms: 200 } }));
    const first = await serveChild(dataDir);
    const ackedDecisions = new Set<string>();
    const ackedOutcomes = new Set<string>();
    let stop = false;
    let n = 0;
    const worker = async (w: number): Promise<void> => {
      while (!stop) {
        const id = `k-${w}-${n++}`;
        try {
          const d = await post(`${first.url}/v1/decide`, { id, point: 'route', context: { lang: 'sv', n }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: `u${n % 50}` });
          if (d.status === 200) ackedDecisions.add(id);
          const o = await post(`${first.url}/v1/outcome`, { id, reward: 0.5, outcome: { success: true, latency_ms: 120 } });
          if (o.status === 202) ackedOutcomes.add(id);
        } catch {
          return; // the server is gone
        }
      }
    };
    const load = Promise.all(Array.from({ length: 24 }, (_, w) => worker(w)));
    await new Promise((r) => setTimeout(r, 1500));
    first.child.kill('SIGKILL');
    stop = true;
    await load;
    await new Promise<void>((r) => (first.child.exitCode !== null || first.child.signalCode !== null ? r() : first.child.once('exit', () => r())));
    expect(ackedDecisions.size).toBeGreaterThan(50);
    // restart: the journal is replayed into the store at start; then stop it cleanly
    const second = await serveChild(dataDir);
    const exited = new Promise<void>((r) => second.child.once('exit', () => r()));
    second.child.kill('SIGTERM');
    await exited;
    const store = storeModule.openSqliteStore(storeModule.storePath(dataDir));
    try {
      const seen = new Map<string, number>();
      for await (const d of store.decisions({})) seen.set(d.event.id, (seen.get(d.event.id) ?? 0) + 1);
      let withOutcome = 0;
      for (const id of ackedOutcomes) if ((await store.getOutcome(id))?.outcome.success === true) withOutcome++;
      const missing = [...ackedDecisions].filter((id) => !seen.has(id));
      expect(missing, `${missing.length} of ${ackedDecisions.size} acknowledged decisions missing`).toEqual([]);
      expect([...seen.values()].every((c) => c === 1)).toBe(true);
      expect(withOutcome, `${ackedOutcomes.size} acknowledged outcomes`).toBe(ackedOutcomes.size);
    } finally {
      await store.close();
    }
  }, 90_000);
});
