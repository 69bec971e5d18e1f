import type { GateReport } from '../gates/verdict.js';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  applyCommand,
  DEFAULT_MACHINE_OPTIONS,
  IN_FLIGHT,
  inFlight,
  initRollout,
  machineOptions,
  parseRolloutState,
  rolloutStatus,
  servingFor,
  shadowCandidate,
  Stage,
  transition,
  type MachineOptions,
  type RolloutCommand,
  type RolloutState,
} from './machine.js';
import { rolloutConfig } from '../config/rollout.js';
import { isUmbraError } from '../errors.js';

const T0 = Date.parse('2025-01-01T00:00:00Z');
const MIN = 60_000;
const PASS: GateReport = { passed: true, summary: 'all gates passed' };
const FAIL: GateReport = { passed: false, summary: 'min_policy_value: lower bound 0.61 < 0.65' };
const who = { actor: 'test' };

/** Apply commands in order at one-minute steps; returns the final state and all events. */
function run(cmds: RolloutCommand[], opts: MachineOptions = DEFAULT_MACHINE_OPTIONS, start = T0) {
  let { state, events } = initRollout(start);
  let now = start;
  for (const c of cmds) {
    now += MIN;
    const r = applyCommand(state, c, now, opts);
    state = r.state;
    events = events.concat(r.events);
  }
  return { state, events, now };
}

function errorOf(state: RolloutState, cmd: RolloutCommand, now: number, opts: MachineOptions = DEFAULT_MACHINE_OPTIONS) {
  const r = transition(state, cmd, now, opts);
  if (r.ok) throw new Error(`expected ${cmd.type} to be refused`);
  return r.error;
}

const toCanary: RolloutCommand[] = [
  { type: 'register', id: 'c1', artifactHash: 'h1', ...who },
  { type: 'start_shadow', gates: PASS, trigger: 'auto', ...who },
  { type: 'promote', gates: PASS, ...who },
];

describe('rollout state machine: the happy path', () => {
  it('goes registered → shadow → canary → production, with the old champion retired and kept', () => {
    const { state, events } = run([...toCanary, { type: 'promote', gates: PASS, trigger: 'auto', ...who }]);
    expect(state.champion).toBe('c1');
    expect(state.previousChampions).toEqual(['baseline']);
    expect(state.versions['baseline']!.stage).toBe(Stage.RETIRED);
    expect(state.candidate).toBeNull();
    expect(rolloutStatus(state)).toMatchObject({ stage: 'production', champion: 'c1', candidate: null, canaryWeight: 0 });
    expect(events.map((e) => `${e.event}:${e.version}:${e.from}->${e.to}:${e.champion}`)).toEqual([
      'init:baseline:null->production:baseline',
      'register:c1:null->registered:baseline',
      'start_shadow:c1:registered->shadow:baseline',
      'promote:c1:shadow->canary:baseline',
      'promote:c1:canary->production:c1',
      'retire:baseline:production->retired:c1',
    ]);
    expect(events[3]!.evaluation).toEqual(PASS);
    expect(state.seq).toBe(4);
  });

  it('reports the canary in status and routes about 5 % of keys to it and as many to control', () => {
    const { state } = run(toCanary);
    expect(rolloutStatus(state)).toMatchObject({ stage: 'canary', champion: 'baseline', candidate: 'c1', canaryWeight: 0.05 });
    const counts = { canary: 0, control: 0, production: 0 };
    for (let i = 0; i < 20_000; i++) {
      const s = servingFor(state, `k${i}`);
      counts[s.slice]++;
      expect(s.version).toBe(s.slice === 'canary' ? 'c1' : 'baseline');
    }
    expect(Math.abs(counts.canary / 20_000 - 0.05)).toBeLessThanOrEqual(0.005);
    expect(Math.abs(counts.control / 20_000 - 0.05)).toBeLessThanOrEqual(0.005);
    expect(servingFor(state, undefined)).toEqual({ slice: 'production', version: 'baseline' });
    expect(shadowCandidate(state)).toBe('c1');
  });

  it('ramps only upwards, with gates', () => {
    const { state, now } = run(toCanary);
    const up = applyCommand(state, { type: 'ramp', weight: 0.1, gates: PASS, ...who }, now + MIN);
    expect(rolloutStatus(up.state).canaryWeight).toBe(0.1);
    expect(errorOf(up.state, { type: 'ramp', weight: 0.05, gates: PASS, ...who }, now + 2 * MIN).code).toBe('E_TRANSITION_INVALID');
    expect(errorOf(up.state, { type: 'ramp', weight: 0.6, gates: PASS, ...who }, now + 2 * MIN).code).toBe('E_USAGE');
    expect(errorOf(up.state, { type: 'ramp', weight: 0.2, gates: FAIL, ...who }, now + 2 * MIN).code).toBe('E_GATE_FAILED');
  });

  it('accepts a JSON round trip of the state and never mutates its input', () => {
    const { state, now } = run(toCanary);
    const copy = JSON.parse(JSON.stringify(state)) as unknown;
    expect(parseRolloutState(copy)).toEqual(state);
    const before = JSON.stringify(state);
    transition(state, { type: 'rollback', reason: 'r', ...who }, now + MIN);
    transition(state, { type: 'promote', gates: PASS, ...who }, now + MIN);
    expect(JSON.stringify(state)).toBe(before);
    expect(() => parseRolloutState({ ...state, champion: 3 })).toThrow(/champion/);
  });
});

