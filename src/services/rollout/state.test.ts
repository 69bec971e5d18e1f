import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { settingsOf } from '../../core/settings.js';
import { RolloutService } from './state.js';

const pass = { passed: true, summary: 'all gates passed' };
const settings = settingsOf({});

function service(store: MemoryStore, t: { now: number }): RolloutService {
  return new RolloutService(store, { settings, now: () => t.now });
}

describe('RolloutService', () => {
  it('starts with the rules as champion and persists every transition in a verifiable chain', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const svc = service(store, t);
    expect(await svc.status()).toMatchObject({ stage: 'production', champion: 'baseline', candidate: null, canaryWeight: 0 });
    await svc.apply({ type: 'register', id: 'cand-1', artifactHash: 'abc', actor: 'trainer', trigger: 'auto' });
    t.now += 60_000;
    await svc.apply({ type: 'start_shadow', gates: pass, actor: 'trainer', trigger: 'auto' });
    t.now += 60_000;
    await svc.apply({ type: 'promote', gates: pass, actor: 'cli:ops', reason: 'gates passed' });
    // a second service on the same store sees the same truth
    const other = service(store, t);
    expect(await other.status()).toMatchObject({ stage: 'canary', candidate: 'cand-1', canaryWeight: 0.05 });
    t.now += 60_000;
    await other.apply({ type: 'promote', gates: pass, actor: 'judge', trigger: 'auto' });
    expect(await svc.status()).toMatchObject({ champion: 'cand-1' });
    const v = await svc.verify();
    expect(v.ok).toBe(true);
    expect(v.records).toBeGreaterThanOrEqual(5);
    expect((await svc.championAt('2026-01-01T00:00:30Z')).champion).toBe('baseline');
    expect((await svc.championAt(t.now)).champion).toBe('cand-1');
  });

  it('refuses invalid transitions with a stable code and writes nothing', async () => {
    const store = new MemoryStore();
    const svc = service(store, { now: Date.parse('2026-01-01T00:00:00Z') });
    await svc.status();
    const before = (await store.counts()).audit;
    await expect(svc.apply({ type: 'promote', gates: pass, actor: 'cli:ops' })).rejects.toMatchObject({ code: 'E_TRANSITION_INVALID' });
    expect((await store.counts()).audit).toBe(before);
  });

  it('detects an edited audit record', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const svc = service(store, t);
    await svc.apply({ type: 'register', id: 'cand-1', actor: 'trainer' });
    expect((await svc.verify()).ok).toBe(true);
    // tamper: rewrite the actor of the first record inside the stored row
    const rows = (store as unknown as { auditRows: { body: { records: { actor: string }[] } }[] }).auditRows;
    rows[0]!.body.records[0]!.actor = 'mallory';
    const v = await svc.verify();
    expect(v.ok).toBe(false);
    expect(v.problem?.seq).toBe(0);
    await expect(svc.championAt(t.now)).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
  });

  it('serialises concurrent commands: of two racing aborts exactly one applies', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const a = service(store, t);
    const b = service(store, t);
    await a.apply({ type: 'register', id: 'c', actor: 'x' });
    await a.apply({ type: 'start_shadow', gates: pass, actor: 'x' });
    const results = await Promise.allSettled([a.apply({ type: 'abort', actor: 'a', reason: 'r1' }), b.apply({ type: 'abort', actor: 'b', reason: 'r2' })]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(rejected.reason).toMatchObject({ code: 'E_TRANSITION_INVALID' });
    expect((await a.verify()).ok).toBe(true);
    expect((await a.history()).filter((r) => r.event === 'abort')).toHaveLength(1);
  });

  it('two judges with the same shadow verdict move the candidate to canary once, never on to production', async () => {
    const store = new MemoryStore();
    const t = { now: Date.parse('2026-01-01T00:00:00Z') };
    const a = service(store, t);
    const b = service(store, t);
    await a.apply({ type: 'register', id: 'c', actor: 'trainer' });
    await a.apply({ type: 'start_shadow', gates: pass, actor: 'trainer' });
    // both replicas judged c in shadow
    expect((await b.status()).stage).toBe('shadow');
    const verdict = { type: 'promote', actor: 'judge', trigger: 'auto', target: 'c', from: 'shadow', reason: 'shadow gates passed', gates: pass } as const;
    t.now += 60_000;
    await a.apply(verdict);
    t.now += 1000;
    await expect(b.apply(verdict)).rejects.toMatchObject({ code: 'E_TRANSITION_INVALID', message: expect.stringContaining('judged in shadow') });
    expect(await b.status()).toMatchObject({ stage: 'canary', candidate: 'c' });
    expect((await b.history()).filter((r) => r.event === 'promote').map((r) => `${r.from}->${r.to}`)).toEqual(['shadow->canary']);
    // at once, too: one of the two applies
    const store2 = new MemoryStore();
    const c = service(store2, t);
    const d = service(store2, t);
    await c.apply({ type: 'register', id: 'c', actor: 'trainer' });
    await c.apply({ type: 'start_shadow', gates: pass, actor: 'trainer' });
    await d.status();
    const results = await Promise.allSettled([c.apply(verdict), d.apply(verdict)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(await c.status()).toMatchObject({ stage: 'canary' });
  });
});
