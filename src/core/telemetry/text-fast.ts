/**
 * A fast path for `deriveText` (src/core/text.ts) on the texts telemetry is made of: Latin-1 text
 * (ASCII plus Swedish and other Western European letters). Ingestion expands every `input_text`,
 * and the general function (NFC normalisation, Unicode regexes, one string per token) costs more
 * than parsing the line. For Latin-1 text the same result comes from one pass over the code units
 * with a lookup table: Latin-1 is invariant under NFC, lower-casing keeps its length, and letter or
 * number classes are read from a table built with the very regex `text.ts` uses.
 *
 * The output is identical to `deriveText('text', …)` (a property test pins this); any other text,
 * or a different TEXT_VERSION than the one this was verified against, goes to `deriveText` itself.
 */
import type { ContextValue } from '../events.js';
import { MAX_WORDS, TEXT_VERSION, deriveText } from '../text.js';

/** The text/v1 rules this fast path reproduces. */
const VERIFIED_VERSION = 'text/v1';
const ENABLED = TEXT_VERSION === VERIFIED_VERSION;

/** 1 when a Latin-1 code unit is a letter or number for text.ts's word regex. */
const WORD_CHAR = new Uint8Array(256);
/** Lower-case of each Latin-1 code unit (as `toLowerCase` gives it). */
const LOWER = new Uint16Array(256);
(() => {
  const re = /^[\p{L}\p{N}]$/u;
  for (let c = 0; c < 256; c++) {
    const ch = String.fromCharCode(c);
    WORD_CHAR[c] = re.test(ch) ? 1 : 0;
    const lo = ch.toLowerCase();
    LOWER[c] = lo.length === 1 ? lo.charCodeAt(0) : 0xffff;
  }
})();

const URL_RE = /\bhttps?:\/\/|\bwww\./i;
const B36 = '0123456789abcdefghijklmnopqrstuvwxyz';
const B36_CODES = Array.from(B36, (c) => c.charCodeAt(0));
const OFFSET = 0x811c9dc5;
const PRIME = 0x01000193;

/** Code units of the tokens string being built. */
const out: number[] = [];
const digits = [0, 0, 0, 0, 0, 0, 0, 0];

/** Append `h` (uint32) in base 36, as `h.toString(36)` writes it. */
function pushBase36(h: number): void {
  let k = 8;
  do {
    const q = Math.floor(h / 36);
    digits[--k] = B36_CODES[h - q * 36]!;
    h = q;
  } while (h > 0);
  while (k < 8) out.push(digits[k++]!);
}

/** True when every code unit is Latin-1 and lower-cases to one Latin-1 code unit. */
function isSimple(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff || LOWER[c]! > 0xff) return false;
  }
  return true;
}

/** Derived text fields of `text` under the key `text`: hashed tokens and counts, as `deriveText('text', text)`. */
export interface TextFields {
  text_tokens: string;
  text_len: number;
  text_words: number;
  text_qmarks: number;
  text_digits: number;
  text_url: boolean;
}

const lowered: number[] = [];

/** `deriveText('text', text)`, fast for Latin-1 text and exactly the same result for any text. */
export function deriveTextFields(text: string): TextFields {
  if (!ENABLED || !isSimple(text)) return deriveText('text', text) as unknown as TextFields;
  const n = text.length;
  let qmarks = 0;
  let digits = 0;
  let words = 0;
  out.length = 0;
  let first = true;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 63) qmarks++;
    else if (c >= 48 && c <= 57) digits++;
    if (WORD_CHAR[c] === 0) {
      i++;
      continue;
    }
    // A word: [i, j).
    let j = i;
    lowered.length = 0;
    while (j < n) {
      const d = text.charCodeAt(j);
      if (WORD_CHAR[d] === 0) break;
      if (j > i) {
        if (d === 63) qmarks++;
        else if (d >= 48 && d <= 57) digits++;
      }
      lowered.push(LOWER[d]!);
      j++;
    }
    if (words < MAX_WORDS) {
      // The word's hash (seed 1), then the trigrams of "<word>" (seed 2).
      let h = (OFFSET ^ 1) >>> 0;
      for (let k = 0; k < lowered.length; k++) h = Math.imul(h ^ lowered[k]!, PRIME);
      if (!first) out.push(32);
      first = false;
      pushBase36(h >>> 0);
      const m = lowered.length + 2;
      for (let s = 0; s + 3 <= m; s++) {
        let g = (OFFSET ^ 2) >>> 0;
        for (let k = s; k < s + 3; k++) g = Math.imul(g ^ (k === 0 ? 60 : k === m - 1 ? 62 : lowered[k - 1]!), PRIME);
        out.push(32);
        pushBase36(g >>> 0);
      }
    }
    words++;
    i = j;
  }
  let tokens: string;
  if (out.length <= 4096) tokens = String.fromCharCode.apply(null, out);
  else {
    tokens = '';
    for (let k = 0; k < out.length; k += 4096) tokens += String.fromCharCode.apply(null, out.slice(k, k + 4096));
  }
  return { text_tokens: tokens, text_len: n, text_words: words, text_qmarks: qmarks, text_digits: digits, text_url: URL_RE.test(text) };
}

/** Widen to a context record. */
export function textFieldsAsContext(f: TextFields): Record<string, ContextValue> {
  return f as unknown as Record<string, ContextValue>;
}
