/**
 * `loadLog`: a log file read straight into memory through the ingestion path, as `umbra pipeline`
 * and `umbra ope` use it; and the same file through SQLite stores exactly the same decisions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeAliceTelemetry } from '../../bench/ingest.js';
import { compileConfig } from '../../src/core/config/index.js';
import { compileReward } from '../../src/core/reward.js';
import { computeKpis } from '../../src/core/telemetry/kpis.js';
import { ingest } from '../../src/ingest/ingest.js';
import { loadLog } from '../../src/ingest/load.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';

const root = mkdtempSync(join(tmpdir(), 'umbra-load-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loadLog', () => {
  it('returns episodes with rewards, KPIs, counts and quarantine for a mixed log', async () => {
    const file = join(root, 'mixed.jsonl');
    const now = Date.parse('2025-09-05T00:00:00Z');
    writeFileSync(
      file,
      [
        { v: 1, id: 'c1', ts: '2025-09-04T10:00:00Z', context: { text: 'Hej' }, actions: ['micro', 'deep'], action: 'deep', propensity: 0.3, outcome: { success: true, latency_ms: 200 } },
        { v: 1, id: 'c2', ts: '2025-09-04T10:00:01Z', context: {}, actions: ['micro', 'deep'], action: 'micro' },
        { v: 1, kind: 'outcome', id: 'c2', ts: '2025-09-04T10:00:05Z', reward: 0.75 },
        { v: 1, id: 'c3', ts: '2025-09-04T23:59:59Z', context: {}, actions: ['micro'], action: 'micro' },
        { v: 1, id: 'c4', ts: '2025-09-04T10:00:00Z', context: {}, actions: ['micro'], action: 'micro', point: 'cache' },
        'not even an object',
      ]
        .map((x) => JSON.stringify(x))
        .join('\n') + '\n{broken\n',
    );
    const log = await loadLog(file, { now, config: compileConfig({ reward: { default_after_s: 3600 } }) });
    expect(log.counts).toMatchObject({ linesRead: 7, eventsStored: 4, outcomesJoined: 1, quarantined: { total: 2, byReason: { not_object: 1, not_json: 1 } } });
    expect(log.episodes.map((e) => [e.event.id, e.source])).toEqual([
      ['c1', 'computed'],
      ['c2', 'explicit'],
      ['c4', 'default'],
    ]);
    expect(log.episodesFor('route').map((e) => e.event.id)).toEqual(['c1', 'c2']);
    expect(log.episodes[0]!.event.context).not.toHaveProperty('text');
    expect(log.episodes[0]!.event.context.text_len).toBe(3);
    expect(log.episodes[1]!.reward).toBe(0.75);
    expect(log.quarantine.map((q) => q.reason)).toEqual(['not_object', 'not_json']);
    expect(log.turns).toHaveLength(0);
    expect(log.kpis.kpis.successRate).toBe(1);
    expect(log.kpis.counts.facts).toBe(2);
  });

  it('reads Alice telemetry and a .json array the same way as ingestion, with KPIs over every turn', async () => {
    const file = join(root, 'alice.jsonl');
    const gen = writeAliceTelemetry(file, 3000, 11, 0.15);
    const log = await loadLog(file, { now: Date.parse('2026-01-01T00:00:00Z') });
    expect(log.counts.linesRead).toBe(gen.lines);
    expect(log.turns).toHaveLength(gen.turns);
    expect(log.kpis.counts.facts).toBe(gen.turns);
    expect(log.kpis).toEqual(computeKpis(log.turns, compileReward({})));
    expect(log.kpis.kpis.successRate).toBeGreaterThan(0.3);
    expect(log.kpis.kpis.successRate).toBeLessThan(1);
    expect(log.kpis.kpis.cacheHitRate).toBeNull();
    const routes = new Set(log.episodesFor('route').map((e) => e.event.action));
    expect([...routes].every((r) => ['micro', 'planner', 'deep'].includes(r))).toBe(true);

    const store = openSqliteStore(join(root, 'alice', 'umbra.db'));
    const counts = await ingest({ store, path: file });
    expect(counts.eventsStored).toBe(log.counts.eventsStored);
    expect(counts.duplicates).toBe(log.counts.duplicates);
    const fromSqlite = [];
    for await (const d of store.decisions()) fromSqlite.push(d.event);
    const fromMemory = [];
    for await (const d of log.store.decisions()) fromMemory.push(d.event);
    expect(fromSqlite).toEqual(fromMemory);
    expect(fromSqlite.length).toBe(counts.eventsStored);
    await store.close();

    const arr = join(root, 'bootstrap.json');
    writeFileSync(arr, JSON.stringify([{ timestamp: '2024-09-04T10:01:00Z', intent: 'weather', route: 'planner', tool: 'weather.lookup', success: 1, latency_ms: 450, cost_usd: 0.003, cache_hit: 0, guardian_state: 'NORMAL', lang: 'sv' }]));
    const a = await loadLog(arr);
    expect(a.episodes.map((e) => e.event.point)).toEqual(['route', 'tool']);
    expect(a.kpis.kpis.cacheHitRate).toBe(0);
  });

  it('throws E_INPUT_NOT_FOUND for a missing file', async () => {
    await expect(loadLog(join(root, 'none.jsonl'))).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
  });
});
