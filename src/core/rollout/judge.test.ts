import { describe, expect, it } from 'vitest';
import { Rng } from '../rng.js';
import { QuantileSketch } from '../stats/quantile.js';
import { rolloutConfig, type RolloutConfig, type RolloutConfigInput } from '../config/rollout.js';
import {
  commandFromVerdict,
  emptySlice,
  formatVerdict,
  gateFromVerdict,
  judgeCanary,
  type JudgeState,
  type JudgeVerdict,
  type SliceAggregates,
} from './judge.js';
import { applyCommand, initRollout, rolloutStatus, type RolloutCommand } from './machine.js';

const T0 = Date.parse('2025-05-01T00:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;

/** How a slice's traffic behaves. */
interface Behaviour {
  success: number;
  /** Share of outcomes that ended in an error/fallback route. */
  errorOutcome: number;
  /** Share of decisions where the policy itself threw. */
  policyError: number;
  /** Median latency (ms) of a log-normal with sigma 0.5. */
  latencyMedian: number;
  cost: number;
}
const BASE: Behaviour = { success: 0.8, errorOutcome: 0.03, policyError: 0, latencyMedian: 400, cost: 0.003 };

/** A slice accumulating simulated decisions and outcomes. */
class SimSlice {
  readonly agg: SliceAggregates = emptySlice();
  readonly sketch = new QuantileSketch(0.01);
  readonly b: Behaviour;
  readonly rng: Rng;
  constructor(b: Behaviour, rng: Rng) {
    this.b = b;
    this.rng = rng;
  }
  decide(count: number): void {
    for (let i = 0; i < count; i++) {
      const a = this.agg;
      a.decisions++;
      if (this.rng.next() < this.b.policyError) a.policyErrors++;
      a.outcomes++;
      const ok = this.rng.next() < this.b.success;
      if (ok) a.successes++;
      if (this.rng.next() < this.b.errorOutcome) a.errorOutcomes++;
      const r = ok ? 0.7 + 0.3 * this.rng.next() : 0.3 * this.rng.next();
      a.reward = { n: a.reward.n + 1, sum: a.reward.sum + r, sumSq: a.reward.sumSq + r * r };
      const c = this.b.cost * (0.5 + this.rng.next());
      a.cost = { n: a.cost.n + 1, sum: a.cost.sum + c, sumSq: a.cost.sumSq + c * c };
      this.sketch.add(this.b.latencyMedian * Math.exp(0.5 * this.rng.normal()));
    }
  }
  snapshot(): SliceAggregates {
    return { ...this.agg, latency: this.sketch.toJSON() };
  }
}

interface Scenario {
  seed: number;
  canary: Partial<Behaviour>;
  control?: Partial<Behaviour>;
  /** Decisions per slice per check. */
  perCheck: number;
  /** Extra share of decisions the canary gets (SRM). */
  canaryExtra?: number;
  checkEvery: number;
  maxChecks: number;
  cfg?: RolloutConfigInput;
}

/** Run a canary on a fake clock until the judge acts (anything but continue/hold) or time runs out. */
function runCanary(s: Scenario): { verdict: JudgeVerdict; checks: number; perSlice: number; verdicts: JudgeVerdict[] } {
  const cfg: RolloutConfig = rolloutConfig(s.cfg ?? {});
  const rng = new Rng(s.seed);
  const canary = new SimSlice({ ...BASE, ...s.canary }, new Rng(s.seed, 1));
  const control = new SimSlice({ ...BASE, ...s.control }, new Rng(s.seed, 2));
  let state: JudgeState | null = null;
  const verdicts: JudgeVerdict[] = [];
  for (let i = 1; i <= s.maxChecks; i++) {
    const extra = s.perCheck * (s.canaryExtra ?? 0);
    canary.decide(s.perCheck + Math.floor(extra) + (rng.next() < extra % 1 ? 1 : 0));
    control.decide(s.perCheck);
    const r = judgeCanary({ now: T0 + i * s.checkEvery, startedAt: T0, canaryWeight: 0.05, canary: canary.snapshot(), control: control.snapshot() }, state, cfg);
    state = r.state;
    verdicts.push(r.verdict);
    if (r.verdict.action !== 'continue' && r.verdict.action !== 'hold') return { verdict: r.verdict, checks: i, perSlice: control.agg.decisions, verdicts };
  }
  return { verdict: verdicts.at(-1)!, checks: s.maxChecks, perSlice: control.agg.decisions, verdicts };
}

describe('canary judge: scenarios', () => {
  it('rolls back a clearly worse candidate (success 80 % → 70 %) within 3,000 decisions per slice, every seed', () => {
    const by: Record<string, number> = {};
    for (let seed = 1; seed <= 20; seed++) {
      const r = runCanary({ seed, canary: { success: 0.7 }, perCheck: 25, checkEvery: MIN, maxChecks: 200 });
      expect(r.verdict.action, `seed ${seed}: ${r.verdict.reason}`).toBe('rollback');
      // The reward follows success here, so the primary metric may prove inferiority first.
      expect(r.verdict.reason).toMatch(/guardrail\.success_rate|primary\.reward/);
      by[r.verdict.reason.includes('guardrail') ? 'guardrail' : 'primary'] = (by[r.verdict.reason.includes('guardrail') ? 'guardrail' : 'primary'] ?? 0) + 1;
      expect(r.perSlice, `seed ${seed}`).toBeLessThanOrEqual(3000);
    }
    // With the primary test out of the way, the success-rate guardrail alone catches it too.
    const per: number[] = [];
    for (let seed = 1; seed <= 20; seed++) {
      const r = runCanary({ seed, canary: { success: 0.7 }, perCheck: 25, checkEvery: MIN, maxChecks: 200, cfg: { primary_alpha: 1e-12 } });
      expect(r.verdict.reason, `seed ${seed}`).toContain('guardrail.success_rate');
      expect(r.perSlice, `seed ${seed}`).toBeLessThanOrEqual(3000);
      per.push(r.perSlice);
    }
    per.sort((a, b) => a - b);
    console.log(`[measured] judge, success 80 % → 70 % at 25 decisions/slice/min: rolled back in all 20 seeds (success guardrail among the FAILs in ${by['guardrail'] ?? 0}, the primary reward alone in ${by['primary'] ?? 0}); guardrail alone after median ${per[10]} / max ${per[19]} decisions per slice (20 seeds)`);
  });

  it('does not roll back an equal candidate over 100 seeded runs of 24 h judged every 20 min (false positives ≤ alpha)', () => {
    let rollbacks = 0;
    let promoted = 0;
    for (let seed = 1; seed <= 100; seed++) {
      const r = runCanary({ seed: 1000 + seed, canary: {}, perCheck: 60, checkEvery: 20 * MIN, maxChecks: 3 * 24, cfg: { mode: 'manual' } });
      if (r.verdict.action === 'rollback') rollbacks++;
      if (r.verdicts.some((v) => v.readyToPromote)) promoted++;
    }
    // alpha = 0.05 over all guardrails together (plus 0.05 for proven inferiority): expect far fewer.
    console.log(`[measured] judge, equal candidate, 100 seeds × 24 h (4,320 decisions/slice, judged every 20 min): ${rollbacks} rollbacks, ${promoted} reached every promotion gate`);
    expect(rollbacks, 'rollbacks of an equal candidate over seeds 1001..1100').toBeLessThanOrEqual(5);
    expect(promoted).toBeGreaterThan(0);
  });

  it('promotes a better candidate once the minimum is met (auto), and only holds in manual mode', () => {
    const better = { success: 0.86, errorOutcome: 0.02 };
    const r = runCanary({ seed: 7, canary: better, perCheck: 30, checkEvery: 10 * MIN, maxChecks: 400 });
    expect(r.verdict.action, r.verdict.reason).toBe('promote');
    expect(r.verdict.readyToPromote).toBe(true);
    // 24 h or 2,000 decisions per slice (rule "any"): the samples come first here.
    expect(r.perSlice).toBeGreaterThanOrEqual(2000);
    const manual = runCanary({ seed: 7, canary: better, perCheck: 30, checkEvery: 10 * MIN, maxChecks: 120, cfg: { mode: 'manual' } });
    const ready = manual.verdicts.find((v) => v.readyToPromote)!;
    expect(ready.action).toBe('hold');
    expect(ready.reason).toContain('manual');
  });

  it('holds on low traffic and never rolls back for lack of data, even for a bad candidate', () => {
    const r = runCanary({ seed: 3, canary: { success: 0.5 }, perCheck: 1, checkEvery: HOUR, maxChecks: 48 });
    expect(r.verdicts.every((v) => v.action === 'hold')).toBe(true);
    const last = r.verdicts.at(-1)!;
    expect(last.checks.find((c) => c.name === 'guardrail.success_rate')!.outcome).toBe('INSUFFICIENT_DATA');
    expect(last.reason).toContain('waiting for data');
  });

  it('pauses on a sample-ratio mismatch (canary 15 % larger than control)', () => {
    const r = runCanary({ seed: 5, canary: {}, canaryExtra: 0.15, perCheck: 20, checkEvery: MIN, maxChecks: 500 });
    expect(r.verdict.action).toBe('pause');
    expect(r.verdict.reason).toContain('sample-ratio mismatch');
    const srm = r.verdict.checks.find((c) => c.name === 'srm')!;
    expect(srm.outcome).toBe('FAIL');
    expect(srm.value!).toBeLessThan(0.001);
  });

  it('trips the hard breaker on candidate policy errors above the cap', () => {
    const r = runCanary({ seed: 9, canary: { policyError: 0.2 }, perCheck: 10, checkEvery: MIN, maxChecks: 50 });
    expect(r.verdict.action).toBe('rollback');
    expect(r.verdict.reason).toContain('hard.error_rate');
    expect(r.checks).toBeLessThanOrEqual(6);
  });

  it('rolls back on p95 latency harm (median 400 → 600 ms)', () => {
    const r = runCanary({ seed: 11, canary: { latencyMedian: 600 }, perCheck: 25, checkEvery: MIN, maxChecks: 300 });
    expect(r.verdict.action).toBe('rollback');
    expect(r.verdict.reason).toContain('guardrail.p95_latency_ms');
  });

  it('pauses for a human when still undecided at the maximum duration', () => {
    // Slightly worse reward: neither non-inferior nor proven inferior within 2 h at this traffic.
    const r = runCanary({ seed: 13, canary: { success: 0.79 }, perCheck: 5, checkEvery: 10 * MIN, maxChecks: 100, cfg: { canary_max_duration_s: 7200, canary_min_duration_s: 3600 } });
    expect(r.verdict.action).toBe('pause');
    expect(r.verdict.reason).toContain('maximum canary duration');
    expect(r.checks).toBe(12);
  });
});

describe('canary judge: blindness and bad input', () => {
  const cfg = rolloutConfig({});
  const slice = (): SliceAggregates => ({ ...emptySlice(), decisions: 500, outcomes: 500, successes: 400, reward: { n: 500, sum: 300, sumSq: 200 } });

  it('counts missing metrics as ERROR, holds, and rolls back once blind (4 errors over 15 min)', () => {
    let state: JudgeState | null = null;
    const actions: string[] = [];
    for (let i = 1; i <= 20; i++) {
      const r = judgeCanary({ now: T0 + i * MIN, startedAt: T0, canaryWeight: 0.05, canary: null, control: slice() }, state, cfg);
      state = r.state;
      actions.push(r.verdict.action);
      expect(r.verdict.checks.some((c) => c.outcome === 'ERROR')).toBe(true);
      if (r.verdict.action === 'rollback') {
        expect(r.verdict.reason).toContain('blind');
        break;
      }
    }
    // First error at minute 1; blind once 15 min have passed with at least 4 consecutive errors.
    expect(actions.slice(0, 15).every((a) => a === 'hold')).toBe(true);
    expect(actions.at(-1)).toBe('rollback');
    expect(actions.length).toBe(16);
  });

  it('resets the blindness streak when metrics come back', () => {
    let state: JudgeState | null = null;
    for (let i = 1; i <= 10; i++) state = judgeCanary({ now: T0 + i * MIN, startedAt: T0, canaryWeight: 0.05, canary: null, control: null }, state, cfg).state;
    expect(state!.consecutiveErrors).toBe(10);
    const back = judgeCanary({ now: T0 + 11 * MIN, startedAt: T0, canaryWeight: 0.05, canary: slice(), control: slice() }, state, cfg);
    expect(back.state).toMatchObject({ consecutiveErrors: 0, firstErrorAt: null });
  });

  it('never throws on malformed aggregates: ERROR with the path of the problem', () => {
    for (const bad of [{}, { decisions: -1 }, 'nope', { ...slice(), successes: 900 }, { ...slice(), latency: { accuracy: 2 } }]) {
      const r = judgeCanary({ now: T0 + MIN, startedAt: T0, canaryWeight: 0.05, canary: bad, control: slice() }, null, cfg);
      expect(r.verdict.action).toBe('hold');
      expect(r.verdict.checks.filter((c) => c.outcome === 'ERROR').length).toBeGreaterThan(3);
    }
    const r = judgeCanary({ now: T0 + MIN, startedAt: T0, canaryWeight: 0.05, canary: { ...slice(), successes: 900 }, control: slice() }, null, cfg);
    expect(r.verdict.checks[1]!.message).toContain('canary aggregates invalid at successes');
  });

  it('treats a metric reported for one slice only as ERROR, and one reported by neither as nothing to guard', () => {
    const withLatency = (): SliceAggregates => {
      const s = new QuantileSketch();
      for (let i = 0; i < 500; i++) s.add(100 + i);
      return { ...slice(), latency: s.toJSON() };
    };
    const one = judgeCanary({ now: T0 + MIN, startedAt: T0, canaryWeight: 0.05, canary: slice(), control: withLatency() }, null, cfg);
    expect(one.verdict.checks.find((c) => c.name === 'guardrail.p95_latency_ms')!.outcome).toBe('ERROR');
    const none = judgeCanary({ now: T0 + MIN, startedAt: T0, canaryWeight: 0.05, canary: slice(), control: slice() }, null, cfg);
    const lat = none.verdict.checks.find((c) => c.name === 'guardrail.p95_latency_ms')!;
    expect(lat.outcome).toBe('PASS');
    expect(lat.message).toContain('not reported');
  });
});

describe('canary judge: readable verdicts and the state machine', () => {
  it('states statistic, n, interval and threshold for every check', () => {
    const r = runCanary({ seed: 21, canary: { success: 0.7 }, perCheck: 25, checkEvery: MIN, maxChecks: 200, cfg: { primary_alpha: 1e-12 } });
    const sr = r.verdict.checks.find((c) => c.name === 'guardrail.success_rate')!;
    expect(sr).toMatchObject({ outcome: 'FAIL', kind: 'guardrail', interval: { kind: 'anytime', hi: null } });
    expect(sr.threshold).toBe(0.01);
    expect(sr.alpha).toBeCloseTo(0.0125, 10);
    expect(sr.interval!.lo!).toBeGreaterThan(0.01);
    expect(sr.message).toMatch(/canary \d+(\.\d+)? % \[.*\] n=\d+ vs control .* n=\d+; harm \(control − canary\) proven: anytime lower bound .* > floor 1 pt/);
    const text = formatVerdict(r.verdict);
    expect(text.split('\n').length).toBe(r.verdict.checks.length + 1);
    expect(text).toContain('ROLLBACK');
    expect(JSON.parse(JSON.stringify(r.verdict))).toEqual(r.verdict);
  });

  it('turns verdicts into machine commands that carry the verdict into the audit event', () => {
    const PASS = { passed: true, summary: 'ok' };
    let { state } = initRollout(T0);
    for (const c of [
      { type: 'register', id: 'c1', actor: 't' },
      { type: 'start_shadow', gates: PASS, actor: 't' },
      { type: 'promote', gates: PASS, actor: 't' },
    ] as RolloutCommand[]) state = applyCommand(state, c, T0).state;
    const bad = runCanary({ seed: 1, canary: { success: 0.7 }, perCheck: 25, checkEvery: MIN, maxChecks: 200 }).verdict;
    const cmd = commandFromVerdict(bad, 'c1')!;
    const r = applyCommand(state, cmd, T0 + HOUR);
    expect(rolloutStatus(r.state).stage).toBe('rolled_back');
    expect(r.events[0]).toMatchObject({ event: 'rollback', trigger: 'auto', actor: 'judge', evaluation: bad });
    expect(gateFromVerdict(bad).passed).toBe(false);
    const good = runCanary({ seed: 7, canary: { success: 0.86, errorOutcome: 0.02 }, perCheck: 30, checkEvery: 10 * MIN, maxChecks: 400 }).verdict;
    const promote = applyCommand(state, commandFromVerdict(good, 'c1')!, T0 + HOUR);
    expect(promote.state.champion).toBe('c1');
    expect(commandFromVerdict({ ...good, action: 'hold' }, 'c1')).toBeNull();
  });
});
