/**
 * Ingestion over real files: every kind of garbage line with its reason and byte offset, partial
 * lines, rotation, truncation, directories and globs, duplicates, feedback joins, restarts, and
 * the property that any split of a file into appended chunks stores the same events.
 */
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileConfig } from '../../src/core/config/index.js';
import { compileReward } from '../../src/core/reward.js';
import { ingest, type IngestCounts } from '../../src/ingest/ingest.js';
import { FileTailer } from '../../src/ingest/tailer.js';
import { MemoryStore } from '../../src/store/memory.js';
import { openSqliteStore } from '../../src/store/sqlite/store.js';
import type { Store, WriteBatch, WriteResult } from '../../src/store/port.js';
import { ErrorCode, UmbraError } from '../../src/core/errors.js';

const root = mkdtempSync(join(tmpdir(), 'umbra-ingest-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirN = 0;
const freshDir = (): string => {
  const d = join(root, `d${dirN++}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** An Alice turn event line (with newline). */
function turn(id: string, over: Record<string, unknown> = {}): string {
  return `${JSON.stringify({
    v: '1',
    ts: '2025-09-04T10:15:42.123456Z',
    trace_id: id,
    session_id: 'sess-1',
    route: 'planner',
    e2e_first_ms: 900,
    e2e_full_ms: 1200,
    tool_calls: [{ name: 'weather.lookup', ok: true, klass: null }],
    rag: { planner_schema_ok: true, fallback_used: false, blocked_by_guardian: false, tokens_used: 50 },
    guardian_state: 'NORMAL',
    input_text: 'Vad blir vädret i Göteborg imorgon?',
    output_text: 'Sol och 18 grader.',
    lang: 'sv',
    ...over,
  })}\n`;
}
const feedback = (id: string, up: boolean | null): string => `${JSON.stringify({ v: '1', kind: 'feedback', trace_id: id, explicit: { thumbs_up: up, comment: null } })}\n`;

const cfg = (telemetry: Record<string, unknown> = {}) => compileConfig({ telemetry });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function run(store: Store, path: string, telemetry: Record<string, unknown> = {}): Promise<IngestCounts> {
  return ingest({ store, path, config: cfg(telemetry) });
}

describe('garbage lines', () => {
  it('quarantines each kind with its reason code and byte offset, and loses nothing else', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    const parts: (string | Buffer)[] = [
      Buffer.from([0xef, 0xbb, 0xbf]),
      turn('t1'),
      'garbage that is not json\n',
      '{"trace_id":"t9","ts":"2025-09-04T10:15:42Z","input_text":"hemligt namn Kalle","rou\n',
      '[1,2,3]\n',
      '{"hello":"world"}\n',
      turn('t2', { ts: 'not a time' }),
      turn('', {}),
      Buffer.concat([Buffer.from('{"trace_id":"t3",'), Buffer.from([0, 0, 0]), Buffer.from('}\n')]),
      Buffer.concat([Buffer.from('{"trace_id":"t4","x":"'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}\n')]),
      `{"trace_id":"t5","pad":"${'x'.repeat(5000)}"}\n`,
      '\n',
      '   \r\n',
      turn('t6').replace('\n', '\r\n'),
      `${JSON.stringify({ v: 1, id: 'c1', ts: '2025-09-04T10:00:00Z', context: {}, actions: ['a'], action: 'b' })}\n`,
      turn('t7'),
    ];
    const buffers = parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : p));
    writeFileSync(file, Buffer.concat(buffers));
    const offsets: number[] = [];
    let pos = 0;
    for (const b of buffers) {
      offsets.push(pos);
      pos += b.length;
    }
    const store = new MemoryStore();
    const c = await run(store, file, { max_line_bytes: 1024 });
    const rows = await collect(store.quarantine());
    expect(rows.map((r) => [r.reason, r.offset])).toEqual([
      ['not_json', offsets[2]],
      ['torn_line', offsets[3]],
      ['not_object', offsets[4]],
      ['unknown_shape', offsets[5]],
      ['bad_timestamp', offsets[6]],
      ['schema_invalid', offsets[7]],
      ['nul_bytes', offsets[8]],
      ['invalid_utf8', offsets[9]],
      ['oversized_line', offsets[10]],
      ['schema_invalid', offsets[14]],
    ]);
    expect(c.quarantined).toEqual({ total: 10, byReason: { not_json: 1, torn_line: 1, not_object: 1, unknown_shape: 1, bad_timestamp: 1, schema_invalid: 2, nul_bytes: 1, invalid_utf8: 1, oversized_line: 1 } });
    expect(c.linesRead).toBe(13);
    expect(c.eventsStored).toBe(3);
    expect((await collect(store.decisions())).map((d) => d.event.id)).toEqual(['t1', 't6', 't7']);
    // Excerpts are bounded and never carry raw user text.
    for (const r of rows) expect(r.excerpt.length).toBeLessThanOrEqual(200);
    expect(rows.map((r) => r.excerpt).join(' ')).not.toContain('Kalle');
    expect(rows.map((r) => r.excerpt).join(' ')).not.toContain('Göteborg');
    expect(rows[1]!.excerpt).toContain('[redacted]');
  });

  it('a file of pure garbage gives zero events and a full quarantine report', async () => {
    const file = join(freshDir(), 'garbage.jsonl');
    const lines = ['%%%%', 'lorem ipsum', '{"a":', '42', 'null', '{"x":1}', '"str"', '}{', String.fromCharCode(0) + 'nul'];
    writeFileSync(file, `${lines.join('\n')}\n`);
    const store = new MemoryStore();
    const c = await run(store, file);
    expect(c.eventsStored).toBe(0);
    expect(c.linesRead).toBe(lines.length);
    expect(c.quarantined.total).toBe(lines.length);
    expect(Object.values(c.quarantined.byReason).reduce((a, b) => a + b, 0)).toBe(lines.length);
    expect((await store.counts()).decisions).toBe(0);
    expect(await store.quarantineCounts()).toEqual(c.quarantined.byReason);
  });
});

describe('partial and split lines', () => {
  it('keeps a partial last line for later and never cuts a multibyte character', async () => {
    const file = join(freshDir(), 'events.jsonl');
    const full = turn('p2', { input_text: 'Översätt åäö 😀 till tyska' });
    const cut = Buffer.from(full).indexOf(Buffer.from('😀')) + 2; // inside the 4-byte emoji
    writeFileSync(file, Buffer.concat([Buffer.from(turn('p1')), Buffer.from(full).subarray(0, cut)]));
    const store = new MemoryStore();
    const c1 = await run(store, file);
    expect(c1).toMatchObject({ linesRead: 1, eventsStored: 1, quarantined: { total: 0 } });
    expect(c1.pendingBytes).toBe(cut);
    appendFileSync(file, Buffer.from(full).subarray(cut));
    const c2 = await run(store, file);
    expect(c2).toMatchObject({ linesRead: 1, eventsStored: 1, duplicates: 0, quarantined: { total: 0 } });
    expect((await store.getDecision('p2'))?.event.context.text_len).toBe('Översätt åäö 😀 till tyska'.length);
  });

  it('reads a last line without newline when it is already a complete JSON object', async () => {
    const file = join(freshDir(), 'events.jsonl');
    writeFileSync(file, turn('u1') + turn('u2').trimEnd());
    const store = new MemoryStore();
    expect(await run(store, file)).toMatchObject({ linesRead: 2, eventsStored: 2, pendingBytes: 0 });
    appendFileSync(file, `\n${turn('u3')}`);
    expect(await run(store, file)).toMatchObject({ linesRead: 1, eventsStored: 1, duplicates: 0 });
  });

  it('decodes lines across tiny reads byte-exactly (tailer)', () => {
    const file = join(freshDir(), 'tiny.jsonl');
    const texts = ['{"a":"åäö"}', '{"b":"😀😀"}', '{"c":"€"}'];
    writeFileSync(file, `${texts.join('\n')}\n`);
    const t = FileTailer.open(file, file, undefined, [], { maxLineBytes: 1024, readBytes: 3 })!;
    const got = [...t.read()];
    t.close();
    expect(got.map((g) => ('t' in g ? g.t : g.bad))).toEqual(texts);
    expect(got.map((g) => g.o)).toEqual([0, Buffer.byteLength(`${texts[0]}\n`), Buffer.byteLength(`${texts[0]}\n${texts[1]}\n`)]);
  });

  it('skips an over-long line that spans reads and runs, resuming after it', async () => {
    const file = join(freshDir(), 'events.jsonl');
    const store = new MemoryStore();
    writeFileSync(file, turn('o1') + `{"trace_id":"big","pad":"${'y'.repeat(3000)}`);
    const c1 = await run(store, file, { max_line_bytes: 1024 });
    expect(c1).toMatchObject({ eventsStored: 1, quarantined: { total: 0 } });
    appendFileSync(file, `${'y'.repeat(3000)}"}\n${turn('o2')}`);
    const c2 = await run(store, file, { max_line_bytes: 1024 });
    expect(c2).toMatchObject({ eventsStored: 1, quarantined: { total: 1, byReason: { oversized_line: 1 } } });
    expect((await collect(store.quarantine()))[0]!.offset).toBe(Buffer.byteLength(turn('o1')));
  });
});

describe('duplicates and feedback', () => {
  it("collapses Alice's two lines per trace into one decision; the second fills only what the first lacked", async () => {
    const file = join(freshDir(), 'events.jsonl');
    writeFileSync(file, turn('d1', { intent: 'weather', tool_calls: [{ name: 'weather.lookup', ok: false }] }) + turn('d1', { intent: 'weather', tool_calls: [], cache_hit: true }));
    const store = new MemoryStore();
    const c = await run(store, file);
    expect(c).toMatchObject({ linesRead: 2, eventsStored: 2, duplicates: 1 });
    const d = (await store.getDecision('d1'))!.event;
    expect(d.outcome).toMatchObject({ success: false, tool_ok: false, cache_hit: true });
    expect((await store.getDecision('d1#tool'))!.event.action).toBe('weather.lookup');
    expect((await store.counts()).turns).toBe(1);
    expect(await store.sessionTurns('sess-1')).toBe(1);
  });

  it('joins feedback by trace id whichever arrives first', async () => {
    for (const order of ['feedback-first', 'turn-first']) {
      const dir = freshDir();
      const lines = order === 'feedback-first' ? feedback('f1', false) + turn('f1') : turn('f1') + feedback('f1', false);
      writeFileSync(join(dir, 'events.jsonl'), lines);
      const store = new MemoryStore();
      const c = await run(store, join(dir, 'events.jsonl'));
      expect(c, order).toMatchObject({ eventsStored: 1, outcomesJoined: 1 });
      const [ep] = await collect(store.episodes({ now: Date.now(), reward: compileReward({}) }));
      expect(ep!.event.outcome!.feedback, order).toBe(-1);
    }
    // Feedback in a later run (another file) joins too.
    const dir = freshDir();
    writeFileSync(join(dir, 'a.jsonl'), turn('f2'));
    const store = new MemoryStore();
    await run(store, join(dir, 'a.jsonl'));
    writeFileSync(join(dir, 'b.jsonl'), feedback('f2', true) + feedback('zzz', true));
    const c = await run(store, join(dir, 'b.jsonl'));
    expect(c).toMatchObject({ outcomesJoined: 1 });
    expect((await store.counts()).outcomesPending).toBe(1);
  });

  it("brings feedback to the turn's tool and cache decisions too, in either order, in SQLite", async () => {
    const full = (id: string) => turn(id, { intent: 'weather', cache_used: false, cache_similarity: 0.4, cache_age_s: 30 });
    for (const order of ['feedback-first', 'turn-first', 'separate-runs']) {
      const dir = freshDir();
      const store = openSqliteStore(join(dir, 'umbra.db'));
      try {
        let c: IngestCounts;
        if (order === 'separate-runs') {
          writeFileSync(join(dir, 'a.jsonl'), feedback('h1', true) + feedback('h2', false));
          await run(store, join(dir, 'a.jsonl'));
          writeFileSync(join(dir, 'b.jsonl'), full('h1') + turn('h2'));
          c = await run(store, join(dir, 'b.jsonl'));
        } else {
          const lines = order === 'feedback-first' ? feedback('h1', true) + full('h1') + feedback('h2', false) + turn('h2') : full('h1') + feedback('h1', true) + turn('h2') + feedback('h2', false);
          writeFileSync(join(dir, 'events.jsonl'), lines);
          c = await run(store, join(dir, 'events.jsonl'));
        }
        // h1: route, tool and cache decisions, each joined once; h2 has only a route decision.
        expect(c, order).toMatchObject({ eventsStored: 4, outcomesJoined: 4 });
        const eps = await collect(store.episodes({ now: Date.now(), reward: compileReward({}) }));
        expect(Object.fromEntries(eps.map((e) => [e.event.id, e.event.outcome?.feedback])), order).toEqual({ h1: 1, 'h1#tool': 1, 'h1#cache': 1, h2: -1 });
        // h2's missing tool and cache decisions leave nothing reported as waiting.
        expect((await store.counts()).outcomesPending, order).toBe(0);
      } finally {
        await store.close();
      }
    }
  });

  it('reads a file again only from its checkpoint; the same lines under another name are duplicates', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, turn('r1') + turn('r2') + turn('r3'));
    const store = openSqliteStore(join(dir, 'umbra.db'));
    expect(await run(store, file)).toMatchObject({ linesRead: 3, eventsStored: 3 });
    expect(await run(store, file)).toMatchObject({ linesRead: 0, eventsStored: 0, duplicates: 0 });
    copyFileSync(file, join(dir, 'copy.jsonl'));
    expect(await run(store, join(dir, 'copy.jsonl'))).toMatchObject({ linesRead: 3, eventsStored: 0, duplicates: 3 });
    await store.close();
  });
});

