/**
 * Small readers of untrusted JSON values shared by the telemetry mapping.
 */

/** A plain JSON object (not null, not an array). */
export function isObj(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A value in a message: short JSON, `missing` when absent. */
export function describe(v: unknown): string {
  if (v === undefined) return 'missing';
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) return String(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}
