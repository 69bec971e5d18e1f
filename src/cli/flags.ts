/**
 * Parsers of command-line values that turn a bad value into a usage error naming the flag.
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import { SCENARIOS, type ScenarioName } from '../core/sim/index.js';
import { parseStrictTime } from '../core/time.js';

/** A usage error (exit status 2). */
export function usage(msg: string): UmbraError {
  return new UmbraError(ErrorCode.USAGE, msg);
}

/** A non-negative safe integer (seeds, counts), or a usage error naming the flag. */
export function parseIntFlag(v: string, flag: string, min = 0): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw usage(`${flag} must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** A finite number in [min, max) (or [min, max] with `inclusive`). */
export function parseNumberFlag(v: string, flag: string, min: number, max = Infinity, inclusive = false, what?: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < min || (inclusive ? n > max : n >= max)) {
    const range = what ?? `a number in [${short(min)}, ${short(max)}${inclusive ? ']' : ')'}`;
    throw usage(`${flag} must be ${range}, got "${v}"`);
  }
  return n;
}

/** A bound as people read it (no 0.041666666666666664). */
function short(x: number): string {
  return Number.isInteger(x) || !Number.isFinite(x) ? String(x) : String(Number(x.toPrecision(4)));
}

/** A scenario name. */
export function parseScenario(v: string): ScenarioName {
  if (!(SCENARIOS as readonly string[]).includes(v)) throw usage(`unknown scenario "${v}" (expected ${SCENARIOS.join(', ')})`);
  return v as ScenarioName;
}

/** An ISO-8601 timestamp with an offset (or Z) that is not in the future. */
export function parseEnd(v: string, nowMs: number): number {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/.test(v)) throw usage(`--end must be an ISO-8601 time with an offset or Z, got "${v}"`);
  const ms = Date.parse(v);
  if (!Number.isFinite(ms)) throw usage(`--end is not a valid time: "${v}"`);
  if (ms > nowMs) throw usage(`--end ${v} lies in the future: bootstrap never writes future timestamps`);
  return ms;
}

/**
 * A point in time: epoch milliseconds, or an ISO-8601 date or time that names a real calendar day
 * (2025-02-30 is refused, not rolled over to March). Returns epoch milliseconds.
 */
export function parseTime(v: string, flag: string): number {
  const ms = parseStrictTime(v);
  if (ms === null) {
    if (/^\d{4}-\d{2}-\d{2}/.test(v)) throw usage(`${flag} names no real time: "${v}"`);
    throw usage(`${flag} must be an ISO-8601 time (e.g. 2026-01-31T12:00:00Z) or epoch milliseconds, got "${v}"`);
  }
  return ms;
}
