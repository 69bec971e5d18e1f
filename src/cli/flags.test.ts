import { describe, expect, it } from 'vitest';
import { parseEnd, parseIntFlag, parseNumberFlag, parseScenario } from './flags.js';

const usage = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    expect((e as { code: string }).code).toBe('E_USAGE');
    return (e as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('command-line value parsers', () => {
  it('read integers at or above a minimum, naming the flag otherwise', () => {
    expect(parseIntFlag('42', '--episodes', 1)).toBe(42);
    expect(usage(() => parseIntFlag('0', '--episodes', 1))).toBe('--episodes must be an integer >= 1, got "0"');
    for (const bad of ['', ' ', '1.5', 'ten', '1e400', '-3']) usage(() => parseIntFlag(bad, '--seed'));
  });

  it('read numbers in a half-open or closed range', () => {
    expect(parseNumberFlag('0.05', '--exploration', 0, 1)).toBe(0.05);
    expect(usage(() => parseNumberFlag('1', '--exploration', 0, 1))).toContain('[0, 1)');
    expect(parseNumberFlag('3660', '--days', 1 / 24, 3660, true)).toBe(3660);
    usage(() => parseNumberFlag('NaN', '--days', 0, 10, true));
  });

  it('read a scenario name and an end time that is not in the future', () => {
    expect(parseScenario('pessimistic')).toBe('pessimistic');
    expect(usage(() => parseScenario('gloomy'))).toContain('realistic');
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseEnd('2025-12-31T23:00:00+01:00', now)).toBe(Date.parse('2025-12-31T22:00:00Z'));
    expect(usage(() => parseEnd('2026-06-01T00:00:00Z', now))).toContain('future');
    expect(usage(() => parseEnd('2025-12-31', now))).toContain('offset or Z');
  });
});