describe('rotation, truncation, directories and globs', () => {
  it('finishes a rotated file (rename + create) from its checkpoint, then reads the new file', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, turn('a1') + turn('a2'));
    const store = openSqliteStore(join(dir, 'umbra.db'));
    expect(await run(store, file)).toMatchObject({ eventsStored: 2 });
    appendFileSync(file, turn('a3'));
    renameSync(file, `${file}.1`);
    writeFileSync(file, turn('b1') + turn('b2'));
    const c = await run(store, file);
    expect(c).toMatchObject({ eventsStored: 3, duplicates: 0, rotations: 1 });
    expect((await collect(store.decisions())).map((d) => d.event.id)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2']);
    // The directory (both files) has nothing new: the rotated file kept its position.
    expect(await run(store, dir)).toMatchObject({ linesRead: 0, eventsStored: 0, duplicates: 0 });
    await store.close();
  });

  it('keeps the position of a renamed file found in a directory', async () => {
    const dir = freshDir();
    const logs = join(dir, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.jsonl'), turn('m1') + turn('m2'));
    const store = new MemoryStore();
    await run(store, logs);
    renameSync(join(logs, 'a.jsonl'), join(logs, 'b.jsonl'));
    appendFileSync(join(logs, 'b.jsonl'), turn('m3'));
    expect(await run(store, logs)).toMatchObject({ linesRead: 1, eventsStored: 1, duplicates: 0 });
  });

  it('starts again at 0 after copy-truncate, whether the file is now shorter or rewritten longer', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, turn('c1') + turn('c2') + turn('c3'));
    const store = new MemoryStore();
    await run(store, file);
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    appendFileSync(file, turn('c4'));
    expect(await run(store, file)).toMatchObject({ eventsStored: 1, duplicates: 0, truncations: 1 });
    truncateSync(file, 0);
    appendFileSync(file, turn('x1', { input_text: 'ett' }) + turn('x2') + turn('x3') + turn('x4') + turn('x5'));
    expect(await run(store, file)).toMatchObject({ eventsStored: 5, duplicates: 0, truncations: 1 });
  });

  it("reads Alice's dated directories and flat feedback files, or a glob, in name order", async () => {
    const dir = freshDir();
    const logs = join(dir, 'logs');
    mkdirSync(join(logs, '2025-09-04'), { recursive: true });
    mkdirSync(join(logs, '2025-09-05'), { recursive: true });
    writeFileSync(join(logs, '2025-09-04', 'events_2025-09-04.jsonl'), turn('g1') + turn('g2'));
    writeFileSync(join(logs, '2025-09-05', 'events_2025-09-05.jsonl'), turn('g3'));
    writeFileSync(join(logs, 'events_2025-09-04.jsonl'), feedback('g1', true));
    writeFileSync(join(logs, 'notes.txt'), 'not telemetry');
    const s1 = new MemoryStore();
    expect(await run(s1, logs)).toMatchObject({ files: 3, eventsStored: 3, outcomesJoined: 1, quarantined: { total: 0 } });
    const s2 = new MemoryStore();
    expect(await run(s2, join(logs, '**', 'events_*.jsonl'))).toMatchObject({ files: 3, eventsStored: 3, outcomesJoined: 1 });
    const s3 = new MemoryStore();
    expect(await run(s3, join(logs, '2025-09-0?', '*.jsonl'))).toMatchObject({ files: 2, eventsStored: 3, outcomesJoined: 0 });
    expect((await collect(s1.decisions())).map((d) => d.event.id)).toEqual(['g1', 'g2', 'g3']);
  });

  it('tells a file that vanished (nothing to read) from one that cannot be opened (E_INPUT_UNREADABLE)', () => {
    const file = join(freshDir(), 'plain.jsonl');
    writeFileSync(file, turn('s1'));
    expect(FileTailer.open(join(file, '..', 'gone.jsonl'), 'k', undefined, [], { maxLineBytes: 1024 })).toBeUndefined();
    expect(() => FileTailer.open(join(file, 'not-a-dir'), 'k', undefined, [], { maxLineBytes: 1024 })).toThrow(expect.objectContaining({ code: 'E_INPUT_UNREADABLE' }));
  });

  it('reports a missing path as E_INPUT_NOT_FOUND, and waits for it when following', async () => {
    const dir = freshDir();
    await expect(run(new MemoryStore(), join(dir, 'nope.jsonl'))).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
    await expect(run(new MemoryStore(), join(dir, 'nope', '*.jsonl'))).rejects.toMatchObject({ code: 'E_INPUT_NOT_FOUND' });
    const store = new MemoryStore();
    const ac = new AbortController();
    const notes: string[] = [];
    const file = join(dir, 'later.jsonl');
    const running = ingest({ store, path: file, config: cfg({ poll_ms: 20 }), follow: true, signal: ac.signal, onNote: (m) => notes.push(m) });
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(file, turn('w1'));
    for (let i = 0; i < 1000 && (await store.countDecisions()) === 0; i++) await new Promise((r) => setTimeout(r, 20));
    appendFileSync(file, turn('w2'));
    for (let i = 0; i < 1000 && (await store.countDecisions()) < 2; i++) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    const c = await running;
    expect(c).toMatchObject({ eventsStored: 2 });
    expect(notes.some((n) => n.includes('waiting'))).toBe(true);
  });

  it('follows rotation and truncation while running', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    writeFileSync(file, turn('l1'));
    const store = new MemoryStore();
    const ac = new AbortController();
    const running = ingest({ store, path: file, config: cfg({ poll_ms: 20 }), follow: true, signal: ac.signal });
    const waitFor = async (n: number): Promise<void> => {
      for (let i = 0; i < 1000 && (await store.countDecisions()) < n; i++) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor(1);
    appendFileSync(file, turn('l2'));
    renameSync(file, `${file}.1`);
    writeFileSync(file, turn('l3'));
    await waitFor(3);
    truncateSync(file, 0);
    writeFileSync(file, turn('l4'));
    await waitFor(4);
    ac.abort();
    const c = await running;
    expect(c).toMatchObject({ eventsStored: 4, duplicates: 0, rotations: 1, truncations: 1 });
    expect((await collect(store.decisions())).map((d) => d.event.id)).toEqual(['l1', 'l2', 'l3', 'l4']);
  });
});

