/**
 * The Python client's cost: `POST /v1/decide` round trips through `UmbraClient.decide`
 * (clients/python) against a bare `http.client` call on one kept-alive connection (the in-run
 * baseline), both from one Python process against the same live server in this run, interleaved in
 * rounds. Reports p50/p99 of each and the client's overhead (p50 difference and ratio).
 * `quick`: fewer rounds.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from '../src/app/serve.js';
import { settingsOf } from '../src/core/settings.js';
import { median, type BenchFn } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(here, '..', '..');
const SCRIPT = join(projectRoot, 'bench', 'python', 'decide_overhead.py');
const PYTHON = process.env.UMBRA_PYTHON ?? 'python3';

interface PyResult {
  latencyUs: { bare: number[]; client: number[] };
  notServed: number;
  python: string;
}

function runPython(spec: unknown): Promise<PyResult> {
  return new Promise((resolve, reject) => {
    const c = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    c.on('error', reject);
    c.on('close', (code) => (code === 0 ? resolve(JSON.parse(out) as PyResult) : reject(new Error(`${PYTHON} ${SCRIPT} exited ${code}`))));
    c.stdin.end(JSON.stringify(spec));
  });
}

/** Nearest-rank quantile. */
function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

export const run: BenchFn = async ({ quick }) => {
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-py-'));
  const server = await startServer({ settings: settingsOf({}), dataDir: dir, port: 0, host: '127.0.0.1', checkIntervalMs: 3_600_000 });
  try {
    const rounds = quick ? 4 : 20;
    const calls = quick ? 100 : 250;
    const request = { id: 'bench-py-1', point: 'route', context: { text: 'Vad blir vädret i Göteborg i morgon?', lang: 'sv', user_tier: 'free', turn: 3 }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'user-1234' };
    const r = await runPython({ url: server.url, calls, rounds, warmup: quick ? 50 : 200, request, client_path: join(projectRoot, 'clients', 'python') });
    const { bare, client } = r.latencyUs;
    const p = (xs: number[], q: number): number => quantile(xs, q);
    // per-round medians, so the overhead is a median of paired differences within the same stretch of time
    const perRound = (xs: number[]): number[] => Array.from({ length: rounds }, (_, i) => median(xs.slice(i * calls, (i + 1) * calls)));
    const bareRounds = perRound(bare);
    const clientRounds = perRound(client);
    const diffs = clientRounds.map((c, i) => c - bareRounds[i]!);
    return {
      name: 'python-client',
      description: `POST /v1/decide from Python ${r.python}: UmbraClient.decide (clients/python) vs a bare http.client call on one kept-alive connection, same request, same live server (in this process, decision log to SQLite), ${rounds} interleaved rounds of ${calls} calls each way.`,
      metrics: [
        { name: 'bare http.client round trip p50', value: p(bare, 0.5), unit: 'µs', better: 'lower', samples: bareRounds },
        { name: 'bare http.client round trip p99', value: p(bare, 0.99), unit: 'µs', better: 'lower' },
        { name: 'Python client round trip p50', value: p(client, 0.5), unit: 'µs', better: 'lower', samples: clientRounds },
        { name: 'Python client round trip p99', value: p(client, 0.99), unit: 'µs', better: 'lower' },
        { name: 'client overhead per decide (median of per-round p50 differences)', value: median(diffs), unit: 'µs', better: 'lower', samples: diffs },
        { name: 'client decisions not served by the service', value: r.notServed, unit: 'calls', better: 'lower', target: 0 },
      ],
      ratios: [{ name: 'Python client p50 / bare http.client p50', value: p(client, 0.5) / p(bare, 0.5), better: 'lower' }],
      notes: [`served by: ${JSON.stringify(server.engine.stats.byServedBy)}`],
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
};
