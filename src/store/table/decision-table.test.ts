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
});
