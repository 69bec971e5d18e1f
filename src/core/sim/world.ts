/**
 * The Alice world: who asks what, in which language, how hard it is, what the cache holds, and how
 * well each action would do. Everything here is a parameter of a scenario so that the realistic
 * scenario can be calibrated against the seed's baseline and the others are honest variations.
 * Hidden state (intent, difficulty, whether the cached answer is right) never reaches a policy
 * except the oracle; policies see the text and the other observable fields.
 */
import type { Rng } from '../rng.js';
import { generateText } from './texts.js';
import { INTENTS, type GuardianState, type Intent, type LangGroup, type Route, type ScenarioName } from './vocabulary.js';

/** Per-intent facts of the world. */
export interface IntentSpec {
  /** Beta(a, b) of the hidden difficulty in [0, 1]. */
  difficulty: readonly [number, number];
  /** Suitability of each route for this intent (the success ceiling before difficulty). */
  cap: Readonly<Record<Route, number>>;
  /** Probability that the cache holds an answer to the same question. */
  cacheMatch: number;
  /** Seconds a cached answer stays true (0 = never goes stale). */
  ttlS: number;
  /**
   * Share of this intent's requests that need their tool (live data, a lookup, an exact result);
   * the others the planner or deep model answers on its own, without a tool call.
   */
  toolNeed: number;
}

/** Everything a scenario can change. */
export interface ScenarioParams {
  name: ScenarioName;
  intentShares: Readonly<Record<Intent, number>>;
  langShares: Readonly<Record<LangGroup, number>>;
  intents: Readonly<Record<Intent, IntentSpec>>;
  /** Added to every model-success logit (positive: better models). */
  successShift: number;
  /** Multiplies the probability of tool timeouts and model timeouts (the heavy tail). */
  tailMult: number;
  /** Multiplies the chance of BROWNOUT / DEGRADED guardian states. */
  loadMult: number;
  /** Share of requests the guardian blocks whatever is chosen. */
  blockedRate: number;
  /** Multiplies the failure probability of every tool call. */
  toolFailMult: number;
  /** Multiplies every model-path latency. */
  latencyMult: number;
}

/** Difficulty thresholds where each route's success falls to one half (before caps). */
export const ROUTE_THETA: Readonly<Record<Route, number>> = { micro: 0.65, planner: 0.97, deep: 1.05 };
/** Steepness of the success curve in difficulty. */
export const SUCCESS_SLOPE = 10;

const REALISTIC_INTENTS: Record<Intent, IntentSpec> = {
  greeting: { difficulty: [1, 9], cap: { micro: 0.99, planner: 0.97, deep: 0.95 }, cacheMatch: 0.95, ttlS: 0, toolNeed: 0 },
  weather: { difficulty: [1.5, 5], cap: { micro: 0.3, planner: 0.995, deep: 0.99 }, cacheMatch: 0.86, ttlS: 12 * 3600, toolNeed: 0.3 },
  calculation: { difficulty: [2, 3], cap: { micro: 0.5, planner: 0.995, deep: 0.99 }, cacheMatch: 0.65, ttlS: 0, toolNeed: 0.12 },
  search: { difficulty: [2, 3], cap: { micro: 0.2, planner: 0.995, deep: 0.99 }, cacheMatch: 0.7, ttlS: 7 * 86400, toolNeed: 0.15 },
  complex_query: { difficulty: [3, 2.5], cap: { micro: 0.45, planner: 0.99, deep: 0.99 }, cacheMatch: 0.62, ttlS: 0, toolNeed: 0.18 },
  time: { difficulty: [1, 7], cap: { micro: 0.95, planner: 0.995, deep: 0.99 }, cacheMatch: 0.3, ttlS: 45, toolNeed: 0.25 },
  help: { difficulty: [1.2, 6], cap: { micro: 0.97, planner: 0.97, deep: 0.95 }, cacheMatch: 0.9, ttlS: 0, toolNeed: 0 },
  translation: { difficulty: [2, 3], cap: { micro: 0.55, planner: 0.995, deep: 0.99 }, cacheMatch: 0.7, ttlS: 0, toolNeed: 0.08 },
  creative: { difficulty: [2.5, 3], cap: { micro: 0.5, planner: 0.99, deep: 0.99 }, cacheMatch: 0.55, ttlS: 0, toolNeed: 0.11 },
  other: { difficulty: [1.5, 5], cap: { micro: 0.92, planner: 0.95, deep: 0.94 }, cacheMatch: 0.6, ttlS: 0, toolNeed: 0 },
};

