/**
 * The contract test: every request example in the OpenAPI document (schemas/openapi.json) is sent
 * to a real decision service, and each answer must have the status the example names, be a
 * documented response of its operation, and match that response's schema. Admin endpoints are
 * also called without the token (401, documented). The served `/openapi.json` is the committed
 * file, and every route the server has is in it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';
import { faultBundle, faultLoaderUrl, startTestServer } from '../helpers/server.js';
import { documentedCases, schemaChecker, type DocumentedCase } from '../helpers/openapi.js';
import type { RunningServer } from '../../src/app/serve.js';

type Json = Record<string, unknown>;

const doc = JSON.parse(readFileSync(join(projectRoot, 'schemas', 'openapi.json'), 'utf8')) as Json;
const check = schemaChecker(doc);
const TOKEN = 'contract-test-admin-token';
const cfg = { server: { admin_token: TOKEN } };

let s: RunningServer;
let fresh = 0;

/** The state the admin examples assume: a fresh candidate in shadow whose gates have not passed. */
async function candidateInShadow(): Promise<void> {
  await s.rollout.apply({ type: 'abort', actor: 'contract-test', reason: 'reset for the next example' }).catch(() => undefined);
  const version = faultBundle(s.dataDir, cfg, `ok:contract${fresh++}`);
  await s.rollout.apply({ type: 'register', id: version, actor: 'contract-test' });
  await s.rollout.apply({ type: 'start_shadow', gates: { passed: true, summary: 'contract test' }, actor: 'contract-test' });
  await s.engine.refresh();
}

function operation(c: { path: string; method: string }): Json {
  return ((doc.paths as Record<string, Json>)[c.path]![c.method] as Json);
}

/** Read the first server-sent event of a stream, then hang up. */
async function firstEvent(res: Response): Promise<{ event: string; data: string }> {
  const reader = res.body!.getReader();
  let text = '';
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      const block = text.split('\n\n').find((b) => b.includes('data: '));
      if (block !== undefined && text.includes(`${block}\n\n`)) {
        const lines = block.split('\n');
        return { event: lines.find((l) => l.startsWith('event: '))?.slice(7) ?? 'message', data: lines.filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n') };
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  throw new Error('the stream ended before its first event');
}

/** Send one documented case; check the status, that it is documented, and the body against its schema. */
async function send(c: DocumentedCase, opts: { token: boolean; expect: number }): Promise<void> {
  const label = `${c.method.toUpperCase()} ${c.path} ${c.name}${opts.token ? '' : ' (no token)'}`;
  const url = new URL(c.path, s.url);
  for (const [k, v] of Object.entries(c.query ?? {})) url.searchParams.set(k, v);
  const headers: Record<string, string> = {};
  if (c.body !== undefined) headers['content-type'] = 'application/json';
  if (c.admin && opts.token) headers.authorization = `Bearer ${TOKEN}`;
  const res = await fetch(url, { method: c.method.toUpperCase(), headers, ...(c.body === undefined ? {} : { body: JSON.stringify(c.body) }) });
  const responses = operation(c).responses as Record<string, Json>;
  const documented = responses[String(res.status)];
  if (documented === undefined || res.status !== opts.expect) {
    const text = await res.text();
    expect.fail(`${label}: answered ${res.status} (${text.slice(0, 300)}), the document says ${opts.expect}; documented: ${Object.keys(responses).join(', ')}`);
  }
  const [contentType, media] = Object.entries(documented!.content as Record<string, Json>)[0]!;
  expect(res.headers.get('content-type') ?? '', label).toContain(contentType);
  if (contentType === 'application/json') {
    const body: unknown = await res.json();
    expect(check(media.schema, body), `${label}: ${JSON.stringify(body).slice(0, 400)}`).toBeNull();
  } else if (contentType === 'text/event-stream') {
    const ev = media['x-event'] as { name: string; schema: unknown };
    const first = await firstEvent(res);
    expect(first.event, label).toBe(ev.name);
    expect(check(ev.schema, JSON.parse(first.data)), label).toBeNull();
  } else {
    expect((await res.text()).length, label).toBeGreaterThan(0);
  }
}

beforeAll(async () => {
  s = await startTestServer(cfg, { loaderUrl: faultLoaderUrl });
});
afterAll(async () => {
  await s?.close();
});

describe('the HTTP contract (schemas/openapi.json) against a real server', () => {
  it('serves the committed document at /openapi.json', async () => {
    const res = await fetch(`${s.url}/openapi.json`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);
  });

  it('documents every route the server has', () => {
    // The route tree, each node's path being its parent's plus its own segment (the page at `/`
    // is a route, so the others hang under it).
    const stack: { depth: number; path: string }[] = [];
    const routes: (readonly [string, string])[] = [];
    for (const line of s.app.printRoutes({ commonPrefix: false }).split('\n')) {
      const m = /── (\S+) \(([A-Z, ]+)\)/.exec(line);
      if (!m) continue;
      const depth = line.indexOf('──');
      while (stack.length > 0 && stack[stack.length - 1]!.depth >= depth) stack.pop();
      const parent = stack[stack.length - 1]?.path ?? '';
      const path = parent === '' ? m[1]! : `${parent.endsWith('/') ? parent : `${parent}/`}${m[1]!}`;
      stack.push({ depth, path });
      for (const verb of m[2]!.split(', ')) if (verb !== 'HEAD') routes.push([path, verb.toLowerCase()] as const);
    }
    expect(routes.length).toBeGreaterThan(8);
    const paths = doc.paths as Record<string, Json>;
    const missing = routes.filter(([route, verb]) => {
      if (route === '*' || route === '/*') return paths['/']?.[verb] === undefined; // static files: the page at /
      const re = new RegExp(`^${route.replace(/:\w+/g, '[^/]+')}$`);
      return !Object.entries(paths).some(([p, item]) => re.test(p) && item[verb] !== undefined);
    });
    expect(missing).toEqual([]);
  });

  for (const op of documentedCases(doc)) {
    it(`${op.operationId}: ${op.method.toUpperCase()} ${op.path} answers every example as documented`, async () => {
      for (const c of op.cases) {
        if (op.admin && op.method === 'post') await candidateInShadow();
        await send(c, { token: true, expect: c.status });
      }
      if (op.admin) await send(op.cases[0]!, { token: false, expect: 401 });
    });
  }
});
