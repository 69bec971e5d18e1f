/**
 * The one place free text becomes features. Ingestion calls `expandText` to replace a raw text
 * value by derived, privacy-safe fields (hashed tokens and counts) before anything is stored; the
 * feature map calls the same function on a raw text at serving time, so training and serving see
 * identical inputs. Raw text never needs to be stored.
 *
 * `<key>_tokens` holds the lower-cased words (letters and digits) and the character trigrams of
 * each word with boundary marks (`<ab`, `abc`, `bc>`); `<key>_grams` holds the word bigrams
 * (`ab cd`) and the boundary-marked character 4-grams (`<abc`, `abcd`, `bcd>`). Each is hashed with
 * FNV-1a over UTF-16 code units (its own seed per kind) and written in base 36. The dense feature
 * map reads only the tokens; the sparse one reads both. Version `text/v2` (v1 had no grams);
 * changing anything here must change the version.
 */
import type { Context, ContextValue } from './events.js';

export const TEXT_VERSION = 'text/v2';

/** Words considered per text (the rest is ignored). */
export const MAX_WORDS = 64;

/**
 * Characters of a text that are featurised: a longer text is cut here (at a code point boundary)
 * before anything else, so one huge text costs no more than this many characters, whoever sends
 * it. `<key>_len` still reports the full length; the other counts cover the characters kept.
 */
export const MAX_TEXT_CHARS = 4096;

/** `text` cut to MAX_TEXT_CHARS code units, never between the two halves of a surrogate pair. */
function capText(text: string): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  let end = MAX_TEXT_CHARS;
  const c = text.charCodeAt(end - 1);
  if (c >= 0xd800 && c <= 0xdbff) end--;
  return text.slice(0, end);
}

const WORD_RE = /[\p{L}\p{N}]+/gu;
const URL_RE = /\bhttps?:\/\/|\bwww\./i;

function fnvCodeUnits(s: string, start: number, end: number, seed: number): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = start; i < end; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** FNV seeds of the hashed kinds: words, trigrams, bigrams, 4-grams. */
const SEED_WORD = 1;
const SEED_TRIGRAM = 2;
const SEED_BIGRAM = 3;
const SEED_FOURGRAM = 4;

/** The lower-cased NFC words of a text that count (the first MAX_WORDS). */
function wordsOf(text: string): string[] {
  const out: string[] = [];
  for (const m of text.normalize('NFC').toLowerCase().matchAll(WORD_RE)) {
    if (out.length >= MAX_WORDS) break;
    out.push(m[0]);
  }
  return out;
}

/** The hashed tokens of a text (words and word trigrams), as numbers. */
export function textTokenHashes(text: string): number[] {
  const out: number[] = [];
  for (const w of wordsOf(text)) {
    out.push(fnvCodeUnits(w, 0, w.length, SEED_WORD));
    const marked = `<${w}>`;
    for (let i = 0; i + 3 <= marked.length; i++) out.push(fnvCodeUnits(marked, i, i + 3, SEED_TRIGRAM));
  }
  return out;
}

/** The hashed grams of a text: per word, its character 4-grams, then its bigram with the word before. */
export function textGramHashes(text: string): number[] {
  const out: number[] = [];
  const words = wordsOf(text);
  for (let k = 0; k < words.length; k++) {
    const w = words[k]!;
    const marked = `<${w}>`;
    for (let i = 0; i + 4 <= marked.length; i++) out.push(fnvCodeUnits(marked, i, i + 4, SEED_FOURGRAM));
    if (k > 0) {
      const pair = `${words[k - 1]!} ${w}`;
      out.push(fnvCodeUnits(pair, 0, pair.length, SEED_BIGRAM));
    }
  }
  return out;
}

/** The derived fields of a text under the key `text` (what `deriveText('text', …)` gives). */
export interface TextFields {
  text_tokens: string;
  text_grams: string;
  text_len: number;
  text_words: number;
  text_qmarks: number;
  text_digits: number;
  text_url: boolean;
}

/**
 * The reference definition of the derived fields: NFC, lower-case, Unicode word regex, one string
 * per token. `deriveTextFields` gives the same result faster; this stays as the fallback for the
 * texts the fast path cannot prove it handles exactly, and as the oracle of its property test.
 */
