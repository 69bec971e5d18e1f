/**
 * Production as it is: Alice's rule router, re-implemented from its description (spec/alice.md),
 * with its keyword tool heuristic and its fixed cache threshold. The simulator serves with it by
 * default, logs its choice as the `baseline` of every decision, and reproduces its weaknesses on
 * purpose (the micro quota, tie-breaking, cue words that point at the wrong tool): they are the
 * room a learned policy has to improve.
 */
import type { Route } from './vocabulary.js';

// Word boundaries that understand å, ä and ö (JavaScript's \b does not).
const W = (alts: string): RegExp => new RegExp(`(?<![\\p{L}\\p{N}])(?:${alts})(?![\\p{L}\\p{N}])`, 'giu');

/** Pattern sets of the router, Swedish and English. */
export const ROUTE_PATTERNS: Readonly<Record<Route, RegExp>> = {
  micro: W(
    [
      'hej', 'hejsan', 'hallå', 'tjena', 'god morgon', 'god kväll', 'tack', 'tackar', 'hur mår du', 'klockan', 'tiden', 'datum',
      'väder', 'vädret', 'regn', 'regna', 'varmt', 'kallt', 'okej', 'jaha',
      'hi', 'hello', 'hey', 'thanks', 'thank you', 'good morning', 'good evening', 'how are you', 'what time', 'weather', 'rain', 'warm', 'ok',
    ].join('|'),
  ),
  planner: W(
    [
      'boka', 'skicka', 'visa', 'planera', 'sök', 'söka', 'leta', 'hitta', 'skapa', 'ta bort', 'radera', 'ändra', 'påminn', 'skriv',
      'book', 'send', 'show', 'plan', 'search', 'find', 'create', 'delete', 'change', 'remind', 'write',
    ].join('|'),
  ),
  deep: W(
    [
      'förklara', 'analysera', 'sammanfatta', 'jämför', 'varför', 'hur fungerar', 'hur funkar', 'beräkna', 'räkna ut', 'rekommendera', 'resonera',
      'explain', 'analy[sz]e', 'summari[sz]e', 'compare', 'why', 'how does', 'calculate', 'recommend', 'reason',
    ].join('|'),
  ),
};

const URL_RE = /\bhttps?:\/\/|\bwww\./i;

function countMatches(re: RegExp, text: string): number {
  re.lastIndex = 0;
  let n = 0;
  while (re.exec(text) !== null) n++;
  return n;
}

/**
 * Texts repeat (templates and slots): the pure functions below remember their answers for recent
 * texts, which makes a million-request bootstrap several times faster. The cache is simply
 * emptied when it grows past this many entries.
 */
const MEMO_LIMIT = 200_000;
const scoreMemo = new Map<string, Readonly<Record<Route, number>>>();

/** The router's normalised scores for a text (they sum to 1, or are all 0 without any signal). */
export function ruleScores(text: string): Readonly<Record<Route, number>> {
  let s = scoreMemo.get(text);
  if (s === undefined) {
    if (scoreMemo.size >= MEMO_LIMIT) scoreMemo.clear();
    s = computeScores(text);
    scoreMemo.set(text, s);
  }
  return s;
}

function computeScores(text: string): Record<Route, number> {
  let micro = countMatches(ROUTE_PATTERNS.micro, text);
  let planner = countMatches(ROUTE_PATTERNS.planner, text);
  let deep = countMatches(ROUTE_PATTERNS.deep, text);
  const len = text.length;
  if (len > 120) deep += 1;
  else if (len > 60) planner += 0.5;
  let q = 0;
  let digits = 0;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c === 63) q++;
    else if (c >= 48 && c <= 57) digits++;
  }
  if (q >= 2) deep += 0.5;
  if (digits >= 3) planner += 0.5;
  if (URL_RE.test(text)) planner += 1;
  const sum = micro + planner + deep;
  if (sum === 0) return { micro: 0, planner: 0, deep: 0 };
  micro /= sum;
  planner /= sum;
  deep /= sum;
  return { micro, planner, deep };
}

/** Arg-max of the scores; ties go to micro, then planner (as Alice does). */
export function argmaxRoute(s: Readonly<Record<Route, number>>): Route {
  if (s.micro >= s.planner && s.micro >= s.deep) return 'micro';
  if (s.planner >= s.deep) return 'planner';
  return 'deep';
}

/** The micro quota: a share of micro above `maxShare` among the recent decisions pushes micro to planner. */
export interface QuotaOptions {
  /** @default 0.2 */
  maxShare: number;
  /** Decisions remembered. @default 100 */
  window: number;
  /** Only decisions this recent count, in microseconds. @default 5 minutes */
  horizonUs: number;
}

/** Alice's quota: more than 20 % micro among the last 100 decisions within 5 minutes. */
export const DEFAULT_QUOTA: QuotaOptions = { maxShare: 0.2, window: 100, horizonUs: 5 * 60 * 1_000_000 };

/**
 * Alice's micro quota over the last `window` served routes within `horizonUs`. It sees what was
 * served (whoever served it), exactly as production's counter does.
 */
