/**
 * HWU64 (real utterances to a home assistant, fold 1) as a text-only routing bandit for the learning
 * tests and docs/learning.md:
 * - context = { text: the utterance }, actions = the 18 scenarios (or the 64 intents);
 * - reward 1 when the action is the utterance's label, else 0 (every action's reward is known);
 * - the training log is written by a fixed non-uniform logger with a floor: for logging seed s,
 *   π₀(a) = (1 − floor) · softmax(temperature · u_a) + floor / K with u_a uniform in [0, 1) drawn from
 *   `drawFor(7s + 1, "pref-a")`; it does not look at the context (a logger that does would only add
 *   more skew); draws come from `drawFor(s, id)`, so only the served action's reward is seen.
 * True values on the test fold are exact: V(π) = mean over utterances of π(label | x).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import type { DecisionEventInput } from '../../src/core/events.js';
import { drawFor } from '../../src/core/rng.js';
import { sharedFile } from '../helpers/shared-data.js';

export interface Utterance {
  id: string;
  text: string;
  label: string;
}

/** Parse one CSV line with double-quoted fields. */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i <= line.length) {
    if (line[i] === '"') {
      let j = i + 1;
      let s = '';
      for (;;) {
        if (j >= line.length) break;
        if (line[j] === '"' && line[j + 1] === '"') {
          s += '"';
          j += 2;
          continue;
        }
        if (line[j] === '"') break;
        s += line[j++];
      }
      out.push(s);
      i = j + 2;
    } else {
      let j = line.indexOf(',', i);
      if (j < 0) j = line.length;
      out.push(line.slice(i, j));
      i = j + 1;
    }
  }
  return out;
}

/** Train and test utterances labelled by scenario or intent, and the sorted label set. */
export function loadHwu64(label: 'scenario' | 'intent' = 'scenario'): { labels: string[]; train: Utterance[]; test: Utterance[] } {
  const lines = gunzipSync(readFileSync(sharedFile('hwu64', 'hwu64.csv.gz'))).toString('utf8').split(/\r?\n/);
  const train: Utterance[] = [];
  const test: Utterance[] = [];
  for (const line of lines.slice(1)) {
    if (line === '') continue;
    const [id, scenario, intent, text, fold] = csvFields(line);
    const u = { id: `hwu-${id!}`, text: text!, label: label === 'scenario' ? scenario! : `${scenario!}_${intent!}` };
    if (fold === 'train') train.push(u);
    else if (fold === 'test') test.push(u);
  }
  const labels = [...new Set([...train, ...test].map((u) => u.label))].sort();
  return { labels, train, test };
}

/** The logger's distribution over `k` actions for a logging seed. */
export function hwuLogger(k: number, seed: number, floor = 0.2, temperature = 1): number[] {
  const s = Array.from({ length: k }, (_, a) => temperature * drawFor(seed * 7 + 1, `pref-${a}`));
  const max = Math.max(...s);
  const e = s.map((v) => Math.exp(v - max));
  const z = e.reduce((x, y) => x + y, 0);
  return e.map((v) => (1 - floor) * (v / z) + floor / k);
}

/** The training log: one canonical decision event per utterance, in a seeded order, one minute apart. */
export function hwuLog(labels: readonly string[], train: readonly Utterance[], seed: number, probs = hwuLogger(labels.length, seed)): DecisionEventInput[] {
  const t0 = Date.UTC(2025, 0, 1);
  const order = train.map((_, i) => i).sort((a, b) => drawFor(seed, `order-${a}`) - drawFor(seed, `order-${b}`));
  const dist = Object.fromEntries(labels.map((l, a) => [l, probs[a]!]));
  return order.map((i, t) => {
    const u = train[i]!;
    const draw = drawFor(seed, u.id);
    let a = 0;
    let c = probs[0]!;
    while (draw >= c && a < labels.length - 1) c += probs[++a]!;
    return {
      v: 1,
      id: u.id,
      ts: new Date(t0 + t * 60_000).toISOString(),
      point: 'route',
      context: { text: u.text },
      actions: [...labels],
      action: labels[a]!,
      propensity: probs[a]!,
      probs: dist,
      policy: `logger@hwu-${seed}`,
      reward: labels[a] === u.label ? 1 : 0,
    };
  });
}

/** Exact value on the test fold: mean probability of the right label. */
export function hwuValue(labels: readonly string[], test: readonly Utterance[], probsOf: (u: Utterance) => ArrayLike<number>): number {
  let s = 0;
  for (const u of test) s += probsOf(u)[labels.indexOf(u.label)]!;
  return s / test.length;
}