export function deriveTextFieldsReference(text: string): TextFields {
  let qmarks = 0;
  let digits = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 63) qmarks++;
    else if (c >= 48 && c <= 57) digits++;
  }
  let words = 0;
  for (const _ of text.matchAll(WORD_RE)) words++;
  return {
    text_tokens: textTokenHashes(text).map((h) => h.toString(36)).join(' '),
    text_grams: textGramHashes(text).map((h) => h.toString(36)).join(' '),
    text_len: text.length,
    text_words: words,
    text_qmarks: qmarks,
    text_digits: digits,
    text_url: URL_RE.test(text),
  };
}

// ---------------------------------------------------------------------------------------------
// The fast path. Ingestion expands every input text and serving every request, and the reference
// (NFC, Unicode regexes, a string per token) costs more than parsing a telemetry line. One pass
// over the code points gives the same result whenever three things hold, checked per text:
// the text is already NFC (Latin-1 text always is; otherwise one native `normalize` call says),
// every code point lower-cases to exactly one code point of the same word class (letter or number
// or neither), and no code point lower-cases differently in context (only capital sigma does).
// Then lower-casing commutes with splitting into words, and the words, trigrams and counts are
// those of the reference. Anything else takes the reference.

const WORD_CHAR_RE = /^[\p{L}\p{N}]$/u;
/** Latin-1: 1 when a letter or number for WORD_RE. */
const L1_WORD = new Uint8Array(256);
/** Latin-1: the lower-case code unit, or 0xffff when it is not a single Latin-1 code unit. */
const L1_LOWER = new Uint16Array(256);
for (let c = 0; c < 256; c++) {
  const ch = String.fromCharCode(c);
  L1_WORD[c] = WORD_CHAR_RE.test(ch) ? 1 : 0;
  const lo = ch.toLowerCase();
  L1_LOWER[c] = lo.length === 1 && lo.charCodeAt(0) <= 0xff && WORD_CHAR_RE.test(lo) === WORD_CHAR_RE.test(ch) ? lo.charCodeAt(0) : 0xffff;
}

/** Code points above Latin-1 seen so far: (lower-case code point << 1) | word bit, or -1 (unsupported). */
const WIDE = new Map<number, number>();
/** Bound on WIDE's size; past it code points are classified without caching. */
const WIDE_MAX = 1 << 16;
const CAPITAL_SIGMA = 0x3a3;

function classifyWide(cp: number): number {
  const cached = WIDE.get(cp);
  if (cached !== undefined) return cached;
  let v = -1;
  if (cp !== CAPITAL_SIGMA) {
    const ch = String.fromCodePoint(cp);
    const lo = ch.toLowerCase();
    const lcp = lo.codePointAt(0)!;
    const w = WORD_CHAR_RE.test(ch);
    if (lo.length === (lcp > 0xffff ? 2 : 1) && WORD_CHAR_RE.test(lo) === w) v = (lcp << 1) | (w ? 1 : 0);
  }
  if (WIDE.size < WIDE_MAX) WIDE.set(cp, v);
  return v;
}

const B36_CODES = Array.from('0123456789abcdefghijklmnopqrstuvwxyz', (c) => c.charCodeAt(0));
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** Code units of the string being built, and of the current lower-cased word. */
const tokOut: number[] = [];
const lowered: number[] = [];
const b36 = [0, 0, 0, 0, 0, 0, 0, 0];

/** Append `h` (uint32) in base 36, as `h.toString(36)` writes it. */
function pushBase36(h: number): void {
  let k = 8;
  do {
    const q = Math.floor(h / 36);
    b36[--k] = B36_CODES[h - q * 36]!;
    h = q;
  } while (h > 0);
  while (k < 8) tokOut.push(b36[k++]!);
}

/** Hash the boundary-marked n-grams of the word in `lowered` onto `tokOut`, each after a space. */
function pushMarkedGrams(n: number, seed: number): void {
  const m = lowered.length + 2;
  for (let s = 0; s + n <= m; s++) {
    let g = (FNV_OFFSET ^ seed) >>> 0;
    for (let k = s; k < s + n; k++) g = Math.imul(g ^ (k === 0 ? 60 : k === m - 1 ? 62 : lowered[k - 1]!), FNV_PRIME);
    tokOut.push(32);
    pushBase36(g >>> 0);
  }
}

