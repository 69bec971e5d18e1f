/**
 * `umbra simulate`: live Alice telemetry, whole lines only, timestamps on the simulated clock, and
 * a real decision service on 127.0.0.1 that answers, hangs, or is not there.
 */
import { spawn } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulate } from '../../src/services/jobs/simulate.js';
import { CLI } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('umbra-simulate-');

interface Turn {
  kind?: string;
  trace_id: string;
  ts: string;
  route: string;
  user_id: string;
  policy?: string;
  route_propensity?: number;
  rule_route?: string;
}

function readTurns(file: string): Turn[] {
  const text = readFileSync(file, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  // Alice logs some turns twice (the /api/chat copy): the first line of a trace id is the turn.
  const seen = new Set<string>();
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as Turn)
    .filter((t) => t.kind === undefined && !seen.has(t.trace_id) && seen.add(t.trace_id) !== undefined);
}

/** Run the built CLI without blocking this process (the test's server must keep answering). */
function umbraAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    p.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    p.on('close', (code) => resolve({ status: code ?? -1, stdout, stderr }));
  });
}

let server: Server;
let base = '';
let hang = false;
const decided = new Map<string, string>();
const outcomes = new Set<string>();
const stuck: ServerResponse[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => {
      if (req.method !== 'POST') {
        res.writeHead(404).end(); // the client's warm-up asks for the API description first
        return;
      }
      const body = JSON.parse(s) as { id: string; stickyKey?: string; baselineAction?: string; actions?: string[] };
      if (req.url === '/v1/outcome') {
        outcomes.add(body.id);
        res.writeHead(202).end('{}');
        return;
      }
      if (hang) {
        stuck.push(res);
        return;
      }
      // A canary on half of the users serves deep; the rest get production's baseline.
      const canary = Number((body.stickyKey ?? 'u-0').slice(2)) % 2 === 0;
      const action = canary ? 'deep' : body.baselineAction!;
      decided.set(body.id, action);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id: body.id, action, propensity: 1, servedBy: canary ? 'canary' : 'production', stage: 'canary', policyVersion: canary ? 'linucb@c1' : 'baseline' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of stuck) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('umbra simulate', () => {
  it('appends whole Alice lines on the simulated clock and prints counts (no server)', async () => {
    const file = join(dir, 'plain.jsonl');
    const before = Date.now();
    const r = await umbraAsync(['simulate', '--telemetry', file, '--rate', '400', '--duration', '0.5', '--speedup', '120', '--seed', '3', '--json']);
    const after = Date.now();
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { requests: number; servedBy: Record<string, number>; errors: number; kpis: Record<string, number> };
    expect(s).toMatchObject({ requests: 200, servedBy: { rules: 200 }, errors: 0 });
    expect(Object.keys(s.kpis).sort()).toEqual(['cacheHitRate', 'p95LatencyMs', 'policyValue', 'successRate', 'toolPrecision']);
    const turns = readTurns(file);
    expect(new Set(turns.map((t) => t.trace_id)).size).toBe(200);
    const ts = turns.map((t) => Date.parse(t.ts));
    // 0.5 s at x120 covers about a minute of simulated time, ending no later than now.
    expect(Math.max(...ts)).toBeLessThanOrEqual(after);
    expect(Math.max(...ts) - Math.min(...ts)).toBeGreaterThan(50_000);
    expect(Math.min(...ts)).toBeGreaterThan(before - 70_000);
  });

  it('asks the decision service for every route, serves its answer and reports every outcome', async () => {
    hang = false;
    const file = join(dir, 'served.jsonl');
    const s = await runSimulate({ telemetry: file, rate: 500, durationS: 0.4, server: base, seed: 5, timeoutMs: 2000 });
    expect(s.requests).toBe(200);
    expect((s.servedBy.canary ?? 0) + (s.servedBy.production ?? 0)).toBe(200);
    expect(s.servedBy.canary).toBeGreaterThan(20);
    expect(s.errors).toBe(0);
    const turns = readTurns(file);
    for (const t of turns) {
      expect(t.route).toBe(decided.get(t.trace_id));
      if (t.route_propensity !== undefined) expect(t.policy === 'linucb@c1' || t.rule_route !== undefined).toBe(true);
    }
    expect(turns.filter((t) => t.policy === 'linucb@c1').length).toBe(s.servedBy.canary);
    for (const t of turns) expect(outcomes.has(t.trace_id)).toBe(true);
  });

  it('keeps going with the rules when the service hangs; a tailer in another process never sees a torn line', async () => {
    hang = true;
    const file = join(dir, 'hung.jsonl');
    // A reader may catch a line while the single write() that appends it is still copying (the OS
    // does not make a regular-file write atomic for readers); what must hold is that every complete
    // line parses, and every partial tail seen is a prefix of what the file finally holds (nothing
    // interleaved or torn apart), so a tailer that keeps its partial last line reads whole lines.
    const partials: string[] = [];
    let polls = 0;
    const tail = setInterval(() => {
      if (!existsSync(file)) return;
      polls++;
      const text = readFileSync(file, 'utf8');
      const complete = text.slice(0, text.lastIndexOf('\n') + 1);
      if (complete.length !== text.length) partials.push(text);
      for (const l of complete.split('\n')) if (l.length > 0) JSON.parse(l);
    }, 2);
    const r = await umbraAsync(['simulate', '--telemetry', file, '--rate', '300', '--duration', '1', '--server', base, '--seed', '6', '--timeout-ms', '30', '--json']);
    clearInterval(tail);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { requests: number; servedBy: Record<string, number>; errorsByReason: Record<string, number> };
    expect(s.requests).toBe(300);
    expect(s.servedBy).toEqual({ fallback: 300 });
    expect(s.errorsByReason.decide_timeout).toBe(300);
    const final = readFileSync(file, 'utf8');
    for (const p of partials) expect(final.startsWith(p)).toBe(true);
    expect(polls).toBeGreaterThan(10);
    const turns = readTurns(file);
    expect(turns.length).toBe(300);
    for (const t of turns) expect(t.route_propensity).toBeUndefined(); // the rules served: Alice as it is
  });

  it('keeps going when the service is down (a real process)', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const file = join(dir, 'down.jsonl');
    const r = await umbraAsync(['simulate', '--telemetry', file, '--rate', '200', '--duration', '0.3', '--server', `http://127.0.0.1:${port}`, '--json']);
    expect(r.status, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as { requests: number; servedBy: Record<string, number>; errors: number };
    expect(s.requests).toBe(60);
    expect(s.servedBy).toEqual({ fallback: 60 });
    expect(s.errors).toBe(120); // every decide and every outcome report failed
    expect(readTurns(file).length).toBe(60);
  });

  it('rejects bad flags with E_USAGE', async () => {
    const r = await umbraAsync(['simulate', '--telemetry', join(dir, 'x.jsonl'), '--rate', '0']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_USAGE');
    const s = await umbraAsync(['simulate', '--telemetry', join(dir, 'x.jsonl'), '--server', 'not a url']);
    expect(s.status).toBe(2);
  });
});
