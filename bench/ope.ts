/**
 * Off-policy evaluation at scale: a 1,000,000-event synthetic log (three actions, a stochastic
 * logger, a different target, reward-model predictions), evaluated with IPS + SNIPS + DR and 1,000
 * Poisson-bootstrap resamples in one streaming pass. Target: under 10 s on one core. The in-run
 * baseline is a single plain IPS pass over the same events (Σ π(a)/μ(a)·r, nothing else).
 * `quick`: 50,000 events and 100 resamples.
 */
import { OpeAccumulator } from '../src/core/ope/index.js';
import type { LoggedSample } from '../src/core/ope/types.js';
import { Rng } from '../src/core/rng.js';
import { median, type BenchFn } from './types.js';

/** The synthetic log in columns (so that generating it is not part of what is measured). */
interface Columns {
  n: number;
  action: Uint8Array;
  reward: Float64Array;
  mu: Float64Array; // 3 per event
  pi: Float64Array; // 3 per event
  q: Float64Array; // 3 per event
}

function makeLog(n: number, seed: number): Columns {
  const rng = new Rng(seed);
  const c: Columns = { n, action: new Uint8Array(n), reward: new Float64Array(n), mu: new Float64Array(3 * n), pi: new Float64Array(3 * n), q: new Float64Array(3 * n) };
  for (let i = 0; i < n; i++) {
    const x = rng.next();
    // logger: 80 % on a rule, 20 % uniform; target: softmax of a different score
    const rule = x < 0.4 ? 0 : x < 0.8 ? 1 : 2;
    const s = [Math.exp(2 * x), Math.exp(1), Math.exp(2 - 2 * x)];
    const z = s[0]! + s[1]! + s[2]!;
    const truth = [0.5 + 0.3 * x, 0.6, 0.8 - 0.4 * x];
    for (let a = 0; a < 3; a++) {
      c.mu[3 * i + a] = (a === rule ? 0.8 : 0) + 0.2 / 3;
      c.pi[3 * i + a] = s[a]! / z;
      c.q[3 * i + a] = truth[a]! + 0.05 * (rng.next() - 0.5);
    }
    const u = rng.next();
    const a = u < c.mu[3 * i]! ? 0 : u < c.mu[3 * i]! + c.mu[3 * i + 1]! ? 1 : 2;
    c.action[i] = a;
    c.reward[i] = rng.next() < truth[a]! ? 1 : 0;
  }
  return c;
}

/** Stream the columns as LoggedSamples through one reused object (the estimators keep nothing). */
function stream(c: Columns, visit: (s: LoggedSample) => void): void {
  const lp = new Float64Array(3);
  const tp = new Float64Array(3);
  const pr = new Float64Array(3);
  const s: LoggedSample = { reward: 0, action: 0, loggingProb: 1, loggingProbs: lp, targetProbs: tp, predicted: pr };
  for (let i = 0; i < c.n; i++) {
    const o = 3 * i;
    for (let a = 0; a < 3; a++) {
      lp[a] = c.mu[o + a]!;
      tp[a] = c.pi[o + a]!;
      pr[a] = c.q[o + a]!;
    }
    s.action = c.action[i]!;
    s.reward = c.reward[i]!;
    s.loggingProb = lp[s.action]!;
    visit(s);
  }
}

export const run: BenchFn = async ({ quick }) => {
  const n = quick ? 50_000 : 1_000_000;
  const resamples = quick ? 100 : 1000;
  const reps = 3;
  const log = makeLog(n, 20250904);
  const plain: number[] = [];
  const full: number[] = [];
  const cpu: number[] = [];
  let check = 0;
  let last: ReturnType<OpeAccumulator['report']> | undefined;
  for (let r = 0; r < reps; r++) {
    let t0 = performance.now();
    let sum = 0;
    stream(log, (s) => {
      sum += (s.targetProbs[s.action]! / s.loggingProb!) * s.reward;
    });
    plain.push((performance.now() - t0) / 1000);
    check = sum / n;
    t0 = performance.now();
    const c0 = process.cpuUsage();
    const acc = new OpeAccumulator({ estimators: ['ips', 'snips', 'dr'], bootstrap: resamples, seed: r });
    stream(log, (s) => {
      acc.add(s);
    });
    last = acc.report();
    full.push((performance.now() - t0) / 1000);
    const cu = process.cpuUsage(c0);
    cpu.push((cu.user + cu.system) / 1e6);
  }
  const ips = last?.estimates.ips?.value ?? NaN;
  if (Math.abs(ips - check) > 1e-9) throw new Error(`IPS ${ips} differs from the plain pass ${check}`);
  const fullMed = median(full);
  const plainMed = median(plain);
  return {
    name: 'ope',
    description: `${n.toLocaleString('en-US')} logged events (3 actions), IPS + SNIPS + DR with ${resamples.toLocaleString('en-US')} Poisson-bootstrap resamples, one streaming pass, one core; baseline: a plain IPS pass over the same events`,
    metrics: [
      { name: 'ope_seconds', value: fullMed, unit: 's', better: 'lower', samples: full, ...(quick ? {} : { target: 10 }) },
      { name: 'ope_cpu_seconds', value: median(cpu), unit: 's', better: 'lower', samples: cpu, ...(quick ? {} : { target: 10 }) },
      { name: 'ope_events_per_s', value: n / fullMed, unit: 'events/s', better: 'higher', samples: full.map((t) => n / t) },
      { name: 'plain_ips_seconds', value: plainMed, unit: 's', better: 'lower', samples: plain },
    ],
    ratios: [{ name: 'ope_over_plain_ips', value: fullMed / plainMed, better: 'lower' }],
    notes: [
      `estimates: IPS ${ips.toFixed(4)}, SNIPS ${last?.estimates.snips?.value?.toFixed(4)}, DR ${last?.estimates.dr?.value?.toFixed(4)}; DR bootstrap interval ${JSON.stringify(last?.estimates.dr?.intervals.bootstrap?.map((x) => Number(x.toFixed(4))))}`,
      'memory does not grow with the log: the bootstrap resamples blocks of 1,024 events while they are in cache',
      'ope_seconds is wall time, ope_cpu_seconds the process CPU time of the same runs (they differ when the machine is shared)',
    ],
  };
};
