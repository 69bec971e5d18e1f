import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { anchorOf, FixedAnchor, HeadFileAnchor, WebhookAnchor, type AnchoredHead } from './anchor.js';
import { parseSecrets } from '../../platform/secret-file.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const h = (seq: number): AnchoredHead => ({ seq, hash: seq.toString(16).padStart(64, '0'), row: seq + 1, ts: '2026-01-01T00:00:00.000Z' });

describe('audit anchors', () => {
  it('a head file appends one line per head and gives back the highest seq, even out of order', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'umbra-anchor-'));
    dirs.push(dir);
    const a = new HeadFileAnchor(join(dir, 'sub', 'heads.jsonl'));
    expect(await a.latest()).toBeNull();
    for (const s of [0, 1, 3, 2]) await a.publish(h(s));
    expect(await a.latest()).toMatchObject({ seq: 3, hash: h(3).hash });
    // a line another process is appending right now (no newline yet) is not a head, nor damage
    appendFileSync(join(dir, 'sub', 'heads.jsonl'), JSON.stringify(h(4)).slice(0, 30));
    expect(await a.latest()).toMatchObject({ seq: 3 });
    appendFileSync(join(dir, 'sub', 'heads.jsonl'), `${JSON.stringify(h(4)).slice(30)}\n`);
    expect(await a.latest()).toMatchObject({ seq: 4, hash: h(4).hash });
    appendFileSync(join(dir, 'sub', 'heads.jsonl'), '{"seq": 99, "hash": "not a hash"}\n');
    await expect(a.latest()).rejects.toMatchObject({ code: 'E_AUDIT_TAMPERED' });
  });

  it('reads an --anchor argument as SEQ:HASH or a head file', async () => {
    const given = anchorOf(`12:${'a'.repeat(64)}`);
    expect(given).toBeInstanceOf(FixedAnchor);
    expect(await given.latest!()).toMatchObject({ seq: 12, hash: 'a'.repeat(64) });
    expect(anchorOf('/some/where/heads.jsonl')).toBeInstanceOf(HeadFileAnchor);
  });

  it('a webhook anchor posts the head and retries, then reports failure', async () => {
    const seen: unknown[] = [];
    let fail = 1;
    const fetchStub = (async (_url: string, init: { body: string }) => {
      seen.push(JSON.parse(init.body));
      return { ok: fail-- <= 0, status: 503 } as Response;
    }) as unknown as typeof fetch;
    await new WebhookAnchor({ url: 'http://anchor.example/heads', fetch: fetchStub, attempts: 2 }).publish(h(5));
    expect(seen).toEqual([{ kind: 'umbra.audit.head', ...h(5) }, { kind: 'umbra.audit.head', ...h(5) }]);
    fail = 10;
    await expect(new WebhookAnchor({ url: 'http://anchor.example/heads', fetch: fetchStub, attempts: 2 }).publish(h(6))).rejects.toThrow(/HTTP 503/);
  });

  it('reads keys as hex or text, newest first, and refuses short ones', () => {
    const ks = parseSecrets(`# comment\n${'0f'.repeat(32)}\nthis-is-a-long-enough-passphrase\n`, 'test');
    expect(ks.map((k) => k.length)).toEqual([32, 32]);
    expect(parseSecrets(`${'11'.repeat(16)},${'22'.repeat(16)}`, 'env')).toHaveLength(2);
    expect(() => parseSecrets('short', 'env')).toThrow(/too short/);
  });
});