describe('rollout state machine: guards', () => {
  it('refuses a promotion whose gates failed (E_GATE_FAILED, with the gate summary)', () => {
    const { state, now } = run(toCanary.slice(0, 2));
    const e = errorOf(state, { type: 'promote', gates: FAIL, ...who }, now + MIN);
    expect(e.code).toBe('E_GATE_FAILED');
    expect(e.message).toContain('min_policy_value');
  });

  it('refuses automatic promotion in manual mode but lets a person promote, and still rolls back automatically', () => {
    const manual = machineOptions(rolloutConfig({ mode: 'manual' }));
    const { state, now } = run(toCanary.slice(0, 2), manual);
    const e = errorOf(state, { type: 'promote', gates: PASS, trigger: 'auto', ...who }, now + MIN, manual);
    expect(e.code).toBe('E_TRANSITION_INVALID');
    expect(e.message).toContain('manual');
    const canary = applyCommand(state, { type: 'promote', gates: PASS, ...who }, now + MIN, manual).state;
    const rb = applyCommand(canary, { type: 'rollback', trigger: 'auto', reason: 'guardrail', actor: 'judge' }, now + 2 * MIN, manual);
    expect(rolloutStatus(rb.state).stage).toBe('rolled_back');
  });

  it('needs a reason for hand-made pause, resume, abort, rollback and retry', () => {
    const { state, now } = run(toCanary);
    for (const type of ['pause', 'abort', 'rollback'] as const) {
      const e = errorOf(state, { type, ...who }, now + MIN);
      expect(e.code, type).toBe('E_USAGE');
      expect(e.message).toContain('reason');
    }
  });

  it('pauses (exposure 0) and resumes to the stage it left, re-checking gates', () => {
    const { state, now } = run(toCanary);
    const paused = applyCommand(state, { type: 'pause', reason: 'looking into SRM', ...who }, now + MIN).state;
    expect(rolloutStatus(paused)).toMatchObject({ stage: 'paused', pausedFrom: 'canary', canaryWeight: 0 });
    for (let i = 0; i < 2000; i++) expect(servingFor(paused, `k${i}`).slice).toBe('production');
    expect(errorOf(paused, { type: 'resume', reason: 'ok', gates: FAIL, ...who }, now + 2 * MIN).code).toBe('E_GATE_FAILED');
    expect(errorOf(paused, { type: 'promote', gates: PASS, ...who }, now + 2 * MIN).message).toContain('resume it first');
    const resumed = applyCommand(paused, { type: 'resume', reason: 'fixed the client', gates: PASS, ...who }, now + 2 * MIN).state;
    expect(rolloutStatus(resumed)).toMatchObject({ stage: 'canary', canaryWeight: 0.05 });
    expect(resumed.versions['c1']!.canaryStartedAt).toBe(state.versions['c1']!.canaryStartedAt);
  });

  it('aborts at once to exposure 0, and abort does not count as a rollback', () => {
    const { state, now } = run(toCanary);
    const aborted = applyCommand(state, { type: 'abort', reason: 'wrong artifact', ...who }, now + MIN).state;
    expect(rolloutStatus(aborted)).toMatchObject({ stage: 'aborted', canaryWeight: 0 });
    expect(aborted.versions['c1']!.rollbacks).toBe(0);
    expect(servingFor(aborted, 'k1').slice).toBe('production');
    expect(errorOf(aborted, { type: 'abort', reason: 'again', ...who }, now + 2 * MIN).code).toBe('E_TRANSITION_INVALID');
  });

  it('retries after the cooldown only, keeps the salt, and rejects a version rolled back twice', () => {
    const first = run(toCanary);
    const keys = Array.from({ length: 3000 }, (_, i) => `k${i}`);
    const canaryKeys = keys.filter((k) => servingFor(first.state, k).slice === 'canary');
    expect(canaryKeys.length).toBeGreaterThan(100);

    const rb = applyCommand(first.state, { type: 'rollback', trigger: 'auto', reason: 'success rate harm', actor: 'judge' }, first.now + MIN);
    const now = first.now + MIN;
    expect(rb.state.versions['c1']).toMatchObject({ stage: 'rolled_back', rollbacks: 1 });
    const early = errorOf(rb.state, { type: 'retry', reason: 'fixed', ...who }, now + 29 * MIN);
    expect(early.code).toBe('E_TRANSITION_INVALID');
    expect(early.message).toContain(`cooldown until ${new Date(now + 30 * MIN).toISOString()}`);

    const retried = applyCommand(rb.state, { type: 'retry', reason: 'fixed', ...who }, now + 30 * MIN).state;
    expect(rolloutStatus(retried)).toMatchObject({ stage: 'shadow', candidate: 'c1' });
    const second = applyCommand(retried, { type: 'promote', gates: PASS, ...who }, now + 31 * MIN).state;
    // The salt is the id: the retried canary serves exactly the keys the first one served.
    expect(keys.filter((k) => servingFor(second, k).slice === 'canary')).toEqual(canaryKeys);

    const back = applyCommand(second, { type: 'rollback', reason: 'still bad', ...who }, now + 32 * MIN);
    expect(back.events.map((e) => e.event)).toEqual(['rollback', 'reject']);
    expect(back.state.versions['c1']).toMatchObject({ stage: 'rejected', rollbacks: 2 });
    expect(errorOf(back.state, { type: 'retry', reason: 'please', ...who }, now + 999 * MIN).message).toContain('rejected');
    expect(errorOf(back.state, { type: 'register', id: 'c1', ...who }, now + 999 * MIN).message).toContain('already known');
  });

  it('rolls production back to the previous champion instantly, keeps 3, and never below the caller’s rules', () => {
    const promote = (id: string): RolloutCommand[] => [
      { type: 'register', id, ...who },
      { type: 'start_shadow', gates: PASS, ...who },
      { type: 'promote', gates: PASS, ...who },
      { type: 'promote', gates: PASS, ...who },
    ];
    const { state, now } = run([...promote('a'), ...promote('b'), ...promote('c'), ...promote('d')]);
    expect(state.champion).toBe('d');
    expect(state.previousChampions).toEqual(['c', 'b', 'a']);
    const r1 = applyCommand(state, { type: 'rollback', reason: 'drift alert', ...who }, now + MIN);
    expect(r1.state.champion).toBe('c');
    expect(r1.events.map((e) => `${e.event}:${e.version}:${e.champion}`)).toEqual(['rollback:d:c', 'restore:c:c']);
    expect(rolloutStatus(r1.state)).toMatchObject({ stage: 'rolled_back', candidate: 'd', champion: 'c' });
    const r2 = applyCommand(r1.state, { type: 'rollback', reason: 'x', ...who }, now + 2 * MIN).state;
    const r3 = applyCommand(r2, { type: 'rollback', reason: 'x', ...who }, now + 3 * MIN).state;
    expect(r3.champion).toBe('a');
    const e = errorOf(r3, { type: 'rollback', reason: 'x', ...who }, now + 4 * MIN);
    expect(e.message).toContain('no previous champion');
    const base = run([]).state;
    expect(errorOf(base, { type: 'rollback', reason: 'x', ...who }, T0 + MIN).message).toContain('caller’s own rules');
  });

  it('pauses a running canary when production is rolled back under it', () => {
    const { state, now } = run([
      { type: 'register', id: 'a', ...who },
      { type: 'start_shadow', gates: PASS, ...who },
      { type: 'promote', gates: PASS, ...who },
      { type: 'promote', gates: PASS, ...who },
      ...toCanary,
    ]);
    const r = applyCommand(state, { type: 'rollback', target: 'a', reason: 'incident', ...who }, now + MIN);
    expect(r.state.champion).toBe('baseline');
    expect(r.state.versions['c1']).toMatchObject({ stage: 'paused', pausedFrom: 'canary' });
    expect(r.state.candidate).toBe('c1');
  });

  it('supersedes a shadow candidate with a newer one, but not a running canary', () => {
    const { state, now } = run(toCanary.slice(0, 2));
    const r = applyCommand(state, { type: 'register', id: 'c2', ...who }, now + MIN);
    expect(r.events.map((e) => `${e.event}:${e.version}:${e.to}`)).toEqual(['supersede:c1:aborted', 'register:c2:registered']);
    const canary = run(toCanary).state;
    expect(errorOf(canary, { type: 'register', id: 'c2', ...who }, now + MIN).message).toContain('in canary');
    expect(errorOf(canary, { type: 'abort', target: 'baseline', reason: 'x', ...who }, now + MIN).message).toContain('roll it back instead');
    expect(errorOf(canary, { type: 'pause', target: 'zzz', reason: 'x', ...who }, now + MIN).message).toContain('not the candidate');
  });

  it('refuses malformed commands without throwing', () => {
    const { state } = run([]);
    const r = transition(state, { type: 'register', id: '', actor: 'x' }, T0);
    expect(r.ok).toBe(false);
    const bad = transition(state, { type: 'nonsense' } as unknown as RolloutCommand, T0);
    expect(!bad.ok && isUmbraError(bad.error, 'E_USAGE')).toBe(true);
    expect(transition(state, { type: 'abort', reason: 'x', actor: 'x' }, Number.NaN).ok).toBe(false);
  });
});

