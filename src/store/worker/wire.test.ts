import { describe, expect, it } from 'vitest';
import type { DecisionEvent } from '../../core/events.js';
import type { TurnFact } from '../../core/telemetry/types.js';
import { encodeDecision, encodeTurn, isEncoded, toEvent, toTurn } from '../codec.js';
import { MemoryStore } from '../memory.js';
import type { RecordInsert, WriteBatch } from '../port.js';
import { decisionFixture } from '../contract/index.js';
import { packBatch, unpackBatch } from './wire.js';

const turn = (id: string, over: Partial<TurnFact> = {}): TurnFact => ({ id, ts: '2025-09-04T10:00:00.000Z', route: 'planner', outcome: { success: true, latency_ms: 400 }, ...over });

async function stateOf(b: WriteBatch): Promise<unknown> {
  const s = new MemoryStore();
  const r = await s.writeBatch(b);
  const decisions = [];
  for await (const d of s.decisions()) decisions.push(d);
  const turns = [];
  for await (const t of s.turns()) turns.push(t);
  return { r, decisions, turns, counts: await s.counts(), checkpoints: await s.listCheckpoints(), quarantine: await s.quarantineCounts() };
}

describe('wire form of a write batch', () => {
  const own: DecisionEvent = decisionFixture('t1', { context: { lang: 'sv', intent: 'weather', text_tokens: 'a "quoted" \\ token', session_depth: null } });
  const batch: WriteBatch = {
    records: [
      { turn: turn('t1', { session: 'S', intent: 'weather' }), decisions: [own, decisionFixture('t1#tool', { point: 'tool', actions: ['x', 'y'], action: 'y', baseline: 'y' })] },
      { turn: turn('t2', { route: 'error', session: 'S' }), decisions: [] },
      { turn: turn('t3', { route: 'deep', intent: 'other', outcome: { success: false } }), decisions: [decisionFixture('t3')] },
      { turn: encodeTurn(turn('t4', { session: 'Z' }), decisionFixture('t4')), decisions: [encodeDecision(decisionFixture('t4'))] },
      { decisions: [decisionFixture('d5', { propensity: 0.25, probs: { micro: 0.25, planner: 0.5, deep: 0.25 } })] },
    ],
    outcomes: [{ id: 't1', outcome: { feedback: 1 } }],
    quarantine: [{ source: 'f', offset: 3, reason: 'not_json', excerpt: 'x' }],
    checkpoints: [{ source: 'f', dev: '1', ino: '2', offset: 10, size: 10, fp: 'ab', fpLen: 2, skipFrom: null, updatedAt: '2025-01-01T00:00:00.000Z' }],
    hold: true,
    group: true,
  };

  it('round-trips: decisions come back encoded, turns with their own decision encoded against it, the rest as is', () => {
    const back = unpackBatch(packBatch(batch));
    const recs = back.records!;
    expect(recs).toHaveLength(5);
    const ownOf = (r: RecordInsert): DecisionEvent | undefined => {
      const d = r.decisions.find((x) => x.id === r.turn?.id);
      return d === undefined ? undefined : toEvent(d);
    };
    for (const [i, r] of recs.entries()) {
      const orig = batch.records![i]!;
      expect(r.decisions).toEqual(orig.decisions.map((d) => (isEncoded(d) ? d : encodeDecision(d))));
      expect(r.turn === undefined ? undefined : toTurn(r.turn, ownOf(r))).toEqual(orig.turn === undefined ? undefined : toTurn(orig.turn, ownOf(orig)));
    }
    // t2 has no decision of its own: it travels as the fact; t1 and t3 are encoded.
    expect(recs[1]!.turn).toEqual(batch.records![1]!.turn);
    expect(recs[0]!.turn).toEqual({ id: 't1', session: 'S', extra: null });
    expect(recs[2]!.turn).toMatchObject({ id: 't3', session: null });
    expect(back.outcomes).toEqual(batch.outcomes);
    expect(back.quarantine).toEqual(batch.quarantine);
    expect(back.checkpoints).toEqual(batch.checkpoints);
    expect(back.hold).toBe(true);
    expect(back.group).toBe(true);
  });

  it('stores exactly what the original batch stores', async () => {
    // Also without any encoded input, so that the packing does all the encoding.
    const plain = { ...batch, records: batch.records!.filter((r) => r.turn === undefined || !('extra' in r.turn)) };
    expect(await stateOf(unpackBatch(packBatch(plain)))).toEqual(await stateOf(plain));
    expect(await stateOf(unpackBatch(packBatch(batch)))).toEqual(await stateOf(batch));
  });

  it('packs an empty batch to nothing', () => {
    expect(unpackBatch(packBatch({}))).toEqual({ records: [] });
  });
});
