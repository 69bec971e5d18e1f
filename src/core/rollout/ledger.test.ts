import { describe, expect, it } from 'vitest';
import type { GateReport } from '../gates/verdict.js';
import { appendRecords, auditKeyOf, recordHash, type AuditKey, type AuditRecord } from './audit.js';
import { KeyCheck, LedgerVerifier, verifyLedger, type LedgerRow } from './ledger.js';
import { applyCommand, initRollout, type RolloutCommand, type RolloutState } from './machine.js';

const T0 = Date.parse('2025-03-01T08:00:00Z');
const MIN = 60_000;
const PASS: GateReport = { passed: true, summary: 'ok', details: { lower: 0.7 } };
const KEY = auditKeyOf(new Uint8Array(32).fill(7));
const OLD_KEY = auditKeyOf(new Uint8Array(32).fill(3));

/** Rows of a realistic log: a candidate promoted to production, a second one rolled back twice and rejected, a champion rollback. */
function buildRows(keyOf: (row: number) => AuditKey | undefined = () => KEY): LedgerRow[] {
  const init = initRollout(T0);
  let state = init.state;
  let last: AuditRecord | null = null;
  const rows: LedgerRow[] = [];
  const push = (events: Parameters<typeof appendRecords>[1], s: RolloutState): void => {
    const records = appendRecords(last, events, keyOf(rows.length + 1));
    last = records[records.length - 1]!;
    rows.push(JSON.parse(JSON.stringify({ seq: rows.length + 1, ts: s.updatedAt, body: { kind: 'rollout', records, state: s } })) as LedgerRow);
  };
  push(init.events, state);
  const cmds: RolloutCommand[] = [
    { type: 'register', id: 'a', artifactHash: 'sha-a', actor: 'trainer' },
    { type: 'start_shadow', gates: PASS, actor: 'trainer' },
    { type: 'promote', gates: PASS, actor: 'ops' },
    { type: 'ramp', gates: PASS, weight: 0.1, actor: 'ops' },
    { type: 'promote', gates: PASS, actor: 'judge', trigger: 'auto' },
    { type: 'register', id: 'b', artifactHash: 'sha-b', actor: 'trainer' },
    { type: 'start_shadow', gates: PASS, actor: 'trainer' },
    { type: 'promote', gates: PASS, actor: 'ops' },
    { type: 'pause', reason: 'srm', actor: 'judge', trigger: 'auto' },
    { type: 'resume', gates: PASS, reason: 'checked', actor: 'ops' },
    { type: 'rollback', reason: 'guardrail', actor: 'judge', trigger: 'auto' },
    { type: 'retry', reason: 'fixed', actor: 'ops' },
    { type: 'promote', gates: PASS, actor: 'ops' },
    { type: 'rollback', reason: 'guardrail again', actor: 'judge', trigger: 'auto' },
    { type: 'rollback', reason: 'drift on a', actor: 'ops', target: 'a' },
  ];
  let now = T0;
  for (const c of cmds) {
    now += 45 * MIN;
    const r = applyCommand(state, c, now);
    state = r.state;
    push(r.events, state);
  }
  return rows;
}

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
type Body = { records: AuditRecord[]; state: Record<string, unknown> };
const bodyOf = (r: LedgerRow): Body => r.body as Body;
function unsign(r: AuditRecord): void {
  delete r.mac;
  delete r.keyId;
}

/** Every leaf path of a JSON value, with its value. */
function leaves(v: unknown, path: (string | number)[] = []): { path: (string | number)[]; value: unknown }[] {
  if (v !== null && typeof v === 'object') {
    const entries = Array.isArray(v) ? v.map((x, i) => [i, x] as const) : Object.entries(v);
    if (entries.length === 0) return [{ path, value: v }];
    return entries.flatMap(([k, x]) => leaves(x, [...path, k]));
  }
  return [{ path, value: v }];
}

function setAt(obj: unknown, path: (string | number)[], value: unknown): void {
  let o = obj as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  o[path[path.length - 1]!] = value;
}

