/**
 * The contract of the event writer and reader roles: idempotency by id with first-wins filling,
 * later-wins outcome merging in either arrival order, insertion order and paging, sessions, counts.
 */
import { describe, expect, it } from 'vitest';
import { encodeDecision, encodeTurn } from '../codec.js';
import type { DecisionEvent } from '../../core/events.js';
import { PAGE_SIZE, type EventReader, type EventWriter } from '../port.js';
import { collect, decisionFixture, reward, turnFixture, withoutOutcome, freshStore, type Closeable } from './fixtures.js';

/** Register the event writer and reader role's contract tests; `make` returns a fresh, empty store for each test. */
export function describeEventContract(name: string, make: () => (EventReader & EventWriter & Closeable) | Promise<EventReader & EventWriter & Closeable>): void {
  describe(`event writer and reader: ${name}`, () => {
    const store = freshStore(make);

    describe('decisions', () => {
      it('stores decisions and reads them back by id, in insertion order', async () => {
        const a = decisionFixture('a');
        const b = decisionFixture('b', { point: 'tool', actions: ['search', 'web.lookup'], action: 'search', baseline: 'search', propensity: 0.7, probs: { search: 0.7, 'web.lookup': 0.3 } });
        const r = await store.writeBatch({ records: [{ decisions: [a] }, { decisions: [b] }] });
        expect(r).toMatchObject({ inserted: 2, duplicates: 0 });
        const ga = await store.getDecision('a');
        const gb = await store.getDecision('b');
        expect(ga?.event).toEqual(a);
        expect(gb?.event).toEqual(b);
        expect(gb!.seq).toBeGreaterThan(ga!.seq);
        expect(await store.getDecision('nope')).toBeUndefined();
        expect((await collect(store.decisions())).map((d) => d.event.id)).toEqual(['a', 'b']);
        expect((await collect(store.decisions({ point: 'tool' }))).map((d) => d.event.id)).toEqual(['b']);
        expect(await store.countDecisions()).toBe(2);
        expect(await store.countDecisions({ point: 'route' })).toBe(1);
      });

      it('takes decisions in encoded form exactly like events', async () => {
        const a = decisionFixture('a', { propensity: 0.5, probs: { micro: 0.25, planner: 0.5, deep: 0.25 } });
        const r = await store.writeBatch({ records: [{ turn: turnFixture('a', { session: 'S' }), decisions: [encodeDecision(a), encodeDecision(decisionFixture('a#tool', { point: 'tool', actions: ['x', 'y'], action: 'y', baseline: 'y' }))] }] });
        expect(r).toMatchObject({ inserted: 2, turnsInserted: 1 });
        expect((await store.getDecision('a'))?.event).toEqual({ ...a, context: { ...a.context, session_depth: 1 } });
        expect((await store.getDecision('a#tool'))?.event.context.session_depth).toBe(1);
        const again = await store.writeBatch({ records: [{ decisions: [encodeDecision(decisionFixture('a', { outcome: { success: true, cost_usd: 0.002 } }))] }] });
        expect(again).toMatchObject({ inserted: 0, duplicates: 1, filled: 1 });
        expect((await store.getDecision('a'))?.event.outcome).toEqual({ success: true, latency_ms: 400, cost_usd: 0.002 });
      });

      it('takes turns in encoded form (against their own decision) exactly like turn facts', async () => {
        const own = decisionFixture('e1', { context: { lang: 'sv', intent: 'weather', session_depth: null } });
        // One turn derivable from its decision, one that differs from it in every derived field.
        const same = turnFixture('e1', { session: 'S', intent: 'weather' });
        const other = turnFixture('e2', { session: 'S', route: 'deep', ts: '2025-09-04T10:00:01.000Z', outcome: { success: false } });
        const r = await store.writeBatch({
          records: [
            { turn: encodeTurn(same, own), decisions: [encodeDecision(own)] },
            { turn: encodeTurn(other, decisionFixture('e2')), decisions: [decisionFixture('e2')] },
          ],
        });
        expect(r).toMatchObject({ inserted: 2, turnsInserted: 2 });
        expect(await store.getTurn('e1')).toEqual({ ...same, sessionDepth: 1 });
        expect(await store.getTurn('e2')).toEqual({ ...other, sessionDepth: 2 });
        expect(await store.sessionTurns('S')).toBe(2);
        // Seen again, encoded: a duplicate that fills what the first lacked.
        const again = turnFixture('e2', { session: 'S', route: 'deep', ts: '2025-09-04T10:00:01.000Z', outcome: { success: false, tool_ok: true } });
        const dup = await store.writeBatch({ records: [{ turn: encodeTurn(again, decisionFixture('e2')), decisions: [encodeDecision(decisionFixture('e2'))] }] });
        expect(dup).toMatchObject({ inserted: 0, duplicates: 1, turnsInserted: 0, turnDuplicates: 1 });
        expect((await store.getTurn('e2'))?.outcome).toEqual({ success: false, tool_ok: true });
        // An encoded turn needs its own decision in the record: without it the batch fails whole.
        await expect(store.writeBatch({ records: [{ decisions: [decisionFixture('lone')] }, { turn: encodeTurn(turnFixture('e3'), decisionFixture('e3')), decisions: [] }] })).rejects.toThrow();
        expect(await store.getDecision('lone')).toBeUndefined();
        expect(await store.getTurn('e3')).toBeUndefined();
      });

      it('is idempotent by id: a second write counts a duplicate and stores nothing new', async () => {
        const batch = { records: [{ decisions: [decisionFixture('a')] }, { decisions: [decisionFixture('b')] }] };
        await store.writeBatch(batch);
        const again = await store.writeBatch(batch);
        expect(again).toMatchObject({ inserted: 0, duplicates: 2, filled: 0 });
        const inOne = await store.writeBatch({ records: [{ decisions: [decisionFixture('c'), decisionFixture('c', { action: 'deep' })] }] });
        expect(inOne).toMatchObject({ inserted: 1, duplicates: 1 });
        expect(await store.countDecisions()).toBe(3);
        expect((await store.getDecision('c'))?.event.action).toBe('planner');
      });

      it('lets a duplicate fill only the fields the first write lacked (first wins)', async () => {
        const first = decisionFixture('a', { context: { lang: null, hour: 10 }, outcome: { success: false } });
        delete (first as { baseline?: string }).baseline;
        await store.writeBatch({ records: [{ decisions: [first] }] });
        const second = decisionFixture('a', { action: 'deep', context: { lang: 'sv', hour: 11, tokens: 'x' }, outcome: { success: true, tool_ok: false } });
        const r = await store.writeBatch({ records: [{ decisions: [second] }] });
        expect(r).toMatchObject({ inserted: 0, duplicates: 1, filled: 1 });
        const got = (await store.getDecision('a'))!.event;
        expect(got.action).toBe('planner');
        expect(got.context).toEqual({ lang: 'sv', hour: 10, tokens: 'x' });
        expect(got.outcome).toEqual({ success: false, tool_ok: false });
        expect(got.baseline).toBe('planner');
      });

      it('pages through more rows than a page, by cursor, with writes in between', async () => {
        const n = PAGE_SIZE * 2 + 17;
        const events = Array.from({ length: n }, (_, i) => ({ event: decisionFixture(`d${i}`, { ts: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() }) }));
        await store.writeBatch({ records: events.map((e) => ({ decisions: [e.event] })) });
        const seen: string[] = [];
        let wrote = false;
        for await (const d of store.decisions()) {
          seen.push(d.event.id);
          if (!wrote) {
            wrote = true;
            await store.writeBatch({ records: [{ decisions: [decisionFixture('late')] }] });
          }
        }
        expect(seen.slice(0, n)).toEqual(events.map((e) => e.event.id));
        expect(seen.length === n || seen[n] === 'late').toBe(true);
        const first = await collect(store.decisions({ limit: 10 }));
        expect(first).toHaveLength(10);
        const after = await collect(store.decisions({ afterSeq: first[9]!.seq, limit: 5 }));
        expect(after.map((d) => d.event.id)).toEqual(['d10', 'd11', 'd12', 'd13', 'd14']);
        const ranged = await collect(store.decisions({ from: '2025-01-01T00:00:05.000Z', to: Date.UTC(2025, 0, 1) + 8000 }));
        expect(ranged.map((d) => d.event.id)).toEqual(['d5', 'd6', 'd7']);
      });
    });

    describe('outcomes and episodes', () => {
      it('joins an outcome that arrives before its decision', async () => {
        const r1 = await store.writeBatch({ outcomes: [{ id: 'a', outcome: { feedback: 1 } }] });
        expect(r1).toMatchObject({ outcomes: 1, outcomesJoined: 0 });
        expect((await store.counts()).outcomesPending).toBe(1);
        const r2 = await store.writeBatch({ records: [{ decisions: [decisionFixture('a')] }] });
        expect(r2).toMatchObject({ inserted: 1, outcomesJoined: 1 });
        expect((await store.counts()).outcomesPending).toBe(0);
        const [ep] = await collect(store.episodes({ now: Date.now(), reward }));
        expect(ep?.event.outcome).toEqual({ success: true, latency_ms: 400, feedback: 1 });
        expect(ep?.reward).toBeCloseTo(reward.compute({ success: true, latency_ms: 400, feedback: 1 }), 12);
      });

      it('joins an outcome that arrives after its decision, merging field by field (later wins)', async () => {
        await store.writeBatch({ records: [{ decisions: [decisionFixture('a')] }] });
        const r = await store.writeBatch({ outcomes: [{ id: 'a', outcome: { feedback: -1, success: false } }, { id: 'a', ts: '2025-09-04T11:00:00.000Z', outcome: { feedback: 1 } }] });
        expect(r).toMatchObject({ outcomes: 2, outcomesJoined: 2 });
        const o = await store.getOutcome('a');
        expect(o).toMatchObject({ id: 'a', ts: '2025-09-04T11:00:00.000Z', outcome: { feedback: 1, success: false }, updates: 2 });
        const [ep] = await collect(store.episodes({ now: Date.now(), reward }));
        expect(ep?.event.outcome).toEqual({ success: false, latency_ms: 400, feedback: 1 });
      });

      it('joins companion updates like any update, but never reports them as pending', async () => {
        const r1 = await store.writeBatch({ outcomes: [{ id: 'c#tool', outcome: { feedback: 1 }, companion: true }, { id: 'c#cache', outcome: { feedback: 1 }, companion: true }] });
        expect(r1).toMatchObject({ outcomes: 2, outcomesJoined: 0 });
        expect((await store.counts()).outcomesPending).toBe(0);
        const r2 = await store.writeBatch({ records: [{ decisions: [decisionFixture('c#cache', { point: 'cache', actions: ['use', 'bypass'], action: 'use', baseline: 'use' })] }] });
        expect(r2).toMatchObject({ inserted: 1, outcomesJoined: 1 });
        expect((await store.getOutcome('c#cache'))?.outcome).toEqual({ feedback: 1 });
        // A plain update for the same id is reported pending, and both join once the decision arrives.
        await store.writeBatch({ outcomes: [{ id: 'c#tool', outcome: { success: false } }, { id: 'c#tool', outcome: { feedback: -1 }, companion: true }] });
        expect((await store.counts()).outcomesPending).toBe(1);
        const r3 = await store.writeBatch({ records: [{ decisions: [decisionFixture('c#tool', { point: 'tool', actions: ['calculator'], action: 'calculator', baseline: 'calculator' })] }] });
        expect(r3).toMatchObject({ inserted: 1, outcomesJoined: 3 });
        expect((await store.counts()).outcomesPending).toBe(0);
        const eps = await collect(store.episodes({ now: Date.now(), reward }));
        expect(eps.map((e) => [e.event.id, e.event.outcome?.feedback])).toEqual([
          ['c#cache', 1],
          ['c#tool', -1],
        ]);
        // After its decision, a companion is an ordinary joined update.
        expect(await store.writeBatch({ outcomes: [{ id: 'c#cache', outcome: { feedback: 0 }, companion: true }] })).toMatchObject({ outcomesJoined: 1 });
      });

      it('resolves rewards: explicit wins, computed from signals, default after the wait, else pending', async () => {
        const t0 = Date.parse('2025-09-04T10:00:00.000Z');
        await store.writeBatch({
          records: [
            { decisions: [decisionFixture('explicit', { reward: 0.9 })] },
            { decisions: [decisionFixture('computed')] },
            { decisions: [withoutOutcome(decisionFixture('waiting'))] },
            { decisions: [withoutOutcome(decisionFixture('late-reward'))] },
          ],
          outcomes: [{ id: 'late-reward', reward: 0.25 }],
        });
        const early = await collect(store.episodes({ now: t0 + 10_000, reward }));
        expect(early.map((e) => [e.event.id, e.source])).toEqual([
          ['explicit', 'explicit'],
          ['computed', 'computed'],
          ['late-reward', 'explicit'],
        ]);
        expect(early[0]!.reward).toBe(0.9);
        expect(early[2]!.reward).toBe(0.25);
        const late = await collect(store.episodes({ now: t0 + reward.defaultAfterS * 1000 + 1, reward }));
        const waiting = late.find((e) => e.event.id === 'waiting');
        expect(waiting).toMatchObject({ defaulted: true, reward: reward.defaultReward, source: 'default' });
        expect(late.filter((e) => e.defaulted)).toHaveLength(1);
        const routeOnly = await collect(store.episodes({ now: t0, reward, point: 'tool' }));
        expect(routeOnly).toHaveLength(0);
        const cursor = await collect(store.episodes({ now: t0 + 10_000, reward, afterSeq: early[0]!.seq, limit: 1 }));
        expect(cursor.map((e) => e.event.id)).toEqual(['computed']);
      });
    });

    describe('turns and sessions', () => {
      it('assigns session depth on first insert and writes it into the turn\'s decisions', async () => {
        const tool = (id: string): DecisionEvent => decisionFixture(`${id}#tool`, { point: 'tool', actions: ['search', 'calculator'], action: 'search', baseline: 'search' });
        const r = await store.writeBatch({
          records: [
            { turn: turnFixture('t1', { session: 's' }), decisions: [decisionFixture('t1'), tool('t1')] },
            { turn: turnFixture('t2', { session: 's', route: 'fallback' }), decisions: [] },
            { turn: turnFixture('t3', { session: 's' }), decisions: [decisionFixture('t3')] },
            { turn: turnFixture('u1'), decisions: [decisionFixture('u1')] },
          ],
        });
        expect(r).toMatchObject({ turnsInserted: 4, inserted: 4, duplicates: 0 });
        expect((await store.getDecision('t1'))?.event.context.session_depth).toBe(1);
        expect((await store.getDecision('t1#tool'))?.event.context.session_depth).toBe(1);
        expect((await store.getDecision('t3'))?.event.context.session_depth).toBe(3);
        expect((await store.getDecision('u1'))?.event.context.session_depth).toBeNull();
        expect((await store.getTurn('t2'))?.sessionDepth).toBe(2);
        expect((await store.getTurn('t3'))?.sessionDepth).toBe(3);
        expect((await store.getTurn('u1'))?.sessionDepth).toBeNull();
        expect(await store.sessionTurns('s')).toBe(3);
        expect(await store.getTurn('nope')).toBeUndefined();
      });

      it('treats a repeated turn as a duplicate: no new session turn, fills, later decisions get its depth', async () => {
        await store.writeBatch({ records: [{ turn: turnFixture('a0', { session: 's' }), decisions: [decisionFixture('a0')] }, { turn: turnFixture('t1', { session: 's' }), decisions: [decisionFixture('t1')] }] });
        // Alice's second line of a turn: same id, no tool calls; it fills only what the first lacked.
        const again = await store.writeBatch({
          records: [{ turn: turnFixture('t1', { session: 's', outcome: { success: false, tool_ok: true } }), decisions: [decisionFixture('t1', { outcome: { success: false, cost_usd: 0.001 } }), decisionFixture('t1#tool', { point: 'tool', actions: ['search'], action: 'search', baseline: 'search' })] }],
        });
        expect(again).toMatchObject({ turnsInserted: 0, turnDuplicates: 1, inserted: 1, duplicates: 1, filled: 1 });
        expect(await store.sessionTurns('s')).toBe(2);
        expect((await store.getDecision('t1#tool'))?.event.context.session_depth).toBe(2);
        expect((await store.getTurn('t1'))?.outcome).toEqual({ success: true, latency_ms: 400, tool_ok: true });
        expect((await store.getDecision('t1'))?.event.outcome).toEqual({ success: true, latency_ms: 400, cost_usd: 0.001 });
        // A turn without a decision of its own, seen twice, then seen with one: still one turn.
        await store.writeBatch({ records: [{ turn: turnFixture('f', { session: 's', route: 'error' }), decisions: [] }, { turn: turnFixture('f', { session: 's', route: 'error' }), decisions: [] }] });
        expect(await store.sessionTurns('s')).toBe(3);
        const routed = await store.writeBatch({ records: [{ turn: turnFixture('f', { session: 's' }), decisions: [decisionFixture('f')] }] });
        expect(routed).toMatchObject({ turnsInserted: 0, turnDuplicates: 1, inserted: 1 });
        expect(await store.sessionTurns('s')).toBe(3);
        expect((await store.getDecision('f'))?.event.context.session_depth).toBe(3);
        expect((await store.getTurn('f'))?.route).toBe('error');
        // And the other way round: a routed turn seen again without its decision is a duplicate.
        const unrouted = await store.writeBatch({ records: [{ turn: turnFixture('a0', { session: 's', route: 'fallback' }), decisions: [] }] });
        expect(unrouted).toMatchObject({ turnsInserted: 0, turnDuplicates: 1 });
        expect((await store.counts()).turns).toBe(3);
      });

      it('iterates many turns, with and without decisions of their own, in insertion order across pages', async () => {
        const ids = Array.from({ length: PAGE_SIZE * 2 + 31 }, (_, i) => `turn${i}`);
        const records = ids.map((id, i) => (i % 7 === 3 ? { turn: turnFixture(id, { route: 'fallback', session: `s${i % 5}` }), decisions: [] } : { turn: turnFixture(id, { session: `s${i % 5}` }), decisions: [decisionFixture(id)] }));
        await store.writeBatch({ records: records.slice(0, 1000) });
        await store.writeBatch({ records: records.slice(1000) });
        const got = await collect(store.turns());
        expect(got.map((t) => t.id)).toEqual(ids);
        expect(got.map((t) => t.sessionDepth)).toEqual(ids.map((_, i) => Math.floor(i / 5) + 1));
        expect(got.filter((t) => t.route === 'fallback')).toHaveLength(ids.filter((_, i) => i % 7 === 3).length);
        expect((await store.counts()).turns).toBe(ids.length);
      });

      it('iterates turns in insertion order within a time range', async () => {
        await store.writeBatch({
          records: [
            { turn: turnFixture('b', { ts: '2025-09-04T10:00:02.000Z' }), decisions: [decisionFixture('b')] },
            { turn: turnFixture('a', { ts: '2025-09-04T10:00:01.000Z' }), decisions: [] },
            { turn: turnFixture('c', { ts: '2025-09-04T10:00:03.000Z', route: null }), decisions: [] },
          ],
        });
        expect((await collect(store.turns())).map((t) => t.id)).toEqual(['b', 'a', 'c']);
        expect((await collect(store.turns({ from: '2025-09-04T10:00:02.000Z' }))).map((t) => t.id)).toEqual(['b', 'c']);
        expect((await collect(store.turns({ limit: 2 }))).map((t) => t.id)).toEqual(['b', 'a']);
        expect((await collect(store.turns({ to: '2025-09-04T10:00:02.000Z' }))).map((t) => t.id)).toEqual(['a']);
        expect((await store.getTurn('c'))?.route).toBeNull();
      });
    });

    describe('whole store', () => {
      it('counts everything', async () => {
        await store.writeBatch({
          records: [{ turn: turnFixture('a', { session: 's' }), decisions: [decisionFixture('a'), decisionFixture('a#tool', { point: 'tool', actions: ['x'], action: 'x', baseline: 'x' })] }],
          outcomes: [{ id: 'zzz', outcome: { feedback: 0 } }],
          quarantine: [{ source: 's', offset: 0, reason: 'not_json', excerpt: '' }],
        });
        expect(await store.counts()).toEqual({ decisions: 2, byPoint: { route: 1, tool: 1 }, turns: 1, outcomes: 1, outcomesPending: 1, quarantined: 1, sessions: 1, shadow: 0, audit: 0 });
      });

      it('does not alias what callers pass in or get out', async () => {
        const e = decisionFixture('a');
        await store.writeBatch({ records: [{ decisions: [e] }] });
        e.context.lang = 'en';
        const got = (await store.getDecision('a'))!.event;
        expect(got.context.lang).toBe('sv');
        got.context.lang = 'fi';
        expect((await store.getDecision('a'))!.event.context.lang).toBe('sv');
      });
    });
  });
}
