import { describe, expect, it } from 'vitest';
import { describeEventContract, describeLedgerContract } from '../contract/index.js';
import { IdIndex } from './columns.js';
import { DecisionTable } from './decision-table.js';

describeEventContract('decision table', () => new DecisionTable());
describeLedgerContract('decision table', () => new DecisionTable());

describe('IdIndex', () => {
  it('finds, adds and deletes ids under heavy collisions and growth', () => {
    const ids: string[] = [];
    const idx = new IdIndex((row) => ids[row]!, 8);
    const live = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const id = `id-${(i * 7919) % 6007}`;
      if (live.has(id)) continue;
      ids.push(id);
      idx.set(id, ids.length - 1);
      live.set(id, ids.length - 1);
      if (i % 3 === 0) {
        const victim = `id-${(i * 104729) % 6007}`;
        if (live.has(victim)) {
          idx.delete(victim);
          live.delete(victim);
        }
      }
    }
    for (const id of new Set(ids)) expect(idx.get(id), id).toBe(live.get(id) ?? -1);
    expect(idx.get('absent')).toBe(-1);
  });

  it('reuses row numbers after the last rows are dropped (a rolled-back batch), looked up before added as a writer does', () => {
    const ids: string[] = [];
    const idx = new IdIndex((row) => ids[row]!, 4);
    const add = (id: string): void => {
      expect(idx.get(id)).toBe(-1);
      ids.push(id);
      idx.set(id, ids.length - 1);
    };
    for (let i = 0; i < 300; i++) add(`a${i}`);
    for (let row = ids.length - 1; row >= 100; row--) idx.delete(ids[row]!);
    ids.length = 100;
    for (let i = 0; i < 300; i++) add(`b${i}`);
    for (let i = 0; i < 100; i++) expect(idx.get(`a${i}`)).toBe(i);
    for (let i = 100; i < 300; i++) expect(idx.get(`a${i}`)).toBe(-1);
    for (let i = 0; i < 300; i++) expect(idx.get(`b${i}`)).toBe(100 + i);
  });
});