export class MicroQuota {
  private readonly ts: Float64Array;
  private readonly micro: Uint8Array;
  private head = 0;
  private size = 0;
  private microCount = 0;
  private readonly opts: QuotaOptions;

  constructor(opts: Partial<QuotaOptions> = {}) {
    this.opts = { ...DEFAULT_QUOTA, ...opts };
    this.ts = new Float64Array(this.opts.window);
    this.micro = new Uint8Array(this.opts.window);
  }

  private prune(nowUs: number): void {
    while (this.size > 0) {
      const oldest = (this.head - this.size + this.opts.window) % this.opts.window;
      if (nowUs - this.ts[oldest]! <= this.opts.horizonUs) break;
      this.microCount -= this.micro[oldest]!;
      this.size--;
    }
  }

  /** True when micro is over its share right now (the next micro choice goes to planner). */
  exceeded(nowUs: number): boolean {
    this.prune(nowUs);
    return this.size > 0 && this.microCount / this.size > this.opts.maxShare;
  }

  /** Remember a served route. */
  record(nowUs: number, route: string): void {
    this.prune(nowUs);
    if (this.size === this.opts.window) {
      const oldest = (this.head - this.size + this.opts.window) % this.opts.window;
      this.microCount -= this.micro[oldest]!;
      this.size--;
    }
    const m = route === 'micro' ? 1 : 0;
    this.ts[this.head] = nowUs;
    this.micro[this.head] = m;
    this.microCount += m;
    this.head = (this.head + 1) % this.opts.window;
    this.size++;
  }
}

/** The rule router's decision for a text at a time, given the quota's state. */
export function ruleRoute(text: string, quota: MicroQuota, nowUs: number): { route: Route; scores: Readonly<Record<Route, number>>; pushed: boolean } {
  const scores = ruleScores(text);
  const route = argmaxRoute(scores);
  if (route === 'micro' && quota.exceeded(nowUs)) return { route: 'planner', scores, pushed: true };
  return { route, scores, pushed: false };
}

/** Cue words of each tool, as Alice's tool heuristic matches them (Swedish and English). */
export const TOOL_CUES: Readonly<Record<string, RegExp>> = {
  'weather.lookup': W('väder|vädret|regn|regna|snö|prognos\\p{L}*|temperatur\\p{L}*|weather|rain|snow|forecast'),
  'location.get': W('här|närheten|nära|var i|position|i stockholm|i göteborg|i malmö|near me|where|location'),
  calculator: W('gånger|plus|minus|delat|procent|moms\\p{L}*|kronor|times|percent|ränta'),
  'math.solver': W('ekvation\\p{L}*|lös|derivera|beräkna|räkna ut|solve|calculate|x\\^3'),
  search: W('sök|söka|leta|hitta|förklara|sammanfatta|genomgång|experterna|källor|nyheter|search|find|explain|summari[sz]e|overview|experts|sources|news'),
  'web.lookup': W('webb\\p{L}*|länk\\p{L}*|www|omdöme\\p{L}*|reviews|online'),
  'knowledge.query': W('vad är|hur fungerar|skillnaden|historik|what is|how does|difference|history'),
  reasoning: W('varför|jämför|analysera|för- och nackdelar|rekommend\\p{L}*|bäst|why|compare|analy[sz]e|pros and cons|recommend|best'),
  'time.current': W('klockan|klocka|just nu|tid|time|right now'),
  calendar: W('datum|vecka|midsommar|dag|idag|date|week|today|calendar'),
  translate: W('översätt|hur säger man|betyder|translate|how do you say|mean'),
  'language.detect': W('vilket språk|språk\\p{L}*|what language|language'),
  'text.generate': W('skriv|skriva|mejl\\p{L}*|text|tal|write|email'),
  'creative.write': W('dikt|novell|sångtext|haiku|limerick|poem|story|song|rhyming'),
};

const toolMemo = new Map<readonly string[], { sorted: readonly string[]; byText: Map<string, string> }>();

/**
 * Alice's tool heuristic: the tool of the intent's catalog whose cue words occur most often in the
 * text; ties go to the tool whose name sorts first (Alice's registry is sorted by name).
 */
export function ruleTool(text: string, catalog: readonly string[]): string {
  let m = toolMemo.get(catalog);
  if (m === undefined) {
    m = { sorted: [...catalog].sort(), byText: new Map() };
    toolMemo.set(catalog, m);
  }
  let best = m.byText.get(text);
  if (best !== undefined) return best;
  let bestScore = -1;
  for (const tool of m.sorted) {
    const re = TOOL_CUES[tool];
    const sc = re === undefined ? 0 : countMatches(re, text);
    if (sc > bestScore) {
      best = tool;
      bestScore = sc;
    }
  }
  best ??= catalog[0]!;
  if (m.byText.size >= MEMO_LIMIT) m.byText.clear();
  m.byText.set(text, best);
  return best;
}

/** Alice's fixed cache threshold: a cached answer at least this similar is used. */
export const CACHE_THRESHOLD = 0.9;

/** Alice's cache rule. */
export function ruleCache(similarity: number, threshold = CACHE_THRESHOLD): 'use' | 'bypass' {
  return similarity >= threshold ? 'use' : 'bypass';
}
