import { describe, expect, it } from 'vitest';
import { classifyUnparsable, excerptOf, isBlank } from './lines.js';

describe('line verdicts', () => {
  it('tells a torn piece of a JSON object from plain garbage', () => {
    expect(classifyUnparsable('{"trace_id":"abc","route":"pl')).toBe('torn_line');
    expect(classifyUnparsable('anner","tool_calls":[]}')).toBe('torn_line');
    expect(classifyUnparsable('}{"v":"1"')).toBe('torn_line');
    expect(classifyUnparsable('hello world')).toBe('not_json');
    expect(classifyUnparsable('\u0000\u0001binary')).toBe('not_json');
  });

  it('calls a whole object with a non-JSON literal not_json, and glued or cut objects torn', () => {
    expect(classifyUnparsable('{"trace_id":"abc","latency_ms":NaN}')).toBe('not_json');
    expect(classifyUnparsable('  {"a":{"b":[Infinity]},"c":"}{"} ')).toBe('not_json');
    expect(classifyUnparsable("{'a': 1}")).toBe('not_json');
    expect(classifyUnparsable('{"a":1,}')).toBe('not_json');
    expect(classifyUnparsable('{"a":1}{"b":2}')).toBe('torn_line');
    expect(classifyUnparsable('{"a":1,{"b":2}')).toBe('torn_line');
    expect(classifyUnparsable('{"a":"x}')).toBe('torn_line');
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