// ---- Properties over random command sequences -------------------------------------------------

const ids = ['v1', 'v2', 'v3', 'v4', 'v5', 'v6'];
const trig = fc.constantFrom('auto' as const, 'manual' as const);
// Weighted towards the commands that move a candidate forward, so that runs reach canary and production often.
const commandArb: fc.Arbitrary<RolloutCommand> = fc.oneof(
  { arbitrary: fc.record({ type: fc.constant('register' as const), id: fc.constantFrom(...ids, 'baseline'), actor: fc.constant('p') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('start_shadow' as const), gates: fc.constantFrom(PASS, PASS, FAIL), actor: fc.constant('p'), trigger: trig }), weight: 3 },
  { arbitrary: fc.record({ type: fc.constant('promote' as const), gates: fc.constantFrom(PASS, PASS, FAIL), actor: fc.constant('p'), trigger: trig }), weight: 5 },
  { arbitrary: fc.record({ type: fc.constant('ramp' as const), gates: fc.constant(PASS), weight: fc.constantFrom(0.1, 0.2, 0.5), actor: fc.constant('p') }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('pause' as const), reason: fc.constant('r'), actor: fc.constant('p'), trigger: trig }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('resume' as const), gates: fc.constantFrom(PASS, FAIL), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('abort' as const), reason: fc.constant('r'), actor: fc.constant('p') }), weight: 1 },
  { arbitrary: fc.record({ type: fc.constant('rollback' as const), reason: fc.constant('r'), actor: fc.constant('p'), trigger: trig }), weight: 1 },
  // '@champion' is resolved to the current champion when the step runs (see below).
  { arbitrary: fc.record({ type: fc.constant('rollback' as const), reason: fc.constant('r'), actor: fc.constant('p'), target: fc.constantFrom('@champion', '@champion', ...ids) }), weight: 2 },
  { arbitrary: fc.record({ type: fc.constant('retry' as const), reason: fc.constant('r'), actor: fc.constant('p'), id: fc.constantFrom(...ids) }), weight: 2 },
);
const stepArb = fc.record({ cmd: commandArb, dtMin: fc.constantFrom(1, 5, 31, 120) });