/** The original generator's intent shares. */
export const SEED_INTENT_SHARES: Readonly<Record<Intent, number>> = {
  greeting: 0.15, weather: 0.12, calculation: 0.08, search: 0.1, complex_query: 0.2, time: 0.05, help: 0.08, translation: 0.07, creative: 0.1, other: 0.05,
};

/** The original generator's language shares. */
export const SEED_LANG_SHARES: Readonly<Record<LangGroup, number>> = { sv: 0.8, en: 0.15, other: 0.05 };

/** The realistic scenario: calibrated so that Alice's rules reproduce the seed's baseline. */
export const REALISTIC: ScenarioParams = {
  name: 'realistic',
  intentShares: SEED_INTENT_SHARES,
  langShares: SEED_LANG_SHARES,
  intents: REALISTIC_INTENTS,
  successShift: 0,
  tailMult: 1,
  loadMult: 1,
  blockedRate: 0.003,
  toolFailMult: 1,
  latencyMult: 1,
};

/** After the drift point: more hard questions and English, fewer greetings, a busier backend. */
const DRIFTED: ScenarioParams = {
  ...REALISTIC,
  name: 'drift',
  intentShares: { greeting: 0.07, weather: 0.08, calculation: 0.08, search: 0.12, complex_query: 0.3, time: 0.04, help: 0.05, translation: 0.08, creative: 0.15, other: 0.03 },
  langShares: { sv: 0.6, en: 0.33, other: 0.07 },
  loadMult: 2.5,
};

/** Scenario parameters at a position `t` in [0, 1] of the stream (only `drift` depends on it). */
export function scenarioAt(name: ScenarioName, t: number): ScenarioParams {
  switch (name) {
    case 'realistic':
      return REALISTIC;
    case 'optimistic':
      return OPTIMISTIC;
    case 'pessimistic':
      return PESSIMISTIC;
    case 'drift':
      return t < DRIFT_POINT ? DRIFT_BEFORE : DRIFTED;
  }
}

/** Where `drift` switches to its second regime (fraction of the stream). */
export const DRIFT_POINT = 0.5;

const DRIFT_BEFORE: ScenarioParams = { ...REALISTIC, name: 'drift' };

/** Better models, steadier tools and a quieter backend than the calibrated world. */
const OPTIMISTIC: ScenarioParams = { ...REALISTIC, name: 'optimistic', successShift: 1, tailMult: 0.5, loadMult: 0.5, blockedRate: 0.001, toolFailMult: 0.5, latencyMult: 0.7 };

/** Weaker models, flakier tools and a busier backend. */
const PESSIMISTIC: ScenarioParams = { ...REALISTIC, name: 'pessimistic', successShift: -1, tailMult: 1.8, loadMult: 2.5, blockedRate: 0.006, toolFailMult: 1.6, latencyMult: 1.4 };

/** Hour-of-day traffic weights of the original generator (index = UTC hour), peak at noon. */
export const HOUR_WEIGHTS: readonly number[] = [1, 1, 1, 1, 1, 2, 3, 5, 8, 10, 12, 14, 15, 14, 12, 10, 8, 6, 4, 3, 2, 1, 1, 1];

/** Weekday traffic weights (index = UTC weekday, 0 = Sunday): quieter weekends. */
export const WEEKDAY_WEIGHTS: readonly number[] = [0.6, 1, 1.05, 1.05, 1, 0.95, 0.7];

/** A simulated request: what Alice sees (text, language, guardian, cache lookup) and the hidden truth. */
export interface SimRequest {
  /** Position in the stream (0-based). */
  index: number;
  /** Alice's trace id (the route decision's id). */
  id: string;
  /** Microseconds since the epoch (UTC). */
  tsUs: number;
  userId: string;
  sessionId: string;
  /** 1 for the first turn of the session, 2 for the second, ... */
  sessionDepth: number;
  text: string;
  lang: string;
  langGroup: LangGroup;
  guardian: GuardianState;
  /** Similarity of the best cached answer (what the cache lookup reports before deciding). */
  cacheSimilarity: number;
  /** Age in seconds of that cached answer. */
  cacheAgeS: number;
  /** UTC hour and weekday of `tsUs`. */
  hour: number;
  weekday: number;
  /** Hidden: the request's intent, difficulty, text level, the guardian block, the cache truth. */
  hidden: {
    intent: Intent;
    difficulty: number;
    level: 0 | 1 | 2;
    blocked: boolean;
    /** The cached answer answers this very question. */
    cacheMatch: boolean;
    /** ... and is still true (not stale). */
    cacheGood: boolean;
    /** The request needs its intent's tool (else the model answers without calling one). */
    needsTool: boolean;
    /** Response length factor (tokens), fixed per request so costs are exact. */
    verbosity: number;
    /** Outcome draws, fixed per request (common random numbers across policies). */
    u: readonly [number, number, number, number];
  };
  /** The scenario this request was drawn under. */
  scenario: ScenarioParams;
}

