import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { appendRecord, appendRecords, championAt, GENESIS_HASH, verifyChain, type AuditRecord } from './audit.js';
import type { GateReport } from '../gates/verdict.js';
import { applyCommand, initRollout, type RolloutCommand } from './machine.js';
import { isUmbraError } from '../errors.js';

const T0 = Date.parse('2025-03-01T08:00:00Z');
const HOUR = 3_600_000;
const PASS: GateReport = { passed: true, summary: 'ok', details: { ess: 812.5, lower: 0.71 } };
const who = { actor: 'ops' };

/** A realistic log: baseline, then a promoted into production, b rolled back, a rolled back later. */
function buildLog(): AuditRecord[] {
  let { state, events } = initRollout(T0);
  const steps: [number, RolloutCommand][] = [
    [1, { type: 'register', id: 'a', artifactHash: 'sha-a', ...who }],
    [2, { type: 'start_shadow', gates: PASS, trigger: 'auto', ...who }],
    [5, { type: 'promote', gates: PASS, ...who }],
    [30, { type: 'promote', gates: PASS, ...who }],
    [31, { type: 'register', id: 'b', artifactHash: 'sha-b', ...who }],
    [32, { type: 'start_shadow', gates: PASS, ...who }],
    [40, { type: 'promote', gates: PASS, ...who }],
    [41, { type: 'rollback', trigger: 'auto', reason: 'guardrail.success_rate FAIL', actor: 'judge' }],
    [50, { type: 'rollback', reason: 'drift alert on a', ...who }],
  ];
  for (const [h, cmd] of steps) {
    const r = applyCommand(state, cmd, T0 + h * HOUR);
    state = r.state;
    events = events.concat(r.events);
  }
  return appendRecords(null, events.map((e) => ({ ...e, configHash: 'cfg-1' })));
}

describe('audit chain', () => {
  it('links every record to the one before and verifies after a JSON-lines round trip', () => {
    const log = buildLog();
    expect(log[0]!.prevHash).toBe(GENESIS_HASH);
    for (let i = 1; i < log.length; i++) expect(log[i]!.prevHash).toBe(log[i - 1]!.hash);
    const jsonl = log.map((r) => JSON.stringify(r)).join('\n');
    const back = jsonl.split('\n').map((l) => JSON.parse(l) as unknown);
    expect(verifyChain(back)).toEqual({ ok: true, records: log.length, head: log.at(-1)!.hash });
    expect(verifyChain([])).toEqual({ ok: true, records: 0, head: null });
    expect(log.find((r) => r.event === 'promote' && r.to === 'canary')!.evaluation).toEqual(PASS);
  });

  it('detects an edited record, even when the editor recomputed its hash', () => {
    const log = buildLog();
    const edited = log.map((r) => ({ ...r }));
    edited[7] = { ...edited[7]!, reason: 'nothing happened' };
    expect(verifyChain(edited)).toMatchObject({ ok: false, firstBad: { seq: 7, reason: expect.stringContaining('edited') as unknown } });
    // Recomputing the edited record's hash moves the break to the next link.
    const { hash: _h, ...rest } = edited[7]!;
    const rehashed = appendRecord(edited[6]!, rest as unknown as Parameters<typeof appendRecord>[1]);
    edited[7] = { ...rehashed, prevHash: edited[6]!.hash };
    expect(verifyChain(edited)).toMatchObject({ ok: false, firstBad: { seq: 8 } });
    // Editing a nested gate value is caught as well.
    const nested = log.map((r) => JSON.parse(JSON.stringify(r)) as AuditRecord);
    (nested[3]!.evaluation as { details: { lower: number } }).details.lower = 0.99;
    expect(verifyChain(nested)).toMatchObject({ ok: false, firstBad: { seq: 3 } });
  });

  it('detects deleted, inserted and reordered records, and a cut tail given an anchor', () => {
    const log = buildLog();
    const deleted = [...log.slice(0, 4), ...log.slice(5)];
    expect(verifyChain(deleted)).toMatchObject({ ok: false, firstBad: { seq: 4 } });
    const inserted = [...log.slice(0, 4), appendRecord(log[3]!, { ...initRollout(T0).events[0]!, ts: log[3]!.ts }), ...log.slice(4)];
    expect(verifyChain(inserted)).toMatchObject({ ok: false, firstBad: { seq: 5 } });
    const swapped = [...log];
    [swapped[5], swapped[6]] = [swapped[6]!, swapped[5]!];
    expect(verifyChain(swapped)).toMatchObject({ ok: false, firstBad: { seq: 5 } });
    const head = { seq: log.length - 1, hash: log.at(-1)!.hash };
    const cut = log.slice(0, -2);
    expect(verifyChain(cut).ok).toBe(true);
    expect(verifyChain(cut, head)).toMatchObject({ ok: false, firstBad: { reason: expect.stringContaining('tail was cut') as unknown } });
    expect(verifyChain(log, head).ok).toBe(true);
    expect(verifyChain([{ nonsense: true }])).toMatchObject({ ok: false, firstBad: { seq: 0 } });
  });

  it('detects any single tampering (property: delete, duplicate, swap or edit at a random place)', () => {
    const log = buildLog();
    fc.assert(
      fc.property(fc.integer({ min: 0, max: log.length - 1 }), fc.constantFrom('delete', 'duplicate', 'swap', 'edit-actor', 'edit-ts', 'edit-champion'), (i, op) => {
        const t: AuditRecord[] = log.map((r) => ({ ...r }));
        if (op === 'delete') {
          if (i === log.length - 1) return; // a cut tail needs an anchor (tested above)
          t.splice(i, 1);
        } else if (op === 'duplicate') t.splice(i, 0, { ...t[i]! });
        else if (op === 'swap') {
          const j = i === log.length - 1 ? i - 1 : i + 1;
          [t[i], t[j]] = [t[j]!, t[i]!];
        } else if (op === 'edit-actor') t[i] = { ...t[i]!, actor: 'mallory' };
        else if (op === 'edit-ts') t[i] = { ...t[i]!, ts: new Date(Date.parse(t[i]!.ts) + 1).toISOString() };
        else t[i] = { ...t[i]!, champion: 'evil' };
        const v = verifyChain(t);
        expect(v.ok).toBe(false);
        expect(v.firstBad!.seq).toBeLessThanOrEqual(Math.min(i + 1, t.length));
      }),
      { seed: 77, numRuns: 200 },
    );
  });
});

describe('championAt', () => {
  it('answers which policy served production at any time', () => {
    const log = buildLog();
    const at = (h: number) => championAt(log, T0 + h * HOUR);
    expect(championAt(log, T0 - HOUR)).toEqual({ champion: 'baseline', since: null, seq: null });
    expect(at(0).champion).toBe('baseline');
    expect(at(29.9).champion).toBe('baseline');
    expect(at(30)).toMatchObject({ champion: 'a', since: new Date(T0 + 30 * HOUR).toISOString() });
    expect(at(41).champion).toBe('a'); // b was rolled back from canary: a kept serving
    expect(at(49.5)).toMatchObject({ champion: 'a', since: new Date(T0 + 30 * HOUR).toISOString() });
    expect(at(50).champion).toBe('baseline');
    expect(at(1000).champion).toBe('baseline');
    expect(championAt(log, new Date(T0 + 35 * HOUR).toISOString()).champion).toBe('a');
    expect(championAt(log, new Date(T0 + 35 * HOUR)).champion).toBe('a');
    try {
      championAt(log, 'yesterday-ish');
      expect.unreachable();
    } catch (e) {
      expect(isUmbraError(e, 'E_USAGE')).toBe(true);
    }
  });
});
