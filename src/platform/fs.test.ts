import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eachRecord, readRecords, type JsonRecord } from './fs.js';

const dir = mkdtempSync(join(tmpdir(), 'umbra-fs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function viaStream(path: string): Promise<JsonRecord[]> {
  const out: JsonRecord[] = [];
  for await (const r of readRecords(path)) out.push(r);
  return out;
}

describe('eachRecord', () => {
  it('reads exactly what readRecords reads: line numbers, blanks, CRLF, a lone CR, bad lines, multibyte text across chunks', async () => {
    const lines = ['{"a":1}', '', '  {"b":"å","c":"日本語テキスト"}  ', 'not json', '{"d":[1,2]}\r', '{"e":1}\r{"f":2}', '   ', '{"g":"🙂🙂🙂"}', '{"h":true}'];
    const path = join(dir, 'mixed.jsonl');
    writeFileSync(path, lines.join('\n'));
    const reference = await viaStream(path);
    for (const chunk of [3, 7, 64, 1 << 22]) {
      const got: JsonRecord[] = [];
      eachRecord(path, (r) => got.push(r), chunk);
      expect(got, `chunk ${chunk}`).toEqual(reference);
    }
    expect(reference.map((r) => r.line)).toEqual([1, 3, 4, 5, 6, 7, 9, 10]);
  });

  it('reads a .json array element by element and refuses a missing file', async () => {
    const path = join(dir, 'arr.json');
    writeFileSync(path, JSON.stringify([{ a: 1 }, { b: 2 }]));
    const got: JsonRecord[] = [];
    eachRecord(path, (r) => got.push(r));
    expect(got).toEqual(await viaStream(path));
    expect(() => eachRecord(join(dir, 'absent.jsonl'), () => undefined)).toThrow(/not found/);
  });
});
