/**
 * Line-level verdicts that need the raw text: telling a torn line from plain garbage, and the
 * bounded, redacted excerpt kept with every quarantined line (raw user text never reaches the
 * quarantine table unless the config says text may be stored).
 */
import { QuarantineReason } from '../core/telemetry/types.js';

/** Keys whose string values are raw user text in Alice's telemetry. */
const TEXT_FIELD_RE = /("(?:input_text|output_text|text|comment)"\s*:\s*")((?:[^"\\]|\\.)*)("?)/g;

/**
 * Why a line that is not JSON failed: `torn_line` when it holds a piece of a JSON object (an
 * opening brace followed by a quoted key, or a closing brace after a quoted value, as concurrent
 * writers and cut-short writes leave them), else `not_json`. A line that is one whole object, its
 * braces balanced from the first character to the last, was written in one piece: it failed for
 * its content (a `NaN` or `Infinity` literal, single quotes, a trailing comma), so it is `not_json`.
 */
export function classifyUnparsable(text: string): typeof QuarantineReason.TORN_LINE | typeof QuarantineReason.NOT_JSON {
  if (isWholeObject(text)) return QuarantineReason.NOT_JSON;
  return /\{\s*"|"\s*[:,}]|\}\s*\{/.test(text) ? QuarantineReason.TORN_LINE : QuarantineReason.NOT_JSON;
}

/** True when `text` (trimmed) opens with `{`, closes with `}` and its outer object closes only at the end (strings skipped). */
function isWholeObject(text: string): boolean {
  const t = text.trim();
  if (t.length < 2 || t[0] !== '{' || t[t.length - 1] !== '}') return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < t.length; i++) {
    const c = t[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{' || c === '[') depth++;
    else if (c === '}' || c === ']') {
      depth--;
      if (depth < 0) return false;
      if (depth === 0 && i !== t.length - 1) return false; // two objects glued together
    }
  }
  return depth === 0 && !inString;
}

/**
 * A bounded excerpt of a quarantined line: text fields redacted (unless `keepText`), control
 * characters made visible, at most `maxChars` characters.
 */
export function excerptOf(text: string, maxChars: number, keepText = false, freeTextChars = 64): string {
  // Redact before cutting: a long string cut short by the window must still be recognised as long.
  let s = text.length > maxChars * 4 + 64 + freeTextChars * 8 ? text.slice(0, maxChars * 4 + 64 + freeTextChars * 8) : text;
  if (!keepText) {
    s = s.replace(TEXT_FIELD_RE, (_m, open: string, _body: string, close: string) => `${open}[redacted]${close}`);
    s = redactLongStrings(s, freeTextChars);
  }
  // eslint-disable-next-line no-control-regex
  s = s.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return s.length > maxChars ? `${s.slice(0, Math.max(0, maxChars - 1))}…` : s;
}

/**
 * Every JSON string literal (or the unterminated tail of one) longer than `max` characters replaced
 * by `"[redacted]"`: free text under any key, in a line that may not even be valid JSON.
 */
function redactLongStrings(s: string, max: number): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const q = s.indexOf('"', i);
    if (q === -1) {
      out += s.slice(i);
      break;
    }
    out += s.slice(i, q + 1);
    let j = q + 1;
    while (j < s.length && s.charCodeAt(j) !== 34) j += s.charCodeAt(j) === 92 ? 2 : 1;
    const body = s.slice(q + 1, Math.min(j, s.length));
    out += body.length > max ? '[redacted]' : body;
    if (j < s.length) out += '"';
    i = j + 1;
  }
  return out;
}

/** True when a line holds only whitespace (skipped, neither counted nor quarantined). */
export function isBlank(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 13 && c !== 10 && c !== 0xfeff) return false;
  }
  return true;
}
