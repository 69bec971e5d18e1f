/**
 * The one place free text becomes features. Ingestion calls `expandText` to replace a raw text
 * value by derived, privacy-safe fields (hashed tokens and counts) before anything is stored; the
 * feature map calls the same function on a raw text at serving time, so training and serving see
 * identical inputs. Raw text never needs to be stored.
 *
 * Tokens are the lower-cased words (letters and digits) and the character trigrams of each word
 * with boundary marks (`<ab`, `abc`, `bc>`), hashed with FNV-1a over UTF-16 code units and
 * written in base 36. Version `text/v1`; changing anything here must change the version.
 */
import type { Context, ContextValue } from './events.js';

export const TEXT_VERSION = 'text/v1';

/** Words considered per text (the rest is ignored; counts still cover the whole text). */
export const MAX_WORDS = 64;

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

/** The hashed tokens of a text (words and word trigrams), as numbers. */
export function textTokenHashes(text: string): number[] {
  const norm = text.normalize('NFC').toLowerCase();
  const out: number[] = [];
  let n = 0;
  for (const m of norm.matchAll(WORD_RE)) {
    if (n++ >= MAX_WORDS) break;
    const w = m[0];
    out.push(fnvCodeUnits(w, 0, w.length, 1));
    const marked = `<${w}>`;
    for (let i = 0; i + 3 <= marked.length; i++) out.push(fnvCodeUnits(marked, i, i + 3, 2));
  }
  return out;
}

/** Derived fields of a text under the key `key`: hashed tokens and counts. */
export function deriveText(key: string, text: string): Record<string, ContextValue> {
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
    [`${key}_tokens`]: textTokenHashes(text).map((h) => h.toString(36)).join(' '),
    [`${key}_len`]: text.length,
    [`${key}_words`]: words,
    [`${key}_qmarks`]: qmarks,
    [`${key}_digits`]: digits,
    [`${key}_url`]: URL_RE.test(text),
  };
}

/**
 * Replace every raw text value (keys in `textKeys`) by its derived fields. Idempotent: a context
 * that was already expanded is returned unchanged. With `keepRaw`, the raw text stays beside them.
 */
export function expandText(context: Context, textKeys: readonly string[] = ['text'], keepRaw = false): Context {
  let out: Context | undefined;
  for (const key of textKeys) {
    const v = context[key];
    if (typeof v !== 'string') continue;
    out ??= { ...context };
    if (!keepRaw) delete out[key];
    Object.assign(out, deriveText(key, v));
  }
  return out ?? context;
}

/** Parse a `<key>_tokens` value back into token hashes. */
export function parseTokens(v: string): number[] {
  if (v === '') return [];
  return v.split(' ').map((t) => parseInt(t, 36));
}
