/**
 * A small seeded world for the learning tests: canonical decision events for `route` (text
 * contexts, a rule baseline, an exploring logger with logged propensities) and `tool` (per intent,
 * first tool right), with outcome signals. The true expected reward of every action is known, so
 * tests can check what a policy learned.
 */
import type { DecisionEventInput } from '../../src/core/events.js';
import { Rng } from '../../src/core/rng.js';

export const ROUTES = ['micro', 'planner', 'deep'] as const;

const KINDS = [
  { intent: 'greeting', texts: ['Hej!', 'Hej hej, hur mår du?', 'God morgon'], best: 'micro' },
  { intent: 'weather', texts: ['Vad blir vädret i Göteborg imorgon?', 'Regnar det i Malmö?'], best: 'planner', tools: ['weather.lookup', 'location.get'] },
  { intent: 'calculation', texts: ['Vad är 17 * 23?', 'Räkna ut 1234 / 7'], best: 'planner', tools: ['calculator', 'math.solver'] },
  { intent: 'complex_query', texts: ['Förklara varför himlen är blå och jämför med solnedgången', 'Analysera skillnaden mellan två teorier om ekonomi och sammanfatta'], best: 'deep', tools: ['search', 'knowledge.query', 'reasoning'] },
] as const;

/** True success probability of a route for an intent kind. */
export function successProb(kind: number, route: string): number {
  return route === KINDS[kind]!.best ? 0.9 : route === 'deep' ? 0.6 : 0.4;
}

/** The rule router's (imperfect) choice: right for greetings and complex queries, `micro` for the rest. */
function ruleRoute(kind: number): string {
  return kind === 0 ? 'micro' : kind === 3 ? 'deep' : 'micro';
}

/** Events of the world: `n` requests, each a route decision and (when the intent has tools) a tool decision. */
export function worldEvents(n: number, seed: number, explore = 0.1): DecisionEventInput[] {
  const rng = new Rng(seed);
  const out: DecisionEventInput[] = [];
  const t0 = Date.UTC(2025, 8, 1, 6, 0, 0);
  for (let i = 0; i < n; i++) {
    const kind = rng.int(KINDS.length);
    const k = KINDS[kind]!;
    const text = k.texts[rng.int(k.texts.length)]!;
    const ts = new Date(t0 + i * 37_000).toISOString();
    const baseline = ruleRoute(kind);
    const probs: Record<string, number> = {};
    for (const r of ROUTES) probs[r] = (r === baseline ? 1 - explore : 0) + explore / ROUTES.length;
    const u = rng.next();
    let acc = 0;
    let action: string = 'deep';
    for (const r of ROUTES) {
      acc += probs[r]!;
      if (u < acc) {
        action = r;
        break;
      }
    }
    const success = rng.next() < successProb(kind, action);
    const latency = action === 'micro' ? 150 : action === 'planner' ? 450 : 900;
    out.push({
      v: 1,
      id: `req-${seed}-${i}`,
      ts,
      point: 'route',
      context: { text, lang: rng.next() < 0.8 ? 'sv' : 'en', guardian_state: 'NORMAL', hour: new Date(ts).getUTCHours(), weekday: new Date(ts).getUTCDay() },
      actions: [...ROUTES],
      action,
      propensity: probs[action]!,
      probs,
      baseline,
      policy: 'rules@test',
      outcome: { success, latency_ms: latency * (0.5 + rng.next()), cost_usd: action === 'deep' ? 0.005 : 0.001 },
    });
    if ('tools' in k) {
      const tools = [...k.tools];
      const tp = 1 / tools.length;
      const tool = tools[rng.int(tools.length)]!;
      const ok = rng.next() < (tool === tools[0] ? 0.95 : 0.3);
      out.push({
        v: 1,
        id: `req-${seed}-${i}#tool`,
        ts,
        point: 'tool',
        context: { intent: k.intent, lang: 'sv' },
        actions: tools,
        action: tool,
        propensity: tp,
        baseline: tools[tools.length - 1]!,
        outcome: { success: ok, tool_ok: ok },
      });
    }
  }
  return out;
}

/** The world's intent kind of a route context's text (for checking what a policy learned). */
export function kindOfText(text: string): number {
  return KINDS.findIndex((k) => (k.texts as readonly string[]).includes(text));
}

/** Every text of the world with its kind. */
export function worldTexts(): { text: string; kind: number; best: string }[] {
  return KINDS.flatMap((k, kind) => k.texts.map((text) => ({ text, kind, best: k.best })));
}
