/**
 * What a new user trips on, each fixed and pinned: read-only commands refuse a data directory
 * without a store (E_NO_STORE) and nothing is created before the input is validated; usage errors
 * print once; `umbra rollout` alone exits 2; control characters are never echoed raw; flag values
 * are checked with readable messages; an output file's missing directory is an error; empty input
 * is reported; a port in use, an unknown host or a data directory that is a file get stable codes;
 * `policy score` writes only its point's lines and `ope` refuses a mix of points; and
 * `rollout register` (CLI and admin HTTP) puts a trained artifact into the shadow after checking it,
 * audited, with its offline evaluation. Every child process gets a private temporary directory,
 * which must be empty at the end.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umbra, type CliResult } from '../helpers/cli.js';
import { post, startTestServer } from '../helpers/server.js';
import { tempDir } from '../helpers/tmp.js';
import type { RunningServer } from '../../src/app/serve.js';

const root = tempDir('umbra-newcomer-');
const tmp = join(root, 'tmp');
mkdirSync(tmp);
/** Run the CLI in `cwd` with the private temporary directory and no UMBRA_HOME. */
function u(args: string[], cwd = root): CliResult {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.UMBRA_HOME;
  return umbra(args, { cwd, env });
}
function fresh(name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

const boot = join(root, 'boot.jsonl');
const run1 = join(root, 'run1');
const store = join(root, 'store');

beforeAll(() => {
  expect(u(['bootstrap', '--episodes', '3000', '--seed', '11', '--format', 'decisions', '--exploration', '0.1', '--out', boot]).status).toBe(0);
  const p = u(['pipeline', '--telemetry', boot, '--out', run1]);
  expect(p.status, p.stderr).toBe(0);
  expect(u(['--data-dir', store, 'ingest', '--telemetry', boot]).status).toBe(0);
}, 120_000);

afterAll(() => {
  // Nothing the commands ran was left in their temporary directory.
  expect(readdirSync(tmp)).toEqual([]);
});

describe('a data directory without a store', () => {
  it('is refused by every read-only command with E_NO_STORE naming the path and how to create one, and is not created', () => {
    const cwd = fresh('nostore');
    for (const args of [['rollout', 'status'], ['rollout', 'history'], ['rollout', 'verify'], ['shadow', 'status'], ['shadow', 'compare'], ['monitor', '--once'], ['rollout', 'pause', '--reason', 'x']]) {
      const r = u(['--data-dir', 'typo-dir', ...args], cwd);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(19);
      expect(r.stderr).toContain('E_NO_STORE');
      expect(r.stderr).toContain(join(cwd, 'typo-dir'));
      expect(r.stderr).toMatch(/umbra ingest/);
      const bare = u(args, cwd);
      expect(bare.status).toBe(19);
    }
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('a bad --config leaves no ./.umbra behind, whatever the command', () => {
    const cwd = fresh('badconfig');
    writeFileSync(join(cwd, 'bad.json'), JSON.stringify({ nope: 1 }));
    for (const args of [['ingest', '--telemetry', boot], ['serve', '--port', '0'], ['shadow', 'start', '--telemetry', boot], ['rollout', 'status'], ['rollout', 'register', '--artifact', join(run1, 'manifest.json'), '--reason', 'x']]) {
      const r = u(['--config', 'bad.json', ...args], cwd);
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(3);
      const missing = u(['--config', 'missing.json', ...args], cwd);
      expect(missing.status).toBe(5);
    }
    const typo = u(['ingest', '--telemetry', 'no-such-file.jsonl'], cwd);
    expect(typo.status).toBe(5);
    expect(readdirSync(cwd).sort()).toEqual(['bad.json']);
  });

  it('a data directory that is a file: E_NO_STORE to readers, E_OUTPUT_UNWRITABLE to writers', () => {
    const file = join(root, 'a-file');
    writeFileSync(file, 'x');
    expect(u(['--data-dir', file, 'rollout', 'status']).status).toBe(19);
    const w = u(['--data-dir', file, 'ingest', '--telemetry', boot]);
    expect(w.status).toBe(5);
    expect(w.stderr).toMatch(/E_OUTPUT_UNWRITABLE: the data directory .* is a file/);
  });
});

describe('usage errors', () => {
  it('print the message once, without the help in between', () => {
    for (const args of [['bootstrap', '--bogus'], ['bootstrap'], ['rollout', 'history', '--bogus'], ['nosuchcommand']]) {
      const r = u(args);
      expect(r.status).toBe(2);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^umbra: E_USAGE: .+ \(see --help\)$/);
    }
  });

  it('`umbra rollout` without a sub-command lists them and exits 2', () => {
    const r = u(['rollout']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('register');
    expect(r.stderr.trim().split('\n').pop()).toMatch(/^umbra: E_USAGE: missing sub-command/);
  });

  it('never echo control characters raw (NUL, escape sequences)', () => {
    const bin = join(root, 'binary.jsonl');
    writeFileSync(bin, Buffer.from('a\u0000b\u001b[31mred\u0007\n'));
    const r = u(['ope', '--log', bin, '--target', bin, '--point', 'route']);
    expect(r.status).not.toBe(0);
    // eslint-disable-next-line no-control-regex
    expect(r.stderr).not.toMatch(/[\u0000-\u0008\u000b-\u001f]/);
    expect(r.stderr).toContain('\\u0000');
    const arg = u(['bootstrap', '--out', join(root, 'x.jsonl'), '--scenario', 'evil\u001b[2J']);
    expect(arg.status).toBe(2);
    expect(arg.stderr).not.toContain('\u001b');
  });

  it('--days -1 names the range in words, not 0.041666666666666664', () => {
    const r = u(['bootstrap', '--days', '-1', '--out', join(root, 'd.jsonl')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('from 1/24 (one hour) to 3660');
    expect(r.stderr).not.toContain('0.0416');
  });

  it('bootstrap --out into a missing directory is E_OUTPUT_UNWRITABLE, and creates nothing', () => {
    const r = u(['bootstrap', '--episodes', '10', '--out', join(root, 'missing', 'dir', 'x.jsonl')]);
    expect(r.status).toBe(5);
    expect(r.stderr).toContain('E_OUTPUT_UNWRITABLE');
    expect(existsSync(join(root, 'missing'))).toBe(false);
  });

  it('rollout history refuses --limit -3 and a day that does not exist', () => {
    expect(u(['--data-dir', store, 'rollout', 'history', '--limit', '-3']).stderr).toContain('--limit must be an integer >= 1');
    const at = u(['--data-dir', store, 'rollout', 'history', '--at', '2025-02-30']);
    expect(at.status).toBe(2);
    expect(at.stderr).toContain('names no real time');
    expect(u(['--data-dir', store, 'rollout', 'history', '--at', '2025-02-28T00:00:00Z']).status).toBe(0);
  });

  it('empty input to ingest is reported', () => {
    const empty = join(root, 'empty.jsonl');
    writeFileSync(empty, '');
    const r = u(['--data-dir', store, 'ingest', '--telemetry', empty]);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/held no lines .*nothing was stored/);
  });
});

describe('serve cannot listen', () => {
  let blocker: Server;
  let port = 0;
  beforeAll(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    port = (blocker.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => blocker.close(() => r())));

  it('a port in use and an unknown host are E_LISTEN (exit 20), not E_INTERNAL', () => {
    const inUse = u(['--data-dir', store, 'serve', '--port', String(port)]);
    expect(inUse.status).toBe(20);
    expect(inUse.stderr).toMatch(/E_LISTEN: port \d+ on 127\.0\.0\.1 is already in use/);
    const host = u(['--data-dir', store, 'serve', '--port', '0', '--host', 'no-such-host.invalid']);
    expect(host.status).toBe(20);
    expect(host.stderr).toContain('unknown host');
  });
});

describe('points are never mixed', () => {
  it('policy score --point route writes only the route lines; ope refuses a log of several points without --point', () => {
    const out = join(root, 'scores.jsonl');
    const r = u(['policy', 'score', '--policy', join(run1, 'manifest.json'), '--point', 'route', '--contexts', boot, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const routeIds = new Set(
      readFileSync(boot, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { id?: string; point?: string; type?: string })
        .filter((e) => e.point === 'route' && e.id !== undefined)
        .map((e) => e.id),
    );
    const ids = readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    expect(ids.length).toBe(routeIds.size);
    expect(ids.every((id) => routeIds.has(id))).toBe(true);
    expect(r.stderr).toMatch(/scored only the route lines; skipped .*cache/);

    const mixed = u(['ope', '--log', boot, '--target', out]);
    expect(mixed.status).toBe(2);
    expect(mixed.stderr).toMatch(/E_USAGE: the log holds decision points cache, route, tool: .*choose one with --point/);
    expect(u(['ope', '--log', boot, '--target', out, '--point', 'route', '--bootstrap', '0']).status).toBe(0);
  });
});

describe('rollout register', () => {
  it('puts a pipeline artifact into the shadow, audited, with its offline evaluation', () => {
    const dd = join(root, 'reg');
    const r = u(['--data-dir', dd, '--json', 'rollout', 'register', '--artifact', join(run1, 'manifest.json'), '--point', 'route', '--reason', 'trained by hand']);
    expect(r.status, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout) as { version: string; points: string[]; stage: string; offline: { summary: string } | null; records: { event: string; from: string | null; to: string }[] };
    expect(j.points).toEqual(['route']);
    expect(j.stage).toBe('shadow');
    expect(j.offline?.summary).toMatch(/route/);
    expect(j.records.map((x) => `${x.event}:${x.from}→${x.to}`)).toEqual(['register:null→registered', 'start_shadow:registered→shadow']);
    const h = JSON.parse(u(['--data-dir', dd, '--json', 'rollout', 'history']).stdout) as { records: { event: string; actor: string; reason: string; evaluation: { details?: { offline?: unknown; evaluation?: { route?: { estimates?: unknown } } } } | null }[] };
    const start = h.records.find((x) => x.event === 'start_shadow')!;
    expect(start.actor).toMatch(/^cli:/);
    expect(start.evaluation?.details?.evaluation?.route?.estimates).toBeDefined();
    expect(h.records.find((x) => x.event === 'register')!.reason).toBe('trained by hand');
    expect(u(['--data-dir', dd, 'rollout', 'verify']).status).toBe(0);
    // A single artifact file for another point than --point names is refused.
    const manifest = JSON.parse(readFileSync(join(run1, 'manifest.json'), 'utf8')) as { policies: Record<string, string> };
    const tool = u(['--data-dir', dd, 'rollout', 'register', '--artifact', join(run1, manifest.policies.tool!), '--point', 'route', '--reason', 'x']);
    expect(tool.status).toBe(7);
    expect(tool.stderr).toContain('E_ARTIFACT_MISMATCH');
  });

  it('refuses an edited artifact and one trained under another reward, and creates nothing', () => {
    const manifest = JSON.parse(readFileSync(join(run1, 'manifest.json'), 'utf8')) as { policies: Record<string, string> };
    const routeFile = join(run1, manifest.policies.route!);
    const a = JSON.parse(readFileSync(routeFile, 'utf8')) as { seeds: { decision: number } };
    a.seeds.decision += 1;
    const edited = join(root, manifest.policies.route!);
    writeFileSync(edited, JSON.stringify(a));
    const cwd = fresh('reg-refused');
    const e = u(['rollout', 'register', '--artifact', edited, '--reason', 'x'], cwd);
    expect(e.status).toBe(7);
    expect(e.stderr).toMatch(/E_ARTIFACT_INVALID: .*no longer matches its content-addressed name/);
    writeFileSync(join(cwd, 'other.json'), JSON.stringify({ reward: { preset: 'quality' } }));
    const m = u(['--config', 'other.json', 'rollout', 'register', '--artifact', routeFile, '--reason', 'x'], cwd);
    expect(m.status, m.stderr).toBe(7);
    expect(m.stderr).toContain('E_ARTIFACT_MISMATCH');
    expect(readdirSync(cwd)).toEqual(['other.json']);
  });

  describe('over the admin HTTP endpoint', () => {
    let s: RunningServer;
    beforeAll(async () => {
      s = await startTestServer({ server: { admin_token: 'register-token' } });
    });
    afterAll(async () => {
      await s?.close();
    });

    it('needs the token, validates the body, and registers through the same path', async () => {
      const url = `${s.url}/v1/admin/rollout/register`;
      const auth = { authorization: 'Bearer register-token' };
      expect((await post(url, { artifact: join(run1, 'manifest.json'), reason: 'x' })).status).toBe(401);
      expect((await post(url, { artifact: join(run1, 'manifest.json') }, auth)).status).toBe(400);
      expect((await post(url, { artifact: join(root, 'nowhere.json'), reason: 'x' }, auth)).body).toMatchObject({ error: { code: 'E_INPUT_NOT_FOUND' } });
      const ok = await post(url, { artifact: join(run1, 'manifest.json'), point: 'route', reason: 'from the dashboard' }, auth);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body).toMatchObject({ ok: true, event: 'start_shadow', to: 'shadow', points: ['route'] });
      const st = await s.rollout.status();
      expect(st.stage).toBe('shadow');
      expect(st.candidate).toBe(ok.body.version);
      const hist = await s.rollout.history();
      expect(hist.filter((r) => r.version === ok.body.version).map((r) => `${r.event}:${r.actor}`)).toEqual(['register:http:admin', 'start_shadow:http:admin']);
      // the service scores it in the shadow at once
      expect(s.engine.shadow.active.map((c) => c.version)).toContain(ok.body.version);
    });
  });
});
