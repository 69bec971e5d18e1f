/**
 * The decision client against a real HTTP server on 127.0.0.1 that answers, hangs, errors, sends
 * nonsense, and is down: `decide` always resolves, to the server's answer or to the baseline.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecisionClient } from '../../src/client/index.js';
import type { DecideRequest } from '../../src/core/api.js';

type Mode = 'answer' | 'hang' | 'error' | 'garbage' | 'wrong-action' | 'bad-shape' | 'slow-body';

let server: Server;
let base = '';
let mode: Mode = 'answer';
const seen: { path: string; body: unknown }[] = [];
const hanging: ServerResponse[] = [];

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => resolve(s));
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    void body(req).then((text) => {
      const parsed = JSON.parse(text) as { id?: string; baselineAction?: string };
      seen.push({ path: req.url ?? '', body: parsed });
      if (req.url === '/v1/outcome') {
        res.writeHead(mode === 'error' ? 500 : 202, { 'content-type': 'application/json' }).end('{"ok":true}');
        return;
      }
      switch (mode) {
        case 'answer':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ id: parsed.id, action: 'deep', propensity: 0.95, servedBy: 'canary', stage: 'canary', policyVersion: 'linucb@abc' }));
          return;
        case 'hang':
          hanging.push(res);
          return;
        case 'error':
          res.writeHead(503).end('overloaded');
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"action": "deep", ');
          return;
        case 'wrong-action':
          res.writeHead(200).end(JSON.stringify({ id: parsed.id, action: 'gpt-9', propensity: 1, servedBy: 'production', stage: 'production', policyVersion: 'x' }));
          return;
        case 'bad-shape':
          res.writeHead(200).end(JSON.stringify({ id: parsed.id, action: 'deep', propensity: 0, servedBy: 'production', stage: 'production', policyVersion: 'x' }));
          return;
        case 'slow-body':
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"id":');
          hanging.push(res);
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of hanging) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const req: DecideRequest = { point: 'route', context: { text: 'Hej', lang: 'sv' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'u-1', id: 'trace-1' };

describe('decision client', () => {
  it('returns the service answer when it answers in time', async () => {
    mode = 'answer';
    const c = createDecisionClient({ baseUrl: `${base}/`, timeoutMs: 2000 });
    const r = await c.decide(req);
    expect(r).toEqual({ id: 'trace-1', action: 'deep', propensity: 0.95, servedBy: 'canary', stage: 'canary', policyVersion: 'linucb@abc' });
    expect(seen.at(-1)).toEqual({ path: '/v1/decide', body: req });
    expect(c.stats()).toMatchObject({ decides: 1, fallbacks: 0 });
  });

  it('falls back to the baseline when the service hangs (timeout) or the body never ends', async () => {
    for (const m of ['hang', 'slow-body'] as const) {
      mode = m;
      const c = createDecisionClient({ baseUrl: base, timeoutMs: 50 });
      const r = await c.decide(req);
      expect(r, m).toEqual({ id: 'trace-1', action: 'planner', propensity: 1, servedBy: 'fallback', stage: 'unknown', policyVersion: 'baseline', reason: 'timeout' });
    }
  });

  it('falls back on an error status, a broken body, an unknown action and a broken contract', async () => {
    const cases: [Mode, string][] = [
      ['error', 'http_503'],
      ['garbage', 'invalid_body'],
      ['wrong-action', 'invalid_action'],
      ['bad-shape', 'invalid_body'],
    ];
    for (const [m, reason] of cases) {
      mode = m;
      const c = createDecisionClient({ baseUrl: base, timeoutMs: 2000 });
      const r = await c.decide(req);
      expect(r, m).toMatchObject({ action: 'planner', propensity: 1, servedBy: 'fallback', reason });
      expect(c.stats().reasons, m).toEqual({ [reason]: 1 });
    }
  });

  it('falls back when the service is down, and never rejects', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const c = createDecisionClient({ baseUrl: `http://127.0.0.1:${port}`, timeoutMs: 500 });
    const r = await c.decide(req);
    expect(r).toMatchObject({ action: 'planner', servedBy: 'fallback', reason: 'network' });
    await expect(c.outcome({ id: 'trace-1', outcome: { success: true } })).resolves.toMatchObject({ ok: false, reason: 'network' });
    // An injected fetch that throws synchronously or rejects is survived as well.
    const broken = createDecisionClient({
      baseUrl: base,
      fetch: () => {
        throw new Error('boom');
      },
    });
    const { id: _id, ...withoutId } = req;
    await expect(broken.decide(withoutId)).resolves.toMatchObject({ action: 'planner', servedBy: 'fallback', id: '' });
  });

  it('reports outcomes and says whether they arrived', async () => {
    mode = 'answer';
    const c = createDecisionClient({ baseUrl: base });
    await expect(c.outcome({ id: 'trace-1', outcome: { success: true, latency_ms: 120 } })).resolves.toEqual({ ok: true, status: 202 });
    expect(seen.at(-1)).toEqual({ path: '/v1/outcome', body: { id: 'trace-1', outcome: { success: true, latency_ms: 120 } } });
    mode = 'error';
    await expect(c.outcome({ id: 'trace-1', reward: 0.5 })).resolves.toEqual({ ok: false, status: 500, reason: 'http_500' });
    expect(c.stats()).toMatchObject({ outcomes: 2, outcomeFailures: 1 });
  });
});
