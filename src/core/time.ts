/**
 * Times given by people (`--at`, `?at=`): epoch milliseconds, or an ISO-8601 date or time that
 * names a real calendar day and clock time. `Date.parse` rolls 2025-02-30 over to March 2; this
 * refuses it.
 */

/** Epoch milliseconds of `v`, or null when it is not a real time. */
export function parseStrictTime(v: string): number | null {
  if (/^\d+$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : null;
  }
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.exec(v);
  if (m === null) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const [h, mi, s] = [Number(m[4] ?? 0), Number(m[5] ?? 0), Number(m[6] ?? 0)];
  const day = new Date(Date.UTC(y, mo - 1, d));
  if (day.getUTCFullYear() !== y || day.getUTCMonth() !== mo - 1 || day.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}