describe('JSON array files', () => {
  it('reads each element as a record, once', async () => {
    const file = join(freshDir(), 'bootstrap.json');
    writeFileSync(file, JSON.stringify([{ timestamp: '2024-09-04T10:01:00Z', intent: 'weather', route: 'planner', tool: 'weather.lookup', success: 1, latency_ms: 450 }, 'junk', { timestamp: 1725444120000, intent: 'time', route: 'micro', success: 0 }], null, 2));
    const store = new MemoryStore();
    const c = await run(store, file);
    expect(c).toMatchObject({ linesRead: 3, eventsStored: 3, quarantined: { total: 1, byReason: { not_object: 1 } } });
    expect((await collect(store.quarantine()))[0]!.offset).toBe(1);
    expect(await run(store, file)).toMatchObject({ linesRead: 0, eventsStored: 0 });
  });
});

describe('property: appending in chunks', () => {
  it('any split of a file into appended chunks, ingested between appends, stores the same events', async () => {
    const line = fc.oneof(
      fc.constantFrom('t1', 't2', 't3', 't4').map((id) => turn(id)),
      fc.constantFrom('t1', 't2').map((id) => turn(id, { tool_calls: [] })),
      fc.constantFrom('t1', 't3', 'zz').map((id) => feedback(id, true)),
      fc.constantFrom('t5', 't6').map((id) => turn(id, { route: 'fallback', input_text: 'Hej 😀 åäö' })),
      fc.constantFrom('garbage\n', '{"torn":\n', '[]\n', '\n'),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 12 }), fc.array(fc.nat(), { maxLength: 6 }), async (lines, cuts) => {
        const bytes = Buffer.from(lines.join(''));
        const dir = freshDir();
        const whole = join(dir, 'whole.jsonl');
        writeFileSync(whole, bytes);
        const ref = new MemoryStore();
        await run(ref, whole);
        const file = join(dir, 'chunks.jsonl');
        writeFileSync(file, '');
        const store = new MemoryStore();
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          appendFileSync(file, bytes.subarray(prev, p));
          prev = p;
          await run(store, file);
        }
        const view = async (s: Store) => ({
          decisions: (await collect(s.decisions())).map((d) => d.event),
          turns: await collect(s.turns()),
          quarantine: (await collect(s.quarantine())).map((q) => [q.offset, q.reason, q.excerpt]),
          outcomes: await Promise.all(['t1', 't2', 't3', 'zz'].map((id) => s.getOutcome(id))),
          counts: await s.counts(),
        });
        expect(await view(store)).toEqual(await view(ref));
        rmSync(dir, { recursive: true, force: true });
      }),
      { numRuns: 40, seed: 20250904 },
    );
  });
});

