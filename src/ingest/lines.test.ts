import { describe, expect, it } from 'vitest';
import { classifyUnparsable, excerptOf, isBlank } from './lines.js';

describe('line verdicts', () => {
  /** Each line's verdict, the line named in a failure. */
  const expectVerdicts = (verdicts: Record<string, 'torn_line' | 'not_json'>): void => {
    for (const [line, verdict] of Object.entries(verdicts)) expect(classifyUnparsable(line), line).toBe(verdict);
  };

  it('tells a torn piece of a JSON object from plain garbage', () => {
    expectVerdicts({
      '{"trace_id":"abc","route":"pl': 'torn_line',
      'anner","tool_calls":[]}': 'torn_line',
      '}{"v":"1"': 'torn_line',
      'hello world': 'not_json',
      '\u0000\u0001binary': 'not_json',
    });
  });

  it('calls a whole object with a non-JSON literal not_json, and glued or cut objects torn', () => {
    expectVerdicts({
      '{"trace_id":"abc","latency_ms":NaN}': 'not_json',
      '  {"a":{"b":[Infinity]},"c":"}{"} ': 'not_json',
      "{'a': 1}": 'not_json',
      '{"a":1,}': 'not_json',
      '{"a":1}{"b":2}': 'torn_line',
      '{"a":1,{"b":2}': 'torn_line',
      '{"a":"x}': 'torn_line',
    });
  });

  it('redacts every string longer than the free-text length, under any key, even in a line that is not JSON', () => {
    const secret = 'Jag heter Anna Svensson och bor på Storgatan 12 i Västerås, ring mig på 070-1234567';
    const line = `{"v":1,"id":"d1","context":{"query":"${secret}","note":"${secret}","lang":"sv"},"route":"micro"`; // torn: no closing brace
    const ex = excerptOf(line, 400, false, 64);
    expect(ex).not.toContain('Svensson');
    expect(ex).toContain('"query":"[redacted]"');
    expect(ex).toContain('"note":"[redacted]"');
    expect(ex).toContain('"lang":"sv"');
    expect(excerptOf(`{"x":"${secret}`, 400, false, 64)).toBe('{"x":"[redacted]'); // an unterminated string too
    expect(excerptOf(line, 400, true, 64)).toContain('Svensson'); // store_text keeps it
  });

  it('redacts user text, shows control characters and bounds the excerpt', () => {
    const line = '{"input_text":"Vad blir vädret i Göteborg?","comment":"secret","route":"micro"}';
    const ex = excerptOf(line, 200);
    expect(ex).not.toContain('Göteborg');
    expect(ex).not.toContain('secret');
    expect(ex).toContain('"input_text":"[redacted]"');
    expect(ex).toContain('"route":"micro"');
    expect(excerptOf(line, 200, true)).toContain('Göteborg');
    expect(excerptOf('a\u0000b\u001fc', 50)).toBe('a\\u0000b\\u001fc');
    const long = excerptOf('x'.repeat(10_000), 40);
    expect(long).toHaveLength(40);
    expect(long.endsWith('…')).toBe(true);
  });

  it('skips only whitespace-only lines', () => {
    expect(isBlank('')).toBe(true);
    expect(isBlank(' \t\r\n\ufeff')).toBe(true);
    expect(isBlank(' x ')).toBe(false);
  });
});
