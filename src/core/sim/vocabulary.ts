/**
 * The names of the Alice world: intents, routes, cache actions, decision points, scenarios,
 * language groups and the tool catalog. Kept apart from the world's parameters (world.ts) and its
 * words (texts.ts) so that both can name the same things without importing each other.
 */
import { DEFAULT_TOOLS_BY_INTENT } from '../config/telemetry.js';

/** Intents of the original generator, in its order. */
export const INTENTS = ['greeting', 'weather', 'calculation', 'search', 'complex_query', 'time', 'help', 'translation', 'creative', 'other'] as const;
export type Intent = (typeof INTENTS)[number];

/** The route decision's actions. */
export const ROUTES = ['micro', 'planner', 'deep'] as const;
export type Route = (typeof ROUTES)[number];

/** The cache decision's actions. */
export const CACHE_ACTIONS = ['use', 'bypass'] as const;
export type CacheAction = (typeof CACHE_ACTIONS)[number];

/** The three decision points of a request, in the order they are decided. */
export const POINTS = ['route', 'cache', 'tool'] as const;
export type DecisionPoint = (typeof POINTS)[number];

/** The scenarios `umbra bootstrap --scenario` accepts. */
export const SCENARIOS = ['realistic', 'optimistic', 'pessimistic', 'drift'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

/** Guardian states the world produces (Alice knows more; these are the ones that occur here). */
export type GuardianState = 'NORMAL' | 'BROWNOUT' | 'DEGRADED';

/** Alice's tool catalog per intent; the first tool is the right one. Greeting, help, other: none. */
export const TOOLS_BY_INTENT: Readonly<Record<Intent, readonly string[]>> = {
  greeting: [],
  help: [],
  other: [],
  weather: DEFAULT_TOOLS_BY_INTENT.weather ?? [],
  calculation: DEFAULT_TOOLS_BY_INTENT.calculation ?? [],
  search: DEFAULT_TOOLS_BY_INTENT.search ?? [],
  complex_query: DEFAULT_TOOLS_BY_INTENT.complex_query ?? [],
  time: DEFAULT_TOOLS_BY_INTENT.time ?? [],
  translation: DEFAULT_TOOLS_BY_INTENT.translation ?? [],
  creative: DEFAULT_TOOLS_BY_INTENT.creative ?? [],
};

/** Language group of the world: Swedish, English, or one of a few others. */
export type LangGroup = 'sv' | 'en' | 'other';
