/**
 * Timestamps as telemetry writes them: ISO-8601 in its variants and epoch values, normalised to
 * ISO-8601 UTC with milliseconds. Alice's own form (`…T….ffffffZ`) takes an arithmetic fast path
 * that gives exactly what the general path gives.
 */

const ISO_RE = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?$/;
const MIN_MS = Date.UTC(1990, 0, 1);
const MAX_MS = Date.UTC(9999, 11, 31);

/** A parsed timestamp: normalised ISO-8601 UTC with milliseconds, and epoch milliseconds. */
export interface ParsedTs {
  iso: string;
  ms: number;
}

/**
 * Read a timestamp: ISO-8601 (`T` or space; an offset or `Z`; without one it is UTC), epoch
 * milliseconds as a number or digit string (values below 1e11 are epoch seconds). Out of
 * 1990..9999 or unreadable gives undefined.
 */
export function parseTimestamp(v: unknown): ParsedTs | undefined {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return undefined;
    ms = v < 1e11 ? v * 1000 : v;
  } else if (typeof v === 'string') {
    const fast = parseIsoUtcFast(v);
    if (fast !== undefined) return fast;
    if (/^\d{9,16}(\.\d+)?$/.test(v)) return parseTimestamp(Number(v));
    const m = ISO_RE.exec(v);
    if (m === null) return undefined;
    const zone = m[3] === undefined ? 'Z' : m[3] === 'z' ? 'Z' : m[3];
    ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  } else {
    return undefined;
  }
  if (!Number.isFinite(ms) || ms < MIN_MS || ms > MAX_MS) return undefined;
  ms = Math.floor(ms);
  return { iso: new Date(ms).toISOString(), ms };
}

/** Epoch milliseconds of an ISO-8601 string, as `Date.parse` gives them (by arithmetic in the common case). */
export function isoEpochMs(v: string): number {
  return parseIsoUtcFast(v)?.ms ?? Date.parse(v);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Two ASCII digits of `s` at `i` as a number, or -1. */
function dd(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * Epoch milliseconds of the `YYYY-MM-DDTHH:MM:SS` that `v` starts with, by arithmetic (what
 * follows is not read); NaN unless the separators are there and the fields make a valid calendar
 * date and time of the years 0000..9999.
 */
export function isoSecondsEpochMs(v: string): number {
  if (v.charCodeAt(4) !== 45 || v.charCodeAt(7) !== 45 || v.charCodeAt(10) !== 84 || v.charCodeAt(13) !== 58 || v.charCodeAt(16) !== 58) return NaN;
  const y1 = dd(v, 0);
  const y2 = dd(v, 2);
  const mo = dd(v, 5);
  const d = dd(v, 8);
  const h = dd(v, 11);
  const mi = dd(v, 14);
  const se = dd(v, 17);
  if (y1 < 0 || y2 < 0 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return NaN;
  const y = y1 * 100 + y2;
  const leap = y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
  if (d > DAYS_IN_MONTH[mo - 1]! + (mo === 2 && leap ? 1 : 0)) return NaN;
  // Days from 1970-01-01 of the civil date (proleptic Gregorian).
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return days * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000;
}

/**
 * The common case of `parseTimestamp`, by arithmetic: `YYYY-MM-DDTHH:MM:SS.fff…Z` (at least
 * milliseconds, in UTC, as Alice writes it) in 1990..9999. Anything else, including any invalid
 * calendar value, is left to the general path (undefined). Same result as the general path (a
 * property test pins this); the regex, `Date.parse` and `toISOString` cost more than the mapping.
 */
function parseIsoUtcFast(v: string): ParsedTs | undefined {
  const n = v.length;
  if (n < 24 || v.charCodeAt(n - 1) !== 90 /* Z */ || v.charCodeAt(19) !== 46) return undefined;
  const seconds = isoSecondsEpochMs(v);
  // NaN fails this too; a valid date before 1990 is exactly one before MIN_MS.
  if (!(seconds >= MIN_MS)) return undefined;
  const f1 = dd(v, 20);
  const f3 = v.charCodeAt(22) - 48;
  if (f1 < 0 || f3 < 0 || f3 > 9) return undefined;
  for (let i = 23; i < n - 1; i++) {
    const c = v.charCodeAt(i);
    if (c < 48 || c > 57) return undefined;
  }
  const t = seconds + (f1 * 10 + f3);
  if (t > MAX_MS) return undefined;
  return { iso: n === 24 ? v : `${v.slice(0, 23)}Z`, ms: t };
}