describe('batches in flight to an asynchronous store', () => {
  /**
   * The store as the store thread serves it: each write answers later, in order. The `failAt`-th
   * write fails the way the port says a failing batch does (the open transaction is dropped).
   */
  function answeringLater(inner: Store, failAt: number): { store: Store; writes: () => number } {
    let calls = 0;
    let tail: Promise<unknown> = Promise.resolve();
    const writeBatch = (b: WriteBatch): Promise<WriteResult> => {
      const n = ++calls;
      const p = tail.then(async () => {
        await new Promise((r) => setTimeout(r, 1));
        if (n === failAt) {
          await inner.discardHeld();
          throw new UmbraError(ErrorCode.STORE, `injected failure of write ${n}`);
        }
        return inner.writeBatch(b);
      });
      tail = p.catch(() => undefined);
      return p;
    };
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop === 'writeBatch') return writeBatch;
        const v = Reflect.get(target, prop, target) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    return { store, writes: () => calls };
  }

  it('a failed batch fails the run with nothing after it committed; the next run stores every event exactly once', async () => {
    const dir = freshDir();
    const file = join(dir, 'events.jsonl');
    let text = '';
    for (let i = 0; i < 600; i++) text += turn(`k${i}`, { session_id: `s${i % 7}` }) + (i % 5 === 0 ? turn(`k${i}`, { tool_calls: [] }) : '');
    writeFileSync(file, text);
    const small = { batch_size: 25, commit_lines: 100 };
    const ref = new MemoryStore();
    const refCounts = await run(ref, file, small);
    const view = async (s: Store) => ({ decisions: (await collect(s.decisions())).map((d) => d.event), turns: await collect(s.turns()), counts: await s.counts() });
    const want = await view(ref);
    // Fail a held batch, the first batch after a commit, a committing batch and the last one.
    for (const failAt of [2, 5, 6, 9, 17, 29]) {
      const inner = openSqliteStore(join(dir, `f${failAt}.db`));
      const flaky = answeringLater(inner, failAt);
      await expect(run(flaky.store, file, small)).rejects.toMatchObject({ code: 'E_STORE' });
      expect(flaky.writes()).toBeGreaterThanOrEqual(failAt);
      // What is stored is exactly the lines before the committed checkpoint.
      const cp = await inner.getCheckpoint(file);
      const before = cp === undefined ? [] : Buffer.from(text).subarray(0, cp.offset).toString('utf8').split('\n').filter((l) => l !== '');
      expect(await inner.countDecisions({ point: 'route' })).toBe(new Set(before.map((l) => (JSON.parse(l) as { trace_id: string }).trace_id)).size);
      const second = await run(inner, file, small);
      expect(second.linesRead).toBe(refCounts.linesRead - before.length);
      expect(await view(inner)).toEqual(want);
      await inner.close();
    }
  });
});