/** `tokOut` as a string (without its first code unit when `skipFirst`). */
function takeOut(skipFirst: boolean): string {
  let piece = '';
  for (let k = skipFirst ? 1 : 0; k < tokOut.length; k += 4096) piece += String.fromCharCode.apply(null, tokOut.slice(k, Math.min(k + 4096, tokOut.length)));
  return piece;
}

/** Push the UTF-16 code units of code point `cp`. */
function pushCodePoint(cp: number): void {
  if (cp > 0xffff) {
    const v = cp - 0x10000;
    lowered.push(0xd800 + (v >> 10), 0xdc00 + (v & 0x3ff));
  } else lowered.push(cp);
}

/** Word bit and lower-case of the code point at `i` (-1: unsupported); sets `step` to its length in code units. */
let step = 1;
function info(text: string, i: number): number {
  const c = text.charCodeAt(i);
  step = 1;
  if (c <= 0xff) {
    const lo = L1_LOWER[c]!;
    return lo === 0xffff ? -1 : (lo << 1) | L1_WORD[c]!;
  }
  const cp = text.codePointAt(i)!;
  if (cp > 0xffff) step = 2;
  return classifyWide(cp);
}

/** What one word contributes: its tokens, its 4-grams, and its lower-cased code units (for bigrams). */
interface WordPieces {
  tokens: string;
  /** Space-separated 4-gram hashes (empty for words shorter than 3 code units). */
  fourgrams: string;
  lower: Uint16Array;
  /** FNV state (bigram seed) after the word and the separating space: the start of a bigram with the next word. */
  bigramStart: number;
}

/** @internal The fast path alone; undefined when the text needs the reference (exported for its tests). */
export function deriveTextFieldsFast(text: string): TextFields | undefined {
  const n = text.length;
  let wide = false;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) wide = true;
    else if (L1_LOWER[c] === 0xffff) return undefined;
  }
  if (wide && text.normalize('NFC') !== text) return undefined;
  let qmarks = 0;
  let digits = 0;
  let words = 0;
  let tokens = '';
  let grams = '';
  let prev: WordPieces | undefined;
  let i = 0;
  while (i < n) {
    const v = info(text, i);
    if (v < 0) return undefined;
    if ((v & 1) === 0) {
      const c = text.charCodeAt(i);
      if (c === 63) qmarks++;
      else if (c >= 48 && c <= 57) digits++;
      i += step;
      continue;
    }
    let j = i;
    for (;;) {
      const c = text.charCodeAt(j);
      if (c >= 48 && c <= 57) digits++;
      j += step;
      if (j >= n) break;
      const u = info(text, j);
      if (u < 0) return undefined;
      if ((u & 1) === 0) break;
    }
    if (words < MAX_WORDS) {
      const w = wordPieces(text, i, j);
      tokens = words === 0 ? w.tokens : `${tokens} ${w.tokens}`;
      if (w.fourgrams !== '') grams = grams === '' ? w.fourgrams : `${grams} ${w.fourgrams}`;
      if (prev !== undefined) {
        let h = prev.bigramStart;
        for (let k = 0; k < w.lower.length; k++) h = Math.imul(h ^ w.lower[k]!, FNV_PRIME);
        tokOut.length = 0;
        pushBase36(h >>> 0);
        const b = takeOut(false);
        grams = grams === '' ? b : `${grams} ${b}`;
      }
      prev = w;
    }
    words++;
    i = j;
  }
  return { text_tokens: tokens, text_grams: grams, text_len: n, text_words: words, text_qmarks: qmarks, text_digits: digits, text_url: URL_RE.test(text) };
}

/**
 * Pieces of words seen so far, by the word as written (lower-casing is a function of it). Words
 * follow Zipf's law, so nearly every word of a request was seen before; bounded, and simply
 * emptied when full.
 */
const WORD_PIECES = new Map<string, WordPieces>();
const WORD_PIECES_MAX = 1 << 15;

