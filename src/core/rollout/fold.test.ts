import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rolloutConfig } from '../config/rollout.js';
import type { GateReport } from '../gates/verdict.js';
import { appendRecords, type AuditRecord } from './audit.js';
import { firstDifference, foldLog, foldTransition, FoldError } from './fold.js';
import { initRollout, machineOptions, transition, type RolloutCommand, type RolloutState } from './machine.js';

const T0 = Date.parse('2025-03-01T08:00:00Z');
const MIN = 60_000;
const PASS: GateReport = { passed: true, summary: 'ok' };
const FAIL: GateReport = { passed: false, summary: 'no' };
const ids = ['v1', 'v2', 'v3', 'v4'];

const commandArb: fc.Arbitrary<RolloutCommand> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('register' as const), id: fc.constantFrom(...ids), artifactHash: fc.constantFrom(null, 'sha-x'), actor: fc.constant('p') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('start_shadow' as const), gates: fc.constantFrom(PASS, PASS, FAIL), actor: fc.constant('p') }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('promote' as const), gates: fc.constantFrom(PASS, PASS, FAIL), weight: fc.constantFrom(0.05, 0.2), actor: fc.constant('p') }), weight: 5 },
  { arbitrary: fc.record({ type: fc.constant('ramp' as const), gates: fc.constant(PASS), weight: fc.constantFrom(0.1, 0.3), actor: fc.constant('p') }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('pause' as const), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('resume' as const), gates: fc.constant(PASS), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('abort' as const), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('rollback' as const), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('rollback' as const), reason: fc.constant('r'), actor: fc.constant('p'), target: fc.constant('@champion') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('retry' as const), reason: fc.constant('r'), actor: fc.constant('p'), id: fc.constantFrom(...ids) }), weight: 2 },
);

/** Run commands through the machine; every applied transition as (records, state after). */
function run(cmds: readonly RolloutCommand[], keepChampions = 3): { rows: AuditRecord[][]; states: RolloutState[] } {
  const opts = { ...machineOptions(rolloutConfig({ retry_cooldown_s: 60 })), keepChampions };
  const init = initRollout(T0);
  let state = init.state;
  let last: AuditRecord | null = null;
  const rows: AuditRecord[][] = [];
  const states: RolloutState[] = [];
  const push = (events: Parameters<typeof appendRecords>[1], s: RolloutState): void => {
    const recs = appendRecords(last, events);
    last = recs[recs.length - 1]!;
    rows.push(recs);
    states.push(s);
  };
  push(init.events, state);
  let now = T0;
  for (const cmd of cmds) {
    now += 7 * MIN;
    const resolved = cmd.target === '@champion' ? { ...cmd, target: state.champion } : cmd;
    const r = transition(state, resolved, now, opts);
    if (!r.ok) continue;
    state = r.state;
    push(r.events, state);
  }
  return { rows, states };
}

describe('the rollout state as the fold of its audit records', () => {
  it('equals the machine state after every transition, over random command sequences (fast-check)', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(fc.array(commandArb, { minLength: 1, maxLength: 60, size: 'max' }), fc.constantFrom(1, 2, 3), (cmds, keep) => {
        const { rows, states } = run(cmds, keep);
        let s: RolloutState | null = null;
        for (let i = 0; i < rows.length; i++) {
          for (const r of rows[i]!) seen.add(r.event);
          // keepChampions given to the fold is deliberately wrong: the retire records carry the list.
          s = foldTransition(s, JSON.parse(JSON.stringify(rows[i])) as AuditRecord[], { keepChampions: 99 });
          expect(firstDifference(JSON.parse(JSON.stringify(states[i])), s)).toBeUndefined();
        }
      }),
      { seed: 2020, numRuns: 200 },
    );
    for (const e of ['register', 'start_shadow', 'promote', 'retire', 'rollback', 'restore', 'reject', 'retry', 'pause', 'resume', 'ramp', 'abort', 'supersede']) {
      expect(seen.has(e), `never reached ${e}`).toBe(true);
    }
  });

  it('folds records written before retire carried the list, with keep_champions from the config', () => {
    const cmds: RolloutCommand[] = [];
    for (const id of ['a', 'b', 'c']) {
      cmds.push({ type: 'register', id, actor: 'p' }, { type: 'start_shadow', gates: PASS, actor: 'p' }, { type: 'promote', gates: PASS, actor: 'p' }, { type: 'promote', gates: PASS, actor: 'p' });
    }
    const { rows, states } = run(cmds, 2);
    const legacy = rows.map((row) => row.map(({ previousChampions: _p, ...r }) => r as AuditRecord));
    expect(foldLog(legacy, { keepChampions: 2 })).toEqual(states.at(-1));
    expect(foldLog(legacy, { keepChampions: 2 })!.previousChampions).toEqual(['b', 'a']);
  });

  it('refuses records that do not make a history, naming the record', () => {
    const { rows } = run([
      { type: 'register', id: 'a', actor: 'p' },
      { type: 'start_shadow', gates: PASS, actor: 'p' },
      { type: 'promote', gates: PASS, actor: 'p' },
    ]);
    const base = foldLog(rows.slice(0, 2))!;
    const wrongFrom = rows[2]!.map((r) => ({ ...r, from: 'canary' }));
    expect(() => foldTransition(base, wrongFrom)).toThrow(FoldError);
    expect(() => foldTransition(base, wrongFrom)).toThrow(/record 2 .*from canary, but the version is registered/);
    const twoChampions = rows[2]!.map((r) => ({ ...r, to: 'production' }));
    expect(() => foldTransition(base, twoChampions)).toThrow(/in production/);
    expect(() => foldTransition(null, rows[1]!)).toThrow(/must begin with init/);
    expect(() => foldTransition(base, [])).toThrow(FoldError);
  });

  it('names the first differing field between a stored and a derived value', () => {
    expect(firstDifference({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toBeUndefined();
    expect(firstDifference({ a: 1, b: { c: [1, 3] } }, { a: 1, b: { c: [1, 2] } })).toEqual({ path: 'b.c.1', stored: 3, derived: 2 });
    expect(firstDifference({ a: 1 }, { a: 1, b: null })).toEqual({ path: 'b', stored: undefined, derived: null });
    expect(firstDifference({ a: 1, x: 0 }, { a: 1 })).toEqual({ path: 'x', stored: 0, derived: undefined });
    expect(firstDifference([1], { 0: 1 })).toMatchObject({ path: '(root)' });
  });
});
