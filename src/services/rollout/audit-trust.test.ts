import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { settingsOf } from '../../core/settings.js';
import type { AuditRow } from '../../store/port.js';
import { RolloutService, type AuditCheck, type RolloutServiceOptions } from './state.js';
import { HeadFileAnchor } from './anchor.js';
import { envKeys, fileKeys } from './keys.js';
import { StateKey } from '../state-keys.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';

const pass = { passed: true, summary: 'all gates passed' };
const settings = settingsOf({});
const KEY_HEX = 'ab'.repeat(32);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'umbra-audit-'));
  dirs.push(d);
  return d;
}

type Rows = { body: { records: Record<string, unknown>[]; state: Record<string, unknown> } }[];
const rowsOf = (store: MemoryStore): Rows => (store as unknown as { auditRows: Rows }).auditRows;

function service(store: MemoryStore, t: { now: number }, o: Partial<RolloutServiceOptions> = {}): RolloutService {
  return new RolloutService(store, { settings, now: () => t.now, ...o });
}

/** Register a, promote it to production, register b and take it to canary. */
async function run(svc: RolloutService, t: { now: number }): Promise<void> {
  const step = async (c: Parameters<RolloutService['apply']>[0]): Promise<void> => {
    t.now += 60_000;
    await svc.apply(c);
  };
  await step({ type: 'register', id: 'a', artifactHash: 'sha-a', actor: 'trainer' });
  await step({ type: 'start_shadow', gates: pass, actor: 'trainer' });
  await step({ type: 'promote', gates: pass, actor: 'ops' });
  await step({ type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' });
  await step({ type: 'register', id: 'b', artifactHash: 'sha-b', actor: 'trainer' });
  await step({ type: 'start_shadow', gates: pass, actor: 'trainer' });
  await step({ type: 'promote', gates: pass, actor: 'ops' });
}

describe('RolloutService: the served state is the fold of the verified audit log', () => {
  it('ignores an edited stored state: serves only the baseline, refuses transitions, reports the field once', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const heard: AuditCheck[] = [];
    const svc = service(store, t, { keys: envKeys(KEY_HEX), onAudit: (c) => heard.push(c) });
    await run(svc, t);
    expect(await svc.status()).toMatchObject({ champion: 'a', candidate: 'b', stage: 'canary' });
    expect(svc.trusted).toBe(true);
    expect(heard).toEqual([]);

    // Someone with write access to the store makes b the champion in the stored state only.
    const last = rowsOf(store).at(-1)!;
    last.body.state.champion = 'b';
    const reader = service(store, t, { keys: envKeys(KEY_HEX), onAudit: (c) => heard.push(c) });
    const st = await reader.state();
    expect(st).toMatchObject({ champion: 'baseline', candidate: null });
    expect(Object.keys(st.versions)).toEqual(['baseline']);
    expect(reader.trusted).toBe(false);
    expect(reader.audit!.problem).toMatchObject({ row: rowsOf(store).length, field: 'state.champion' });
    await expect(reader.apply({ type: 'abort', reason: 'x', actor: 'ops' })).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
    await reader.state();
    expect(heard).toHaveLength(1);
    expect(heard[0]!.ok).toBe(false);
    const v = await reader.verify();
    expect(v.ok).toBe(false);
    expect(v.problem?.field).toBe('state.champion');

    // The long-running service notices on its next full check (here: a transition), not by trusting the row.
    await expect(svc.apply({ type: 'pause', reason: 'x', actor: 'ops' })).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
    expect((await svc.state()).champion).toBe('baseline');

    // Put it back: it verifies again and says so.
    last.body.state.champion = 'a';
    t.now += 120_000;
    expect((await reader.verify()).ok).toBe(true);
    expect(heard.at(-1)!.ok).toBe(true);
    expect((await reader.state()).champion).toBe('a');
  });

  it('notices rows appended by another process and an edit of the last row between full checks', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const a = service(store, t, { reverifyMs: 3_600_000 });
    const b = service(store, t, { reverifyMs: 3_600_000 });
    await run(a, t);
    expect((await b.state()).candidate).toBe('b');
    t.now += 60_000;
    await a.apply({ type: 'pause', reason: 'srm', actor: 'judge', trigger: 'auto' });
    expect(await b.status()).toMatchObject({ stage: 'paused' }); // read incrementally
    expect(b.audit!.full).toBe(false);
    rowsOf(store).at(-1)!.body.state.candidate = null;
    expect((await b.state()).candidate).toBe(null); // the baseline-only state
    expect(b.trusted).toBe(false);
    expect(b.audit!.problem?.field).toBe('state.candidate');
  });

  it('a row another process appends while the whole log is read is not taken for a cut tail', async () => {
    /** A store where another process appends a transition just after a reader got the last row. */
    class Racy extends MemoryStore {
      between: (() => Promise<unknown>) | undefined;
      override async *audit(q: { afterSeq?: number; limit?: number } = {}): AsyncIterable<AuditRow> {
        yield* super.audit(q);
        const f = this.between;
        this.between = undefined;
        await f?.();
      }
    }
    const store = new Racy();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const writer = service(store, t);
    await run(writer, t);
    const reader = service(store, t);
    store.between = async () => {
      t.now += 60_000;
      await writer.apply({ type: 'pause', reason: 'srm', actor: 'judge', trigger: 'auto' });
    };
    const check = await reader.verify();
    expect(store.between).toBeUndefined(); // the append did happen mid-read
    expect(check.ok, JSON.stringify(check.problem)).toBe(true);
    expect(reader.trusted).toBe(true);
    // the next read sees the appended row, verified
    expect(await reader.status()).toMatchObject({ stage: 'paused' });
    expect(reader.trusted).toBe(true);
  });

  it('a store that cannot be reached while the head it keeps is read leaves the log trusted (the caller keeps its last state)', async () => {
    class Away extends MemoryStore {
      away = false;
      override getState(key: string): ReturnType<MemoryStore['getState']> {
        if (this.away && key === StateKey.AUDIT_HEAD) return Promise.reject(new UmbraError(ErrorCode.STORE, 'the store is unreachable (reading state)', { unreachable: true }));
        return super.getState(key);
      }
    }
    const store = new Away();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const svc = service(store, t);
    await run(svc, t);
    expect((await svc.verify()).ok).toBe(true);
    store.away = true;
    await expect(svc.verify()).rejects.toMatchObject({ code: ErrorCode.STORE });
    expect(svc.trusted).toBe(true);
    store.away = false;
    expect((await svc.verify()).ok).toBe(true);
    // a head that cannot be read for another reason still fails the check
    const broken = new (class extends MemoryStore {
      fail = false;
      override getState(key: string): ReturnType<MemoryStore['getState']> {
        return this.fail && key === StateKey.AUDIT_HEAD ? Promise.reject(new Error('disk says no')) : super.getState(key);
      }
    })();
    const b = service(broken, t);
    await run(b, t);
    broken.fail = true;
    const check = await b.verify();
    expect(check.ok).toBe(false);
    expect(check.problem?.reason).toContain('disk says no');
  });

  it('signs every record with a key file it creates on first use (0600), and refuses a key file others can read', async () => {
    const dir = tmp();
    const keyFile = join(dir, 'audit.key');
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const svc = service(store, t, { keys: fileKeys(keyFile) });
    await run(svc, t);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    const records = rowsOf(store).flatMap((r) => r.body.records);
    expect(records.every((r) => typeof r.mac === 'string' && typeof r.keyId === 'string')).toBe(true);
    expect(JSON.stringify(rowsOf(store))).not.toContain(readFileSync(keyFile, 'utf8').split('\n')[1]!); // the key is not in the store
    expect((await service(store, t, { keys: fileKeys(keyFile) }).verify()).keys.status).toBe('verified');
    const noKey = await service(store, t).verify();
    expect(noKey).toMatchObject({ ok: true, keys: { status: 'unchecked' } });
    expect(noKey.keys.message).toContain('could not be checked');
    chmodSync(keyFile, 0o644);
    await expect(service(store, t, { keys: fileKeys(keyFile) }).verify()).rejects.toMatchObject({ code: 'E_CONFIG_INVALID' });
  });

  it('anchors the head outside the store after every transition; a cut tail with a rewritten in-store head is caught', async () => {
    const dir = tmp();
    const headFile = join(dir, 'audit-head.jsonl');
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const opts = { keys: envKeys(KEY_HEX), anchors: [new HeadFileAnchor(headFile)] };
    const svc = service(store, t, opts);
    await run(svc, t);
    const lines = readFileSync(headFile, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { seq: number; hash: string; row: number });
    expect(lines).toHaveLength(rowsOf(store).length);
    const good = await service(store, t, opts).verify();
    expect(good.anchors.find((a) => a.name.startsWith('head file'))).toMatchObject({ status: 'ok' });

    // Cut the last row and rewrite the head kept in the store to the record before it.
    const rows = (store as unknown as { auditRows: AuditRow[] }).auditRows;
    rows.pop();
    const lastRec = (rows.at(-1)!.body as { records: { seq: number; hash: string }[] }).records.at(-1)!;
    await store.setState(StateKey.AUDIT_HEAD, { seq: lastRec.seq, hash: lastRec.hash });
    const withoutFile = await service(store, t, { keys: envKeys(KEY_HEX) }).verify();
    expect(withoutFile.ok).toBe(true); // the store alone cannot tell: that is what the outside anchor is for
    const reader = service(store, t, opts);
    expect((await reader.state()).champion).toBe('baseline');
    expect(reader.audit!.ok).toBe(false);
    expect(reader.audit!.problem!.reason).toContain('tail was cut');
    // Every row deleted: the log is not silently started again.
    rows.splice(0);
    const emptied = service(store, t, opts);
    expect((await emptied.state()).champion).toBe('baseline');
    expect(emptied.trusted).toBe(false);
    expect(rows).toHaveLength(0);
  });

  it('a log written before audit keys: verifies without a key, is refused under a key until sealed, or signs from its next transition', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    await run(service(store, t), t); // no keys: unsigned records
    expect((await service(store, t).verify()).keys.status).toBe('absent');
    const keyed = service(store, t, { keys: envKeys(KEY_HEX) });
    const v = await keyed.verify();
    expect(v.ok).toBe(false);
    expect(v.keys.message).toContain('rollout seal');
    await keyed.seal('cli:ops', 'upgrade to keyed audit');
    const after = await service(store, t, { keys: envKeys(KEY_HEX) }).verify();
    expect(after).toMatchObject({ ok: true, keys: { status: 'verified' } });
    expect((await keyed.state()).champion).toBe('a');
    await expect(keyed.seal('cli:ops', 'again')).rejects.toMatchObject({ code: 'E_TRANSITION_INVALID' });

    // Through a key file instead: the first transition creates the key and signs from there on.
    const dir = tmp();
    const legacy = new MemoryStore();
    await run(service(legacy, t), t);
    const svc = service(legacy, t, { keys: fileKeys(join(dir, 'audit.key')) });
    t.now += 60_000;
    await svc.apply({ type: 'pause', reason: 'x', actor: 'ops' });
    const signed = await service(legacy, t, { keys: fileKeys(join(dir, 'audit.key')) }).verify();
    expect(signed).toMatchObject({ ok: true, keys: { status: 'verified', signed: 1 } });
    writeFileSync(join(dir, 'other.key'), `${'cd'.repeat(32)}\n`, { mode: 0o600 });
    expect((await service(legacy, t, { keys: fileKeys(join(dir, 'other.key')) }).verify()).keys.status).toBe('failed');
  });
});
