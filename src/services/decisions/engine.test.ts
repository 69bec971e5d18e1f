/**
 * The engine's view of the rollout state: a refresh asked for while another is in flight must not
 * be answered by that earlier read (it may predate the change the caller just made).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { settingsOf } from '../../core/settings.js';
import type { RolloutState } from '../../core/rollout/index.js';
import { Bundles } from '../artifacts/bundles.js';
import { RolloutService } from '../rollout/state.js';
import { MemoryStore } from '../../store/memory.js';
import { DecisionEngine } from './engine.js';

const request = { point: 'route', context: { text: 'hej' }, actions: ['micro', 'planner', 'deep'], baselineAction: 'planner', stickyKey: 'u1' };
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

describe('DecisionEngine.refresh', () => {
  it('a refresh called while one is in flight reads the state again after it, once for all such callers', async () => {
    const store = new MemoryStore();
    const settings = settingsOf({});
    const before = await new RolloutService(store, { settings }).state();
    // The "after" state differs visibly: a candidate in flight, whose stage every answer reports.
    const after: RolloutState = {
      ...before,
      candidate: 'c1',
      versions: { ...before.versions, c1: { ...before.versions[before.champion]!, id: 'c1', stage: 'registered', pausedFrom: null } },
    };
    let current = before;
    let reads = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const rollout = {
      trusted: true,
      state: async (): Promise<RolloutState> => {
        reads++;
        const seen = current; // what the store holds when the read starts
        if (reads === 1) await gate;
        return seen;
      },
    } as unknown as RolloutService;
    const engine = new DecisionEngine({ store, rollout, settings, bundles: new Bundles('/nonexistent') });
    closers.push(() => engine.close(), () => store.close());

    const first = engine.refresh(); // reads `before` and waits at the gate
    current = after; // another process changes the state meanwhile
    const second = engine.refresh();
    const third = engine.refresh();
    release();
    await Promise.all([first, second, third]);
    expect(reads).toBe(2);
    expect((await engine.decide({ ...request })).stage).toBe('registered');
  });
});
