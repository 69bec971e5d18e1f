import { describe, expect, it } from 'vitest';
import { parseStrictTime } from './time.js';

describe('parseStrictTime', () => {
  it('takes epoch milliseconds and real ISO-8601 times', () => {
    expect(parseStrictTime('1767225600000')).toBe(1767225600000);
    expect(parseStrictTime('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect(parseStrictTime('2024-02-29')).toBe(Date.UTC(2024, 1, 29));
  });
  it('refuses days and times that do not exist, and anything else', () => {
    for (const v of ['2025-02-30', '2025-02-29', '2026-13-01', '2026-01-01T24:00:00Z', '2026-01-01T12:60Z', 'yesterday', '', '2026-1-1']) expect(parseStrictTime(v), v).toBeNull();
  });
});