function checkInvariants(s: RolloutState, opts: MachineOptions): void {
  const prod = Object.values(s.versions).filter((v) => v.stage === Stage.PRODUCTION);
  expect(prod.map((v) => v.id)).toEqual([s.champion]);
  const flying = Object.values(s.versions).filter((v) => IN_FLIGHT.includes(v.stage));
  expect(flying.length).toBeLessThanOrEqual(1);
  if (flying.length === 1) expect(s.candidate).toBe(flying[0]!.id);
  expect(new Set(s.previousChampions).size).toBe(s.previousChampions.length);
  expect(s.previousChampions.length).toBeLessThanOrEqual(opts.keepChampions);
  for (const id of s.previousChampions) expect(s.versions[id]!.stage).toBe(Stage.RETIRED);
  for (const v of Object.values(s.versions)) {
    if (v.stage !== Stage.CANARY && v.stage !== Stage.PAUSED) expect(v.canaryWeight).toBe(0);
    expect(v.rollbacks >= opts.maxRollbacks).toBe(v.stage === Stage.REJECTED);
  }
  expect(parseRolloutState(JSON.parse(JSON.stringify(s)))).toEqual(s);
}

describe('rollout state machine: invariants over random command sequences (fast-check)', () => {
  for (const mode of ['auto', 'manual'] as const) {
    it(`keeps exactly one champion, one candidate at most, rejected final, rollback always possible from active states (mode ${mode})`, () => {
      const opts = machineOptions(rolloutConfig({ mode }));
      const seen = new Set<string>();
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 1, maxLength: 80, size: 'max' }), (steps) => {
          let { state } = initRollout(T0);
          let now = T0;
          const rejected = new Set<string>();
          seen.add('run');
          for (const { cmd, dtMin } of steps) {
            now += dtMin * MIN;
            // Rollback is always allowed while something is active.
            const active = inFlight(state) !== null || state.previousChampions.length > 0;
            const rb = transition(state, { type: 'rollback', reason: 'probe', actor: 'p' }, now, opts);
            expect(rb.ok).toBe(active);
            const before = state;
            const resolved: RolloutCommand = cmd.target === '@champion' ? { ...cmd, target: state.champion } : cmd;
            const r = transition(state, resolved, now, opts);
            if (!r.ok) {
              expect(['E_TRANSITION_INVALID', 'E_GATE_FAILED', 'E_USAGE']).toContain(r.error.code);
              continue;
            }
            state = r.state;
            for (const e of r.events) seen.add(`${e.event}:${e.from}->${e.to}`);
            expect(state.seq).toBe(before.seq + 1);
            for (const e of r.events) expect(e.ts).toBe(new Date(now).toISOString());
            if (cmd.type === 'retry') {
              const id = cmd.id!;
              expect(now - Date.parse(before.versions[id]!.since)).toBeGreaterThanOrEqual(opts.retryCooldownMs);
            }
            if (mode === 'manual' && (cmd.type === 'promote' || cmd.type === 'ramp')) expect(cmd.trigger ?? 'manual').toBe('manual');
            for (const id of rejected) expect(state.versions[id]!.stage).toBe(Stage.REJECTED);
            for (const v of Object.values(state.versions)) if (v.stage === Stage.REJECTED) rejected.add(v.id);
            checkInvariants(state, opts);
          }
        }),
        { seed: mode === 'auto' ? 1234 : 4321, numRuns: 120 },
      );
      // The generator must actually reach the interesting transitions, or the properties prove little.
      for (const t of ['promote:canary->production', 'rollback:canary->rolled_back', 'restore:retired->production', 'reject:rolled_back->rejected', 'retry:rolled_back->shadow', 'resume:paused->canary', 'ramp:canary->canary', 'pause:shadow->paused']) {
        expect(seen.has(t), `never reached ${t}; seen ${[...seen].join(" ")}`).toBe(true);
      }
    });
  }
});