/** A different value of the same kind. */
function other(v: unknown): unknown {
  if (typeof v === 'number') return v === 0 ? 1 : 0;
  if (typeof v === 'string') return v === 'baseline' ? 'b' : v === '' ? 'x' : `${v}x`;
  if (typeof v === 'boolean') return !v;
  if (v === null) return 'canary';
  if (Array.isArray(v)) return ['x'];
  return { x: 1 };
}

describe('audit ledger: the state is the fold of the verified records', () => {
  it('verifies an untouched log and folds it to the state stored last', () => {
    const rows = buildRows();
    const v = verifyLedger(rows, { keys: [KEY] });
    expect(v.ok).toBe(true);
    expect(v.rows).toBe(rows.length);
    expect(v.state).toEqual(bodyOf(rows.at(-1)!).state);
    expect(v.state).toMatchObject({ champion: 'baseline', previousChampions: [], versions: { a: { stage: 'rolled_back', rollbacks: 1 }, b: { stage: 'rejected', rollbacks: 2 } } });
    expect(v.keys).toMatchObject({ status: KeyCheck.VERIFIED, signed: v.records, unsigned: 0 });
  });

  it('detects an edit of every field of the stored state, in the last row and in an older one, naming the field', () => {
    const rows = buildRows();
    for (const at of [rows.length - 1, 5]) {
      const stored = bodyOf(rows[at]!).state;
      const all = leaves(stored);
      expect(all.length).toBeGreaterThan(20);
      for (const { path, value } of all) {
        const edited = clone(rows);
        setAt(bodyOf(edited[at]!).state, path, other(value));
        const v = verifyLedger(edited, { keys: [KEY] });
        expect(v.ok, `state.${path.join('.')} of row ${at + 1}`).toBe(false);
        expect(v.problem).toMatchObject({ row: at + 1, field: `state.${path.join('.')}` });
        expect(v.problem!.reason).toContain('differs from the fold of its records');
      }
      // an added field, and a removed one
      const added = clone(rows);
      bodyOf(added[at]!).state.extra = true;
      expect(verifyLedger(added).problem).toMatchObject({ field: 'state.extra' });
      const removed = clone(rows);
      delete bodyOf(removed[at]!).state.previousChampions;
      expect(verifyLedger(removed).problem).toMatchObject({ field: 'state.previousChampions' });
    }
  });

  it('detects renumbered, re-timed, missing and emptied rows', () => {
    const rows = buildRows();
    const renumbered = clone(rows);
    renumbered[4]!.seq = 40;
    expect(verifyLedger(renumbered).problem).toMatchObject({ row: 5, field: 'seq' });
    const retimed = clone(rows);
    retimed[4]!.ts = '2030-01-01T00:00:00.000Z';
    expect(verifyLedger(retimed).problem).toMatchObject({ row: 5, field: 'ts' });
    expect(verifyLedger([...rows.slice(0, 4), ...rows.slice(5)]).problem).toMatchObject({ row: 5, field: 'seq' });
    const emptied = clone(rows);
    bodyOf(emptied[3]!).records = [];
    expect(verifyLedger(emptied).problem).toMatchObject({ row: 4, field: 'records' });
    // a renamed key (one flipped byte in "state") leaves the state unchecked unless both are caught
    const renamed = clone(rows);
    const b = renamed[3]!.body as Record<string, unknown>;
    b.statd = b.state;
    delete b.state;
    expect(verifyLedger(renamed).problem).toMatchObject({ row: 4, field: 'statd' });
    delete b.statd;
    expect(verifyLedger(renamed).problem).toMatchObject({ row: 4, field: 'state' });
  });

  it('detects records re-chained without the key, and MACs stripped, moved to an unknown key or to an older one', () => {
    const rows = buildRows();
    // Re-chained: edit the champion in record 3, then re-hash everything after it (no key).
    const forged = clone(rows);
    let prev: AuditRecord | null = null;
    for (const row of forged) {
      const b = bodyOf(row);
      b.records = b.records.map((r) => {
        const { hash: _h, mac: _m, keyId: _k, ...rest } = r;
        const body = { ...rest, prevHash: prev === null ? '0'.repeat(64) : prev.hash, ...(r.seq === 3 ? { reason: 'nobody noticed' } : {}) };
        const next = { ...body, hash: recordHash(body as AuditRecord), keyId: r.keyId, mac: r.mac } as AuditRecord;
        prev = next;
        return next;
      });
    }
    const f = verifyLedger(forged, { keys: [KEY] });
    expect(f.ok).toBe(false);
    expect(f.problem).toMatchObject({ seq: 3 });
    expect(f.problem!.reason).toContain('MAC does not match');
    expect(f.keys.status).toBe(KeyCheck.FAILED);
    // Without the key, the same forgery passes the plain chain: the report says the MACs were not checked.
    const unchecked = verifyLedger(forged);
    expect(unchecked.ok).toBe(true);
    expect(unchecked.keys).toMatchObject({ status: KeyCheck.UNCHECKED });
    // All MACs stripped (a re-hashed chain has none): refused while a key is configured.
    const stripped = clone(rows);
    for (const row of stripped) for (const r of bodyOf(row).records) unsign(r);
    const s = verifyLedger(stripped, { keys: [KEY] });
    expect(s.ok).toBe(false);
    expect(s.keys.status).toBe(KeyCheck.FAILED);
    expect(s.keys.message).toContain('no record carries a MAC');
    expect(verifyLedger(stripped).keys.status).toBe(KeyCheck.ABSENT);
    // The tail stripped: a signed record followed by unsigned ones.
    const tail = clone(rows);
    for (const r of bodyOf(tail.at(-1)!).records) unsign(r);
    expect(verifyLedger(tail, { keys: [KEY] }).problem!.reason).toContain('carries no MAC');
    // A key that is not in the keyring.
    expect(verifyLedger(rows, { keys: [OLD_KEY] }).problem!.reason).toContain('not among the audit keys');
  });

  it('accepts a rotation (old key, then the new one) and a legacy unsigned prefix, but never the old key after the new', () => {
    const rotated = buildRows((row) => (row <= 6 ? OLD_KEY : KEY));
    expect(verifyLedger(rotated, { keys: [KEY, OLD_KEY] })).toMatchObject({ ok: true, keys: { status: KeyCheck.VERIFIED } });
    const backwards = buildRows((row) => (row <= 6 ? KEY : OLD_KEY));
    expect(verifyLedger(backwards, { keys: [KEY, OLD_KEY] }).problem!.reason).toContain('older key');
    const legacy = buildRows((row) => (row <= 4 ? undefined : KEY));
    const v = verifyLedger(legacy, { keys: [KEY] });
    expect(v).toMatchObject({ ok: true, keys: { status: KeyCheck.VERIFIED } });
    expect(v.keys.unsigned).toBeGreaterThan(0);
    expect(v.keys.message).toContain('predate audit keys');
  });

  it('reaches an anchored head, and tells a cut tail or a replaced head', () => {
    const rows = buildRows();
    const head = verifyLedger(rows).head!;
    const whole = new LedgerVerifier();
    for (const r of rows) whole.push(r);
    expect(whole.reaches(head)).toBeUndefined();
    expect(whole.reaches({ seq: head.seq - 2, hash: bodyOf(rows.at(-2)!).records.at(-1)!.hash })).toBeUndefined();
    const cut = new LedgerVerifier();
    for (const r of rows.slice(0, -1)) cut.push(r);
    expect(cut.result().ok).toBe(true); // a shorter log is a valid log on its own
    expect(cut.reaches(head)!.reason).toContain('tail was cut');
    expect(whole.reaches({ seq: head.seq, hash: 'f'.repeat(64) })!.reason).toContain('differs from the anchored head');
  });
});