/** Where a request sits in time and in its session. */
export interface Slot {
  tsUs: number;
  userId: string;
  sessionId: string;
  sessionDepth: number;
  /** Language group of the session (a user keeps their language). */
  langGroup: LangGroup;
}

function categorical<K extends string>(rng: Rng, shares: Readonly<Record<K, number>>, keys: readonly K[]): K {
  let total = 0;
  for (const k of keys) total += shares[k];
  let u = rng.next() * total;
  for (const k of keys) {
    u -= shares[k];
    if (u < 0) return k;
  }
  return keys[keys.length - 1]!;
}

/** UTC hour (0-23) of a time in microseconds since the epoch. */
export function utcHour(tsUs: number): number {
  return Math.floor(tsUs / 3_600_000_000) % 24;
}

/** UTC weekday (0 = Sunday) of a time in microseconds since the epoch (1970-01-01 was a Thursday). */
export function utcWeekday(tsUs: number): number {
  return (Math.floor(tsUs / 86_400_000_000) + 4) % 7;
}

/** A language group drawn with the scenario's shares. */
export function drawLangGroup(rng: Rng, p: ScenarioParams): LangGroup {
  return categorical(rng, p.langShares, ['sv', 'en', 'other'] as const);
}

/** Load in [0, 1] at an hour of day (1 at the noon peak). */
export function loadAt(hour: number): number {
  return (HOUR_WEIGHTS[hour] ?? 1) / 15;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(x: number): string {
  return HEX[(x >>> 24) & 255]! + HEX[(x >>> 16) & 255]! + HEX[(x >>> 8) & 255]! + HEX[x & 255]!;
}

/** A version-4-shaped UUID from the generator (Alice's trace ids look like this). */
function hexId(rng: Rng): string {
  const a = hex32(rng.nextU32());
  const b = hex32(rng.nextU32());
  const c = hex32(((rng.nextU32() & 0x3fffffff) | 0x80000000) >>> 0);
  const d = hex32(rng.nextU32());
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${c.slice(0, 4)}-${c.slice(4)}${d}`;
}

/**
 * Draw one request for a slot. The number of random draws does not depend on the outcome of any
 * earlier choice, so the same seed gives the same requests whatever policy serves them.
 */
export function drawRequest(rng: Rng, p: ScenarioParams, slot: Slot, index: number): SimRequest {
  const id = hexId(rng);
  const intent = categorical(rng, p.intentShares, INTENTS);
  const spec = p.intents[intent];
  const difficulty = rng.beta(spec.difficulty[0], spec.difficulty[1]);
  const gen = generateText(rng, intent, slot.langGroup, difficulty);
  const hour = utcHour(slot.tsUs);
  const weekday = utcWeekday(slot.tsUs);
  const load = loadAt(hour);
  const g = rng.next();
  const pBrown = Math.min(0.5, 0.05 * load * p.loadMult);
  const pDeg = Math.min(0.2, 0.012 * load * p.loadMult);
  const guardian: GuardianState = g < pDeg ? 'DEGRADED' : g < pDeg + pBrown ? 'BROWNOUT' : 'NORMAL';
  const blocked = rng.next() < p.blockedRate;
  const cacheMatch = rng.next() < spec.cacheMatch;
  // Similarity of a true match is high but overlaps with near-misses: a fixed threshold cannot
  // separate them, intent and age can help.
  const cacheSimilarity = round3(cacheMatch ? rng.beta(9, 1.5) : rng.beta(5, 5));
  // Age of the cached entry: popular answers are refreshed often, the tail is old.
  const cacheAgeS = Math.round(-Math.log(1 - rng.next()) * (rng.next() < 0.5 ? 600 : 4 * 3600));
  const cacheGood = cacheMatch && (spec.ttlS === 0 || cacheAgeS <= spec.ttlS);
  const needsTool = rng.next() < spec.toolNeed;
  const verbosity = 0.6 + 0.8 * rng.next();
  const u = [rng.next(), rng.next(), rng.next(), rng.next()] as const;
  return {
    index,
    id,
    tsUs: slot.tsUs,
    userId: slot.userId,
    sessionId: slot.sessionId,
    sessionDepth: slot.sessionDepth,
    text: gen.text,
    lang: gen.lang,
    langGroup: slot.langGroup,
    guardian,
    cacheSimilarity,
    cacheAgeS,
    hour,
    weekday,
    hidden: { intent, difficulty, level: gen.level, blocked, cacheMatch, cacheGood, needsTool, verbosity, u },
    scenario: p,
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