/** The pieces of the word text[i, j) (every code point of it supported). */
function wordPieces(text: string, i: number, j: number): WordPieces {
  const word = text.slice(i, j);
  const hit = WORD_PIECES.get(word);
  if (hit !== undefined) return hit;
  lowered.length = 0;
  for (let k = i; k < j; ) {
    pushCodePoint(info(text, k) >> 1);
    k += step;
  }
  let h = (FNV_OFFSET ^ SEED_WORD) >>> 0;
  let b = (FNV_OFFSET ^ SEED_BIGRAM) >>> 0;
  for (let k = 0; k < lowered.length; k++) {
    h = Math.imul(h ^ lowered[k]!, FNV_PRIME);
    b = Math.imul(b ^ lowered[k]!, FNV_PRIME);
  }
  tokOut.length = 0;
  pushBase36(h >>> 0);
  pushMarkedGrams(3, SEED_TRIGRAM);
  const tokens = takeOut(false);
  tokOut.length = 0;
  pushMarkedGrams(4, SEED_FOURGRAM);
  const fourgrams = takeOut(true);
  const pieces: WordPieces = { tokens, fourgrams, lower: Uint16Array.from(lowered), bigramStart: Math.imul(b ^ 32, FNV_PRIME) };
  if (WORD_PIECES.size >= WORD_PIECES_MAX) WORD_PIECES.clear();
  WORD_PIECES.set(word, pieces);
  return pieces;
}

/** The derived fields of a text under the key `text`: the fast path when it applies, else the reference (same result). */
export function deriveTextFields(text: string): TextFields {
  const kept = capText(text);
  const f = deriveTextFieldsFast(kept) ?? deriveTextFieldsReference(kept);
  if (kept !== text) f.text_len = text.length;
  return f;
}

/** Derived fields of a text under the key `key`: hashed tokens and counts. */
export function deriveText(key: string, text: string): Record<string, ContextValue> {
  const f = deriveTextFields(text);
  if (key === 'text') return { ...f };
  return {
    [`${key}_tokens`]: f.text_tokens,
    [`${key}_grams`]: f.text_grams,
    [`${key}_len`]: f.text_len,
    [`${key}_words`]: f.text_words,
    [`${key}_qmarks`]: f.text_qmarks,
    [`${key}_digits`]: f.text_digits,
    [`${key}_url`]: f.text_url,
  };
}

/**
 * Replace every raw text value (keys in `textKeys`) by its derived fields. Idempotent: a context
 * that was already expanded is returned unchanged. With `keepRaw`, the raw text stays beside them.
 */
export function expandText(context: Context, textKeys: readonly string[] = ['text'], keepRaw = false, freeTextChars = Infinity): Context {
  let out: Context | undefined;
  for (const key of textKeys) {
    const v = context[key];
    if (typeof v !== 'string') continue;
    out ??= { ...context };
    if (!keepRaw) delete out[key];
    Object.assign(out, deriveText(key, v));
  }
  if (freeTextChars !== Infinity) {
    // The privacy rule: any other string longer than freeTextChars is free text, whatever its key.
    for (const key in context) {
      const v = context[key];
      if (typeof v !== 'string' || v.length <= freeTextChars || textKeys.includes(key) || isDerivedHashes(key, v)) continue;
      out ??= { ...context };
      if (!keepRaw) delete out[key];
      Object.assign(out, deriveText(key, v));
    }
  }
  return out ?? context;
}

const HASH_LIST_RE = /^[0-9a-z]{1,7}(?: [0-9a-z]{1,7})*$/;

/** True for a `<key>_tokens` or `<key>_grams` value that is already a list of hashes (an expanded context). */
function isDerivedHashes(key: string, v: string): boolean {
  return (key.endsWith('_tokens') || key.endsWith('_grams')) && HASH_LIST_RE.test(v);
}

/**
 * The context as it may be stored: `expandText` with the privacy rule of the telemetry config —
 * every string longer than `free_text_chars` is hashed into features like the text keys, so no
 * long free text reaches the decision log, whatever key the caller put it under.
 */
export function storableContext(context: Context, t: { text_keys: readonly string[]; store_text: boolean; free_text_chars: number }): Context {
  return expandText(context, t.text_keys, t.store_text, t.free_text_chars);
}

/** Parse a `<key>_tokens` value back into token hashes. */
export function parseTokens(v: string): number[] {
  if (v === '') return [];
  return v.split(' ').map((t) => parseInt(t, 36));
}
