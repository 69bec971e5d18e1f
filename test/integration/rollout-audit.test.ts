/**
 * The rollout's audit log and its doors on the real SQLite store: every manual action over the
 * admin HTTP endpoints (bearer token), the read endpoints, `/v1/status`, and tampering with the
 * audit table directly (an edited row, a deleted row) caught by `umbra rollout verify`, while
 * `rollout history --at` answers who served production at a time.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningServer } from '../../src/app/serve.js';
import { umbra } from '../helpers/cli.js';
import { faultBundle, faultLoaderUrl, post, startTestServer } from '../helpers/server.js';

type Server = RunningServer & { dataDir: string };
const TOKEN = 'admin-token-for-tests';
const pass = { passed: true, summary: 'test gates' };
let server: Server | undefined;
const dirs: string[] = [];
afterEach(async () => {
  if (server) dirs.push(server.dataDir);
  await server?.close();
  server = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const auth = { authorization: `Bearer ${TOKEN}` };
async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(url, { headers });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}
const admin = (s: Server, action: string, body: object = {}): ReturnType<typeof post> => post(`${s.url}/v1/admin/rollout/${action}`, body, auth);

describe('admin endpoints', () => {
  it('every manual action works over HTTP with the token, and is refused without it', async () => {
    server = await startTestServer({ server: { admin_token: TOKEN }, rollout: { retry_cooldown_s: 0 } }, { loaderUrl: faultLoaderUrl });
    const s = server;
    const v = faultBundle(s.dataDir, {}, 'ok:deep', dirs);
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });

    for (const a of ['promote', 'pause', 'resume', 'abort', 'rollback', 'retry']) {
      const none = await post(`${s.url}/v1/admin/rollout/${a}`, { reason: 'x' });
      expect(none.status, a).toBe(401);
      expect(none.body).toMatchObject({ error: { code: 'E_UNAUTHORIZED' } });
      const wrong = await post(`${s.url}/v1/admin/rollout/${a}`, { reason: 'x' }, { authorization: 'Bearer admin-token-for-testZ' });
      expect(wrong.status, a).toBe(401);
    }
    for (const path of ['history', 'verify', 'history?at=2020-01-01T00:00:00Z']) {
      expect((await get(`${s.url}/v1/admin/rollout/${path}`)).status).toBe(401);
      expect((await get(`${s.url}/v1/admin/rollout/${path}`, { authorization: 'Basic abc' })).status).toBe(401);
    }
    expect((await admin(s, 'frobnicate')).status).toBe(404);

    // shadow → canary is refused while gates fail, forced with a reason it is recorded
    const refused = await admin(s, 'promote');
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ error: { code: 'E_GATE_FAILED' } });
    const steps: [string, object, string][] = [
      ['promote', { force: true, reason: 'test: skip shadow', weight: 0.1 }, 'canary'],
      ['pause', { reason: 'looks odd' }, 'paused'],
      ['resume', { force: true, reason: 'checked' }, 'canary'],
      ['abort', { reason: 'enough' }, 'aborted'],
      ['retry', { reason: 'again' }, 'shadow'],
      ['promote', { force: true, reason: 'again' }, 'canary'],
      ['promote', { force: true, reason: 'ship it' }, 'production'],
      ['rollback', { reason: 'regret' }, 'rolled_back'],
    ];
    for (const [action, body, stage] of steps) {
      const r = await admin(s, action, body);
      expect(r.status, `${action}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.ok).toBe(true);
      const st = await get(`${s.url}/v1/status`);
      expect(st.body.stage, action).toBe(stage);
    }
    const st = await get(`${s.url}/v1/status`);
    expect(st.body).toMatchObject({ stage: 'rolled_back', champion: 'baseline', candidate: v, canaryWeight: 0 });
    expect(st.body.kpis).toBeTypeOf('object');
    expect(Object.keys(st.body.kpis as object).length).toBeGreaterThan(0);

    const hist = await get(`${s.url}/v1/admin/rollout/history`, auth);
    const records = hist.body.records as { event: string; actor: string; trigger: string; reason: string; ts: string; champion: string; evaluation: unknown }[];
    const commands = new Set(['promote', 'pause', 'resume', 'abort', 'rollback', 'retry']);
    const manual = records.filter((r) => r.actor === 'http:admin' && commands.has(r.event));
    expect(manual.map((r) => r.event)).toEqual(['promote', 'pause', 'resume', 'abort', 'retry', 'promote', 'promote', 'rollback']);
    expect(manual.every((r) => r.trigger === 'manual')).toBe(true);
    expect(manual[0]!.reason).toContain('test: skip shadow');
    expect(JSON.stringify(manual[0]!.evaluation)).toContain('FORCED by http:admin'); // the override is on the record
    const prod = records.find((r) => r.event === 'promote' && r.champion === v)!;
    const at = await get(`${s.url}/v1/admin/rollout/history?at=${encodeURIComponent(prod.ts)}`, auth);
    expect(at.body.champion).toBe(v);
    const before = await get(`${s.url}/v1/admin/rollout/history?at=${Date.parse(records[0]!.ts)}`, auth);
    expect(before.body.champion).toBe('baseline');
    expect((await get(`${s.url}/v1/admin/rollout/history?at=yesterday`, auth)).status).toBe(400);
    const ver = await get(`${s.url}/v1/admin/rollout/verify`, auth);
    expect(ver.body).toMatchObject({ ok: true, records: records.length, keys: { status: 'verified', signed: records.length } });
  }, 60_000);
});

describe('audit tampering on the SQLite store', () => {
  it('verify passes untouched, fails on an edited or a deleted row; history --at names the champion', async () => {
    server = await startTestServer({}, { loaderUrl: faultLoaderUrl });
    const s = server;
    const v = faultBundle(s.dataDir, {}, 'ok:deep', dirs);
    await s.rollout.apply({ type: 'register', id: v, actor: 'test' });
    await s.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await s.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    await s.rollout.apply({ type: 'promote', gates: pass, actor: 'test' });
    const promotedAt = (await s.rollout.history()).at(-1)!.ts;
    await new Promise((r) => setTimeout(r, 20));
    await s.rollout.apply({ type: 'rollback', reason: 'test', actor: 'test' });
    const dataDir = s.dataDir;
    dirs.push(dataDir);
    await s.close();
    server = undefined;

    const u = (dir: string, args: string[]): ReturnType<typeof umbra> => umbra(['--data-dir', dir, 'rollout', ...args, '--json']);
    const good = u(dataDir, ['verify']);
    expect(good.status, good.stderr).toBe(0);
    const ok = JSON.parse(good.stdout) as { ok: boolean; records: number };
    expect(ok.ok).toBe(true);
    expect(ok.records).toBeGreaterThanOrEqual(6);
    const at = JSON.parse(u(dataDir, ['history', '--at', promotedAt]).stdout) as { champion: string };
    expect(at.champion).toBe(v);
    const now = JSON.parse(u(dataDir, ['history', '--at', new Date(Date.now() + 1000).toISOString()]).stdout) as { champion: string };
    expect(now.champion).toBe('baseline');

    const copy = (name: string): string => {
      const root = mkdtempSync(join(tmpdir(), `umbra-tamper-${name}-`));
      dirs.push(root);
      const dir = join(root, 'data');
      mkdirSync(dir);
      copyFileSync(join(dataDir, 'umbra.db'), join(dir, 'umbra.db'));
      return dir;
    };
    // An edited row: someone rewrites who promoted, keeping the JSON well-formed.
    const edited = copy('edit');
    const db = new Database(join(edited, 'umbra.db'));
    const row = db.prepare('SELECT seq, body FROM audit ORDER BY seq LIMIT 1 OFFSET 2').get() as { seq: number; body: string };
    const body = JSON.parse(row.body) as { records: { actor: string }[] };
    body.records[0]!.actor = 'somebody-else';
    db.prepare('UPDATE audit SET body = ? WHERE seq = ?').run(JSON.stringify(body), row.seq);
    db.close();
    const e = u(edited, ['verify']);
    expect(e.status).not.toBe(0);
    expect(JSON.parse(e.stdout)).toMatchObject({ ok: false });
    // history --at refuses to answer from a log that does not verify
    expect(u(edited, ['history', '--at', promotedAt]).status).not.toBe(0);

    // A deleted row in the middle, and a cut tail.
    for (const [name, sql] of [
      ['delete', 'DELETE FROM audit WHERE seq = (SELECT seq FROM audit ORDER BY seq LIMIT 1 OFFSET 2)'],
      ['cut', 'DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)'],
    ] as const) {
      const dir = copy(name);
      const d = new Database(join(dir, 'umbra.db'));
      expect(d.prepare(sql).run().changes).toBe(1);
      d.close();
      const r = u(dir, ['verify']);
      expect(r.status, name).not.toBe(0);
      expect(JSON.parse(r.stdout), name).toMatchObject({ ok: false });
    }
  }, 60_000);
});
