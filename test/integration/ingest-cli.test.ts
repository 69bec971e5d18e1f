/**
 * `umbra ingest` as a real process: machine and human output, exit statuses, a restart after
 * `kill -9` mid-file that neither loses nor duplicates an event, and a clean stop on SIGTERM or
 * SIGINT in follow mode. Needs `npm run build`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { writeAliceTelemetry } from '../../bench/ingest.js';
import { sha256Hex } from '../../src/core/hash.js';
import { CLI, umbra, umbraJson } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'umbra-ingest-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Summary {
  linesRead: number;
  eventsStored: number;
  duplicates: number;
  outcomesJoined: number;
  quarantined: { total: number; byReason: Record<string, number> };
}

/** Turns stored: those carried by decision rows and those without a decision of their own. */
const TURNS_SQL = 'SELECT (SELECT count(*) FROM turns) + (SELECT count(*) FROM decisions WHERE tflag = 1) AS n';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Read a value from a store while another process may be writing it (WAL readers never block). */
function peek<T>(db: string, sql: string): T | undefined {
  if (!existsSync(db)) return undefined;
  let conn: Database.Database | undefined;
  try {
    conn = new Database(db, { readonly: true, fileMustExist: true });
    return conn.prepare(sql).get() as T | undefined;
  } catch {
    return undefined;
  } finally {
    conn?.close();
  }
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The child's exit with everything it printed; `live.stderr` grows while it runs. */
function exited(p: ChildProcess): Promise<Exit> & { live: { stderr: string } } {
  let stdout = '';
  const live = { stderr: '' };
  p.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  p.stderr?.on('data', (d: Buffer) => (live.stderr += d.toString()));
  const done = new Promise<Exit>((resolve) => p.on('close', (code, signal) => resolve({ code, signal, stdout, stderr: live.stderr })));
  return Object.assign(done, { live });
}

/** Fingerprint of everything stored: decisions (with the turns they carry), other turns and sessions. */
function storeDigest(db: string): { decisions: number; turns: number; sessions: number; digest: string } {
  const conn = new Database(db, { readonly: true });
  try {
    const rows = conn.prepare('SELECT id, point, ts, action, body, sdepth, tflag, tsession, textra FROM decisions ORDER BY id').all();
    const turns = conn.prepare('SELECT id, ts, route, session, session_depth, outcome FROM turns ORDER BY id').all();
    const sessions = conn.prepare('SELECT session, turns FROM sessions ORDER BY session').all();
    return { decisions: rows.length, turns: turns.length, sessions: sessions.length, digest: sha256Hex(JSON.stringify([rows, turns, sessions])) };
  } finally {
    conn.close();
  }
}

describe('umbra ingest (process)', () => {
  it('prints exactly one JSON object with the counts, or a table for people, and exits 0', () => {
    const dir = join(root, 'basic');
    mkdirSync(dir);
    const file = join(dir, 'events.jsonl');
    const gen = writeAliceTelemetry(file, 300, 7, 0.2);
    appendFileSync(file, 'garbage\n{"kind":"feedback","trace_id":"nope","explicit":{"thumbs_up":true}}\n[1]\n');
    const r = umbra(['ingest', '--telemetry', file, '--data-dir', join(dir, 'data'), '--json']);
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const s = JSON.parse(lines[0]!) as Summary;
    expect(Object.keys(s)).toEqual(['linesRead', 'eventsStored', 'duplicates', 'outcomesJoined', 'quarantined']);
    expect(s.linesRead).toBe(303);
    expect(s.duplicates).toBeGreaterThan(0);
    expect(s.eventsStored + s.duplicates).toBeLessThanOrEqual(gen.lines);
    expect(s.eventsStored).toBe(peek<{ n: number }>(join(dir, 'data', 'umbra.db'), 'SELECT count(*) AS n FROM decisions')?.n);
    expect(peek<{ n: number }>(join(dir, 'data', 'umbra.db'), TURNS_SQL)?.n).toBe(gen.turns);
    expect(s.quarantined).toEqual({ total: 2, byReason: { not_json: 1, not_object: 1 } });
    expect(s.outcomesJoined).toBe(0);
    expect(existsSync(join(dir, 'data', 'umbra.db'))).toBe(true);
    const again = umbra(['ingest', '--telemetry', file, '--data-dir', join(dir, 'data')]);
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/lines read\s+0/);
    expect(again.stdout).toMatch(/events stored\s+0/);
  });

  it('exits 0 on pure garbage with a full quarantine report, and 5 (E_INPUT_NOT_FOUND) on a missing path', () => {
    const dir = join(root, 'garbage');
    mkdirSync(dir);
    writeFileSync(join(dir, 'g.jsonl'), 'a\nb\n{"c":\n');
    const s = umbraJson<Summary>(['ingest', '--telemetry', join(dir, 'g.jsonl'), '--data-dir', join(dir, 'data')]);
    expect(s).toEqual({ linesRead: 3, eventsStored: 0, duplicates: 0, outcomesJoined: 0, quarantined: { total: 3, byReason: { not_json: 2, torn_line: 1 } } });
    const missing = umbra(['ingest', '--telemetry', join(dir, 'nope.jsonl'), '--data-dir', join(dir, 'data'), '--json']);
    expect(missing.status).toBe(5);
    expect(missing.stdout).toBe('');
    expect(JSON.parse(missing.stderr)).toMatchObject({ error: { code: 'E_INPUT_NOT_FOUND' } });
  });

  it('after kill -9 mid-file, a restart neither loses nor duplicates an event', async () => {
    const dir = join(root, 'kill');
    mkdirSync(dir);
    const file = join(dir, 'events.jsonl');
    const gen = writeAliceTelemetry(file, 40_000, 99, 0);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ telemetry: { batch_size: 250, commit_lines: 1000 } }));
    const size = statSync(file).size;

    const clean = umbraJson<Summary>(['ingest', '--telemetry', file, '--data-dir', join(dir, 'clean'), '--config', config]);
    expect(clean).toMatchObject({ linesRead: gen.lines, duplicates: 0, quarantined: { total: 0 } });

    const db = join(dir, 'killed', 'umbra.db');
    const child = spawn(process.execPath, [CLI, 'ingest', '--telemetry', file, '--data-dir', join(dir, 'killed'), '--config', config, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    let at: number | undefined;
    for (let i = 0; i < 3000 && child.exitCode === null; i++) {
      const cp = peek<{ o: number }>(db, 'SELECT byte_offset AS o FROM checkpoints');
      if (cp !== undefined && cp.o > size / 5) {
        at = cp.o;
        child.kill('SIGKILL');
        break;
      }
      await sleep(10);
    }
    const k = await done;
    expect(k.signal, `the ingest finished before it could be killed (stderr: ${k.stderr})`).toBe('SIGKILL');
    expect(at).toBeGreaterThan(0);
    expect(at).toBeLessThan(size);

    const rest = umbraJson<Summary>(['ingest', '--telemetry', file, '--data-dir', join(dir, 'killed'), '--config', config]);
    expect(rest.duplicates).toBe(0);
    expect(rest.linesRead).toBeLessThan(gen.lines);
    expect(rest.linesRead).toBeGreaterThan(0);
    const a = storeDigest(join(dir, 'clean', 'umbra.db'));
    const b = storeDigest(db);
    expect(b.decisions).toBe(clean.eventsStored);
    expect(b).toEqual(a);
  }, 120_000);

  it('stops cleanly on SIGTERM in follow mode: finishes the batch, commits, exits 0', async () => {
    const dir = join(root, 'follow');
    mkdirSync(dir);
    const file = join(dir, 'events.jsonl');
    writeAliceTelemetry(file, 200, 5, 0);
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ telemetry: { poll_ms: 50 } }));
    const db = join(dir, 'data', 'umbra.db');
    const child = spawn(process.execPath, [CLI, 'ingest', '--telemetry', file, '--follow', '--data-dir', join(dir, 'data'), '--config', config, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    const count = (): number => peek<{ n: number }>(db, TURNS_SQL)?.n ?? 0;
    for (let i = 0; i < 1000 && count() < 200; i++) await sleep(20);
    expect(count()).toBe(200);
    const more = join(dir, 'more.jsonl');
    writeAliceTelemetry(more, 100, 6, 0);
    appendFileSync(file, readFileSync(more));
    for (let i = 0; i < 1000 && count() < 300; i++) await sleep(20);
    expect(count()).toBe(300);
    child.kill('SIGTERM');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.linesRead).toBe(300);
    expect(s.duplicates).toBe(0);
  }, 60_000);

  it('waits for a missing path in follow mode and stops on SIGINT with exit 0', async () => {
    const dir = join(root, 'wait');
    mkdirSync(dir);
    const file = join(dir, 'later.jsonl');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ telemetry: { poll_ms: 50 } }));
    const db = join(dir, 'data', 'umbra.db');
    const child = spawn(process.execPath, [CLI, 'ingest', '--telemetry', file, '--follow', '--data-dir', join(dir, 'data'), '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    for (let i = 0; i < 1500 && !done.live.stderr.includes('waiting for'); i++) await sleep(20);
    expect(done.live.stderr).toContain('waiting for');
    expect(child.exitCode).toBeNull();
    writeAliceTelemetry(file, 50, 8, 0);
    for (let i = 0; i < 1000 && (peek<{ n: number }>(db, TURNS_SQL)?.n ?? 0) < 50; i++) await sleep(20);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/lines read\s+50/);
  }, 60_000);
});

