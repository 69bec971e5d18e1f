/**
 * Shadow counters from several processes: each replica publishes its own, nobody overwrites
 * another's, and the reader sums them (also an entry written before counters were per process).
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../store/memory.js';
import { StateKey } from '../state-keys.js';
import { readShadowStats, writeShadowStats } from './stats.js';
import type { CandidateStats } from './scorer.js';

const c = (scored: number, errors = 0): CandidateStats => ({ scored, errors, timeouts: 0, agree: scored, compared: scored, latencyUsSum: 10 * scored });

describe('shadow stats', () => {
  it('sums the counters of every replica, each written under its own id, concurrently', async () => {
    const store = new MemoryStore();
    await Promise.all([writeShadowStats(store, 'serve', { v1: c(100, 1) }, 'replica-a'), writeShadowStats(store, 'serve', { v1: c(50, 2) }, 'replica-b'), writeShadowStats(store, 'controller', { v1: c(7) })]);
    // a replica's later publication replaces only its own counters
    await writeShadowStats(store, 'serve', { v1: c(120, 1), v2: c(3) }, 'replica-a');
    const s = await readShadowStats(store);
    expect(s.v1).toEqual({ scored: 177, errors: 3, timeouts: 0, agree: 177, compared: 177, latencyUsSum: 1770 });
    expect(s.v2?.scored).toBe(3);
  });

  it('reads an entry written before counters were kept per process', async () => {
    const store = new MemoryStore();
    await store.setState(`${StateKey.SHADOW_STATS}.serve`, { v1: c(40) });
    expect((await readShadowStats(store)).v1?.scored).toBe(40);
    await writeShadowStats(store, 'serve', { v1: c(5) }, 'new');
    expect((await readShadowStats(store)).v1?.scored).toBe(5);
  });
});
