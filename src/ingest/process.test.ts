import { describe, expect, it } from 'vitest';
import { TelemetrySchema } from '../core/config/telemetry.js';
import { LineProcessor, emptyProcessed } from './process.js';

const decision = (id: string, over: Record<string, unknown> = {}): string =>
  JSON.stringify({ v: 1, id, ts: '2025-09-04T10:00:00Z', point: 'route', context: { lang: 'sv' }, actions: ['micro', 'planner', 'deep'], action: 'planner', propensity: 0.9, ...over });

describe('LineProcessor', () => {
  const p = new LineProcessor(TelemetrySchema.parse({}));

  it('turns valid lines into records, outcomes and warnings, bad lines into quarantine rows with offsets', () => {
    const out = emptyProcessed();
    const lines = [decision('a'), '', '{"v":1,"kind":"outcome","id":"a","ts":"2025-09-04T10:00:01Z","reward":0.7}', 'not json at all', '{"trace_id":"x","rou', decision('b', { action: 'gpu' })];
    let offset = 0;
    for (const t of lines) {
      p.item(out, 'f.jsonl', { o: offset, t });
      offset += Buffer.byteLength(t) + 1;
    }
    expect(out.items).toBe(6);
    expect(out.linesRead).toBe(5);
    expect(out.records.map((r) => r.decisions.map((d) => ('id' in d ? d.id : '')))).toEqual([['a']]);
    expect(out.outcomes).toEqual([expect.objectContaining({ id: 'a', reward: 0.7 })]);
    expect(out.quarantine.map((q) => [q.reason, q.offset])).toEqual([
      ['not_json', lines.slice(0, 3).reduce((n, t) => n + Buffer.byteLength(t) + 1, 0)],
      ['torn_line', lines.slice(0, 4).reduce((n, t) => n + Buffer.byteLength(t) + 1, 0)],
      ['schema_invalid', lines.slice(0, 5).reduce((n, t) => n + Buffer.byteLength(t) + 1, 0)],
    ]);
    expect(out.quarantined).toEqual({ not_json: 1, torn_line: 1, schema_invalid: 1 });
  });

  it('quarantines byte-level verdicts (oversized or binary lines) with their size', () => {
    const out = emptyProcessed();
    p.item(out, 'f.jsonl', { o: 7, bad: 'line_too_long', s: '{"x":', n: 5_000_000 });
    expect(out.quarantine).toEqual([expect.objectContaining({ reason: 'line_too_long', offset: 7, detail: 'line too long (5000000 bytes)' })]);
  });
});
