/**
 * The target file of `umbra ope` read on a worker thread gives exactly the columns, and exactly the
 * error, that reading it on the calling thread gives (the built modules: the worker runs from dist).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../helpers/shared-data.js';

type Mod = typeof import('../../src/services/jobs/target-file.js');
const mod = (): Promise<Mod> => import(join(projectRoot, 'dist', 'src', 'services', 'jobs', 'target-file.js')) as Promise<Mod>;

const dir = mkdtempSync(join(tmpdir(), 'umbra-target-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, lines: string[]): string {
  const p = join(dir, name);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

describe('target file on a worker thread', () => {
  it('gives the same columns as on the calling thread, duplicates and key order kept', async () => {
    const { readTargetColumns, readTargetColumnsAsync } = await mod();
    const lines = Array.from({ length: 3000 }, (_, i) => JSON.stringify({ id: `e${i % 2500}`, probs: i % 7 === 0 ? { b: 0.25, a: 0.75 } : { a: 0.5, b: 0.2, c: 0.3 } }));
    const p = write('t.jsonl', lines);
    const here = readTargetColumns(p);
    const there = await readTargetColumnsAsync(p, { thread: true }).columns;
    expect(there).toEqual(here);
    expect(here.ids).toHaveLength(3000);
    expect(here.names).toEqual(['b', 'a', 'c']);
    expect(Array.from(here.prob.subarray(here.off[1]!, here.off[2]!))).toEqual([0.5, 0.2, 0.3]);
  });

  it('reports the first bad line with the same code and message on either thread', async () => {
    const { readTargetColumns, readTargetColumnsAsync } = await mod();
    const p = write('bad.jsonl', [JSON.stringify({ id: 'x', probs: { a: 1 } }), JSON.stringify({ id: 'y', probs: { a: 0.5, b: 0.4 } }), '{oops']);
    let here: unknown;
    try {
      readTargetColumns(p);
    } catch (e) {
      here = e;
    }
    expect((here as { code?: string }).code).toBe('E_SCHEMA');
    expect((here as Error).message).toContain('line 2');
    await expect(readTargetColumnsAsync(p, { thread: true }).columns).rejects.toMatchObject({ code: 'E_SCHEMA', message: (here as Error).message });
    await expect(readTargetColumnsAsync(join(dir, 'missing.jsonl'), { thread: true }).columns).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
  });
});
