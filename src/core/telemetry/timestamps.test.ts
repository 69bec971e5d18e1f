import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseTimestamp } from './timestamps.js';

describe('parseTimestamp', () => {
  it('reads ISO with offsets, naive UTC, spaces and epoch values', () => {
    expect(parseTimestamp('2025-09-04T10:15:42.123456Z')).toEqual({ iso: '2025-09-04T10:15:42.123Z', ms: Date.UTC(2025, 8, 4, 10, 15, 42, 123) });
    expect(parseTimestamp('2025-09-04 10:15:42')?.iso).toBe('2025-09-04T10:15:42.000Z');
    expect(parseTimestamp('2025-09-04T12:15:42+02:00')?.iso).toBe('2025-09-04T10:15:42.000Z');
    expect(parseTimestamp('2025-09-04T12:15:42+0200')?.iso).toBe('2025-09-04T10:15:42.000Z');
    expect(parseTimestamp(1725444060000)?.iso).toBe('2024-09-04T10:01:00.000Z');
    expect(parseTimestamp(1725444060)?.iso).toBe('2024-09-04T10:01:00.000Z');
    for (const bad of ['', 'tomorrow', '2025-13-40T99:00:00Z', NaN, Infinity, -5, {}, null, undefined, 12]) expect(parseTimestamp(bad)).toBeUndefined();
  });
});

describe('timestamps', () => {
  /** The general rule written independently: the ISO pattern, Date.parse, floor to milliseconds. */
  function reference(v: string): { iso: string; ms: number } | undefined {
    const m = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|z|[+-]\d{2}(?::?\d{2})?)?$/.exec(v);
    if (m === null) return undefined;
    const t = Date.parse(`${m[1]}T${m[2]}${m[3] === undefined || m[3] === 'z' ? 'Z' : m[3]}`);
    if (!Number.isFinite(t) || t < Date.UTC(1990, 0, 1) || t > Date.UTC(9999, 11, 31)) return undefined;
    const ms = Math.floor(t);
    return { iso: new Date(ms).toISOString(), ms };
  }
  const pad = (x: number, w: number) => String(x).padStart(w, '0');

  it("reads Alice's UTC timestamps (the fast path) exactly as the general rule, valid or not (property)", () => {
    const seed = 424242;
    fc.assert(
      fc.property(
        fc.record({
          y: fc.oneof(fc.integer({ min: 1985, max: 2100 }), fc.integer({ min: 9990, max: 9999 })),
          mo: fc.integer({ min: 0, max: 13 }),
          d: fc.integer({ min: 0, max: 32 }),
          h: fc.integer({ min: 0, max: 25 }),
          mi: fc.integer({ min: 0, max: 61 }),
          s: fc.integer({ min: 0, max: 61 }),
          frac: fc.stringMatching(/^[0-9]{1,9}$/),
          tail: fc.constantFrom('Z', 'z', '', '+02:00', 'Zx'),
        }),
        ({ y, mo, d, h, mi, s, frac, tail }) => {
          const v = `${pad(y, 4)}-${pad(mo, 2)}-${pad(d, 2)}T${pad(h, 2)}:${pad(mi, 2)}:${pad(s, 2)}.${frac}${tail}`;
          expect(parseTimestamp(v), `${v} (seed ${seed})`).toEqual(reference(v));
        },
      ),
      { numRuns: 3000, seed },
    );
    for (const v of ['2024-02-29T23:59:59.999Z', '2023-02-29T00:00:00.000Z', '1900-02-29T00:00:00.000Z', '2000-02-29T12:00:00.5Z', '9999-12-31T00:00:00.000Z', '9999-12-31T00:00:00.001Z', '2025-09-04T10:15:42.123456Z', '2025-09-04 10:15:42.123Z', '2a25-09-04T10:15:42.123Z', '20-5-09-04T10:15:42.123Z']) {
      expect(parseTimestamp(v), v).toEqual(reference(v));
    }
  });
});
