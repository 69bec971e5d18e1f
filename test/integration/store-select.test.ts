/**
 * One setting selects the store of every command and service (`--store`, `UMBRA_STORE_URL`,
 * `store.url`), and its password never shows: not in errors, not in `config print`, not in the
 * decision service's status, metrics or dashboard.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { umbra, umbraJson } from '../helpers/cli.js';
import { scratchDatabase, serviceAvailable } from '../helpers/services.js';
import { compileSettings } from '../../src/core/settings.js';
import { compileConfig } from '../../src/core/config/index.js';
import { startServer } from '../../src/app/serve.js';
import { POSTGRES_MIGRATIONS } from '../../src/store/postgres/migrations.js';

const SECRET = 'pa55-w0rd-never-shown';
const dir = mkdtempSync(join(tmpdir(), 'umbra-storesel-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('selecting the store', () => {
  it('reports an unreachable store as E_STORE without its password, from --store and from UMBRA_STORE_URL', () => {
    const url = `postgres://umbra:${SECRET}@127.0.0.1:1/umbra`;
    const a = umbra(['--data-dir', dir, '--store', url, 'rollout', 'status']);
    expect(a.status).toBe(13);
    expect(a.stderr).toContain('E_STORE');
    expect(a.stderr).toContain('unreachable');
    expect(a.stderr + a.stdout).not.toContain(SECRET);
    const b = umbra(['--data-dir', dir, '--json', 'store', 'migrate'], { env: { ...process.env, UMBRA_STORE_URL: url } });
    expect(b.status).toBe(13);
    expect(JSON.parse(b.stderr.trim()).error.code).toBe('E_STORE');
    expect(b.stderr + b.stdout).not.toContain(SECRET);
  });

  it('refuses a store URL of another kind with E_CONFIG_INVALID, and prints the config without the password', () => {
    const bad = umbra(['--data-dir', dir, '--store', `mysql://u:${SECRET}@h/d`, 'rollout', 'status']);
    expect(bad.status).toBe(3);
    expect(bad.stderr).not.toContain(SECRET);
    const cfg = join(dir, 'with-url.json');
    writeFileSync(cfg, JSON.stringify({ store: { url: `postgres://umbra:${SECRET}@db:5432/umbra`, stream_url: 'nats://127.0.0.1:4222' } }));
    const printed = umbra(['--data-dir', dir, 'config', 'print', '--file', cfg]);
    expect(printed.status).toBe(0);
    expect(printed.stdout).toContain('postgres://umbra:***@db:5432/umbra');
    expect(printed.stdout).not.toContain(SECRET);
  });

  it('keeps SQLite in the data directory when nothing is set', () => {
    const r = umbraJson<{ kind: string; location: string }>(['--data-dir', dir, 'store', 'migrate'], { env: { ...process.env, UMBRA_STORE_URL: '' } });
    expect(r.kind).toBe('sqlite');
    expect(r.location).toBe(join(dir, 'umbra.db'));
  });
});

const pgUp = await serviceAvailable('postgres');
describe.skipIf(!pgUp)('selecting PostgreSQL', () => {
  let db: Awaited<ReturnType<typeof scratchDatabase>>;
  beforeAll(async () => {
    db = await scratchDatabase();
  });
  afterAll(async () => {
    await db?.drop();
  });

  it('migrates once, verifies the audit log, and serves without the password in status, metrics or dashboard', async () => {
    const u = new URL(db.url);
    u.password = SECRET; // trust authentication ignores it; it must still never show
    const url = `${u.toString()}?schema=sel`;
    const env = { ...process.env, UMBRA_STORE_URL: url };
    const m = umbraJson<{ kind: string; version: number; location: string }>(['--data-dir', dir, 'store', 'migrate'], { env });
    expect(m).toMatchObject({ kind: 'postgres', version: POSTGRES_MIGRATIONS.at(-1)!.version });
    expect(m.location).not.toContain(SECRET);
    const v = umbraJson<{ ok: boolean }>(['--data-dir', dir, 'audit', 'verify'], { env });
    expect(v.ok).toBe(true);
    const saved = process.env.UMBRA_STORE_URL;
    process.env.UMBRA_STORE_URL = url;
    const s = await startServer({ settings: compileSettings(compileConfig({})), dataDir: dir, port: 0 });
    try {
      expect(s.store.kind).toBe('postgres');
      for (const path of ['/v1/status', '/metrics', '/', '/api/dashboard']) {
        const body = await (await fetch(`${s.url}${path}`)).text();
        expect(body, path).not.toContain(SECRET);
      }
    } finally {
      await s.close();
      if (saved === undefined) delete process.env.UMBRA_STORE_URL;
      else process.env.UMBRA_STORE_URL = saved;
    }
  });
});
