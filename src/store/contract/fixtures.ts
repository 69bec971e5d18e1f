/**
 * Fixtures and helpers shared by the role suites of the store contract.
 */
import { afterEach, beforeEach } from 'vitest';
import type { DecisionEvent } from '../../core/events.js';
import { compileReward } from '../../core/reward.js';
import type { TurnFact } from '../../core/telemetry/types.js';

/** A decision event for tests. */
export function decisionFixture(id: string, over: Partial<DecisionEvent> = {}): DecisionEvent {
  return {
    v: 1,
    id,
    ts: '2025-09-04T10:00:00.000Z',
    point: 'route',
    context: { lang: 'sv', hour: 10, session_depth: null },
    actions: ['micro', 'planner', 'deep'],
    action: 'planner',
    baseline: 'planner',
    policy: 'rules@alice',
    outcome: { success: true, latency_ms: 400 },
    ...over,
  };
}

/** A turn fact for tests. */
export function turnFixture(id: string, over: Partial<TurnFact> = {}): TurnFact {
  return { id, ts: '2025-09-04T10:00:00.000Z', route: 'planner', outcome: { success: true, latency_ms: 400 }, ...over };
}

/** The event without its outcome. */
export function withoutOutcome(e: DecisionEvent): DecisionEvent {
  const { outcome: _o, ...rest } = e;
  return rest;
}

/** Every item of an async iterable. */
export async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** The default reward function. */
export const reward = compileReward({});

/** Something the suite can close after each test. */
export interface Closeable {
  close(): Promise<void>;
}

/**
 * A fresh, empty store for each test of the enclosing `describe` (closed after it), seen through
 * a stand-in that always forwards to the current one.
 */
export function freshStore<S extends Closeable>(make: () => S | Promise<S>): S {
  let current: S | undefined;
  beforeEach(async () => {
    current = await make();
  });
  afterEach(async () => {
    await current?.close();
    current = undefined;
  });
  return new Proxy({} as S, {
    get(_target, key) {
      if (current === undefined) throw new Error('the store is only open inside a test');
      const v: unknown = Reflect.get(current, key);
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(current) : v;
    },
  });
}
