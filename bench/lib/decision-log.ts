/**
 * A synthetic canonical decision log on disk, the size a user's month of traffic has: n events with
 * four actions, a context of numerics and categories, a stochastic logger with exact propensities
 * and full `probs`, a reward per event; and a target file (`{id, probs}` per event) for
 * `umbra ope --target`. Written with large buffered writes; seeded, so the same n gives the same bytes.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import { Rng } from '../../src/core/rng.js';

const ACTIONS = ['a0', 'a1', 'a2', 'a3'] as const;
const SEGMENTS = ['free', 'pro', 'team', 'enterprise'];
const REGIONS = ['eu-north', 'eu-west', 'us-east', 'us-west', 'apac'];
const DEVICES = ['ios', 'android', 'web', 'desktop'];

/** Buffered line writer (one write per 4 MiB). */
class Lines {
  private readonly fd: number;
  private buf = '';
  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }
  push(s: string): void {
    this.buf += s;
    if (this.buf.length > 4 << 20) this.flush();
  }
  flush(): void {
    if (this.buf.length > 0) writeSync(this.fd, this.buf);
    this.buf = '';
  }
  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

/** Write the log and the target file; returns their sizes in events. */
export function writeDecisionLog(logPath: string, targetPath: string, n: number, seed = 11): { events: number } {
  const rng = new Rng(seed);
  const log = new Lines(logPath);
  const target = new Lines(targetPath);
  const t0 = Date.UTC(2025, 0, 1);
  for (let i = 0; i < n; i++) {
    const x1 = rng.next();
    const x2 = rng.next() * 10;
    const seg = SEGMENTS[Math.floor(rng.next() * SEGMENTS.length)]!;
    const region = REGIONS[Math.floor(rng.next() * REGIONS.length)]!;
    const device = DEVICES[Math.floor(rng.next() * DEVICES.length)]!;
    const context = { load: r4(x1), queue: r4(x2), tokens: Math.floor(rng.next() * 4000), segment: seg, region, device, returning: rng.next() < 0.6, hour: i % 24 };
    // Logger: a rule on the load with a 10 % floor over the four actions.
    const rule = x1 < 0.25 ? 0 : x1 < 0.5 ? 1 : x1 < 0.75 ? 2 : 3;
    const mu = ACTIONS.map((_, a) => (a === rule ? 0.9 : 0) + 0.1 / 4);
    const u = rng.next();
    let a = 0;
    for (let c = mu[0]!; u >= c && a < 3; c += mu[++a]!);
    const truth = [0.4 + 0.4 * x1, 0.55, 0.7 - 0.3 * x1, 0.5 + (seg === 'pro' ? 0.2 : 0)];
    const reward = rng.next() < truth[a]! ? 1 : 0;
    const id = `e${i.toString(36).padStart(6, '0')}`;
    const ts = new Date(t0 + i * 1000).toISOString();
    const probs = Object.fromEntries(ACTIONS.map((x, k) => [x, mu[k]!]));
    log.push(`${JSON.stringify({ v: 1, id, ts, point: 'route', context, actions: ACTIONS, action: ACTIONS[a]!, propensity: mu[a]!, probs, policy: 'rules@bench', baseline: ACTIONS[rule]!, reward })}\n`);
    // Target: a softmax on a different score, rounded so that probabilities still sum to 1.
    const s = [Math.exp(2 * x1), Math.exp(1), Math.exp(2 - 2 * x1), Math.exp(seg === 'pro' ? 1.5 : 0.5)];
    const z = s.reduce((p, q) => p + q, 0);
    const p = s.map((v) => Math.floor((v / z) * 1e6) / 1e6);
    p[3] = 1 - p[0]! - p[1]! - p[2]!;
    target.push(`${JSON.stringify({ id, probs: Object.fromEntries(ACTIONS.map((x, k) => [x, p[k]!])) })}\n`);
  }
  log.close();
  target.close();
  return { events: n };
}
