/**
 * How a write batch crosses a thread boundary (WorkerStore → its SQLite worker). Structured clone
 * of the record objects costs about as much as parsing the telemetry line they came from, on both
 * sides; a flat array of strings and one Float64Array clone for a small fraction of that. So the
 * sending thread encodes each decision (codec.ts) and packs the records into columns; the worker
 * unpacks them into `RecordInsert`s whose decisions are already encoded, which the SQLite adapter
 * stores as they are. Pure: no I/O, round trip pinned by a test.
 */
import type { TurnFact } from '../../core/telemetry/types.js';
import { encodeDecision, encodeTurn, isEncoded, isEncodedTurn, toEvent, type EncodedDecision, type EncodedTurn, type TurnInput } from '../codec.js';
import type { RecordInsert, WriteBatch } from '../port.js';

/** A batch in its wire form. Everything but the records is cloned as it is. */
export interface PackedBatch extends Omit<WriteBatch, 'records'> {
  /**
   * Per record, by its turn kind: none, nothing; a fact, its JSON; encoded, its id, session (when
   * it has one) and extra ('' for null). Then per decision its id, point, ts, action and body.
   */
  s: string[];
  /** Per record: its turn kind (TURN_*), its number of decisions, then per decision its `tsMs`. */
  n: Float64Array;
}

const TURN_NONE = 0;
const TURN_FACT = 1;
const TURN_ENCODED = 2;
const TURN_ENCODED_SESSION = 3;

/**
 * Pack a batch for another thread. Decisions are encoded here, on the sending side, and so is a
 * turn that has its own decision in the record (the common case), against that decision.
 */
export function packBatch(b: WriteBatch): PackedBatch {
  const s: string[] = [];
  const nums: number[] = [];
  for (const r of b.records ?? []) {
    const t = r.turn;
    let et: EncodedTurn | undefined;
    if (t !== undefined) {
      if (isEncodedTurn(t)) et = t;
      else {
        const own = r.decisions.find((d) => d.id === t.id);
        if (own !== undefined) et = encodeTurn(t, toEvent(own));
      }
    }
    if (t === undefined) nums.push(TURN_NONE);
    else if (et === undefined) {
      nums.push(TURN_FACT);
      s.push(JSON.stringify(t));
    } else {
      nums.push(et.session === null ? TURN_ENCODED : TURN_ENCODED_SESSION);
      s.push(et.id);
      if (et.session !== null) s.push(et.session);
      s.push(et.extra ?? '');
    }
    nums.push(r.decisions.length);
    for (const d of r.decisions) {
      const e: EncodedDecision = isEncoded(d) ? d : encodeDecision(d);
      s.push(e.id, e.point, e.ts, e.action, e.body);
      nums.push(e.tsMs);
    }
  }
  const { records: _records, ...rest } = b;
  return { ...rest, s, n: Float64Array.from(nums) };
}

/** The batch a packed one stands for (decisions and turns with their own decision in encoded form). */
export function unpackBatch(p: PackedBatch): WriteBatch {
  const records: RecordInsert[] = [];
  const { s, n } = p;
  let si = 0;
  let ni = 0;
  while (ni < n.length) {
    const kind = n[ni++]!;
    let turn: TurnInput | undefined;
    if (kind === TURN_FACT) turn = JSON.parse(s[si++]!) as TurnFact;
    else if (kind === TURN_ENCODED || kind === TURN_ENCODED_SESSION) {
      const id = s[si++]!;
      const session = kind === TURN_ENCODED_SESSION ? s[si++]! : null;
      const extra = s[si++]!;
      turn = { id, session, extra: extra === '' ? null : extra };
    }
    const count = n[ni++]!;
    const decisions: EncodedDecision[] = new Array<EncodedDecision>(count);
    for (let k = 0; k < count; k++) {
      decisions[k] = { id: s[si]!, point: s[si + 1]!, ts: s[si + 2]!, tsMs: n[ni++]!, action: s[si + 3]!, body: s[si + 4]! };
      si += 5;
    }
    records.push(turn === undefined ? { decisions } : { turn, decisions });
  }
  const { s: _s, n: _n, ...rest } = p;
  return { ...rest, records };
}
