/**
 * The SQLite store's write path: a batch of records (turns and decisions, deduplicated by a hashed
 * integer key with linear probing), outcome updates (joined to their decision whenever both exist),
 * quarantine rows and checkpoints, applied inside the caller's transaction.
 */
import type { DecisionEvent } from '../../core/events.js';
import { fillDecision, fillTurn, mergeOutcome, nextPending } from '../../core/telemetry/merge.js';
import type { OutcomeUpdate, TurnFact } from '../../core/telemetry/types.js';
import { derivedTurn, encodeBody, encodeDecision, isEncoded, isEncodedTurn, toEvent, toTurn, turnExtra, type DecisionInput, type TurnExtra } from '../codec.js';
import { idKey, nextKey } from '../key.js';
import type { RecordInsert, WriteBatch, WriteResult } from '../port.js';
import { decodeOutcome, decodeTurn, type OutcomeRow } from '../rows.js';
import { decodeRow, withDepth, type DecisionTurnRow, type TurnRow } from './rows.js';
import type { Statements } from './statements.js';

/** Per-batch lookups and caches of the write path. */
interface ApplyContext {
  /** Some outcome waits for its decision (else new decisions skip that lookup). */
  pending: boolean;
  sessions: Map<string, number>;
  touched: Set<string>;
}

/** The write path of one connection (see the module comment). */
export class EventWrites {
  private readonly s: Statements;
  /**
   * Keys of turns without a decision of their own (rare), mirrored from the table at each batch so
   * that a routed turn needs no lookup to know it was not seen before without its decision.
   */
  private readonly freeKeys = new Set<number>();
  private freeSeen = 0;

  constructor(statements: Statements) {
    this.s = statements;
  }

  /** Apply a batch inside the caller's transaction (records, outcomes, quarantine, checkpoints). */
  apply(b: WriteBatch): WriteResult {
    const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
    if (b.records !== undefined && b.records.length > 0) {
      const ctx: ApplyContext = { pending: this.s.anyPending!.get() !== undefined, sessions: new Map(), touched: new Set() };
      for (const row of this.s.freeKeysAfter!.all(this.freeSeen) as { seq: number; key: number }[]) {
        this.freeKeys.add(row.key);
        this.freeSeen = row.seq;
      }
      for (const rec of b.records) this.applyRecord(rec, r, ctx);
      // Session counters are read once and written once per batch, not once per turn.
      for (const k of ctx.touched) this.s.putSession!.run(k, ctx.sessions.get(k)!);
    }
    for (const u of b.outcomes ?? []) this.applyOutcome(u, r);
    if (b.quarantine !== undefined && b.quarantine.length > 0) {
      const at = new Date().toISOString();
      for (const q of b.quarantine) {
        this.s.insQuarantine!.run(q.source, q.offset, q.reason, q.excerpt, q.detail ?? null, at);
        r.quarantined++;
      }
    }
    for (const c of b.checkpoints ?? []) this.s.upsertCheckpoint!.run(c);
    return r;
  }

  private sessionCount(session: string, ctx: ApplyContext): number {
    let n = ctx.sessions.get(session);
    if (n === undefined) {
      n = (this.s.sessionTurns!.get(session) as { turns: number } | undefined)?.turns ?? 0;
      ctx.sessions.set(session, n);
    }
    return n;
  }

  /**
   * One record. A turn with a decision of its own lives in that decision's row, so the one key
   * lookup of the decision deduplicates both; turns without one use the small turns table.
   */
  private applyRecord(rec: RecordInsert, r: WriteResult, ctx: ApplyContext): void {
    const input = rec.turn;
    if (input === undefined) {
      for (const e of rec.decisions) this.insertDecision(e, null, r, ctx);
      return;
    }
    const session = isEncodedTurn(input) ? input.session : (input.session ?? null);
    const guess = session === null ? null : this.sessionCount(session, ctx) + 1;
    const primary = rec.decisions.find((d) => d.id === input.id);
    // The turn fact; an encoded turn is rebuilt only on the (rare) paths that need it.
    let fact: TurnFact | undefined;
    const turn = (): TurnFact => (fact ??= toTurn(input, primary === undefined ? undefined : toEvent(primary)));
    let depth: number | null;
    const free = this.freeKeys.size > 0 && this.freeKeys.has(idKey(input.id)) ? this.findFreeTurn(input.id) : undefined;
    if (free !== undefined) {
      // Seen before without a decision of its own: that row stays the turn.
      depth = this.dupFreeTurn(free, turn(), r);
      if (primary !== undefined) this.insertDecision(primary, depth, r, ctx);
    } else if (primary !== undefined) {
      const extra = isEncodedTurn(input) ? input.extra : turnExtra(input, toEvent(primary));
      const res = this.insertDecision(primary, guess, r, ctx, { session, extra });
      if (res.inserted) {
        this.newTurn(session, guess, r, ctx);
        depth = guess;
      } else if (res.row.tflag === 1) {
        depth = this.dupRoutedTurn(res.row, res.after, turn(), r);
      } else {
        // The decision came earlier on its own (not as a turn's): it carries the turn from now on.
        depth = guess;
        this.s.setTurnOf!.run(session, guess, turnExtra(turn(), res.after), res.row.seq);
        this.newTurn(session, guess, r, ctx);
      }
    } else {
      const t = turn();
      const row = this.findDecisionRow(t.id);
      if (row !== undefined && row.tflag === 1) {
        depth = this.dupRoutedTurn(row, decodeRow(row), t, r);
      } else {
        depth = guess;
        const outcome = JSON.stringify(t.outcome);
        const tsMs = Date.parse(t.ts);
        const pos = (this.s.maxSeq!.get() as { m: number }).m;
        for (let key = idKey(t.id); ; key = nextKey(key)) {
          const info = this.s.insTurnFree!.run(pos, key, t.id, t.ts, tsMs, t.route, t.intent ?? null, session, guess, outcome);
          if (info.changes === 1) {
            this.freeKeys.add(key);
            this.newTurn(session, guess, r, ctx);
            break;
          }
          const existing = this.s.freeTurnByKey!.get(key) as TurnRow;
          if (existing.id !== t.id) continue;
          depth = this.dupFreeTurn(existing, t, r);
          break;
        }
      }
    }
    for (const e of rec.decisions) if (e !== primary) this.insertDecision(e, depth, r, ctx);
  }

  private newTurn(session: string | null, depth: number | null, r: WriteResult, ctx: ApplyContext): void {
    r.turnsInserted++;
    if (session !== null && depth !== null) {
      ctx.sessions.set(session, depth);
      ctx.touched.add(session);
    }
  }

  /** A turn without a decision of its own seen again: fill what it lacked; its depth. */
  private dupFreeTurn(row: TurnRow, t: TurnFact, r: WriteResult): number | null {
    r.turnDuplicates++;
    const filled = fillTurn(decodeTurn(row), t);
    if (filled !== undefined) this.s.updTurn!.run(filled.route, filled.intent ?? null, JSON.stringify(filled.outcome), row.seq);
    return row.session_depth;
  }

  /**
   * A turn carried by a decision row seen again. `row` is the row as it was, `after` the decision
   * after this record's own fill; the turn is filled from its state before, then stored as the
   * difference from what `after` derives.
   */
  private dupRoutedTurn(row: DecisionTurnRow, after: DecisionEvent, t: TurnFact, r: WriteResult): number | null {
    r.turnDuplicates++;
    const before = derivedTurn(decodeRow(row), row.textra === null ? null : (JSON.parse(row.textra) as TurnExtra), row.tsession, row.sdepth);
    const turn = fillTurn(before, t) ?? before;
    const extra = turnExtra(turn, after);
    if (extra !== row.textra) this.s.setTextra!.run(extra, row.seq);
    return row.sdepth;
  }

  /** The row of a turn without a decision of its own. */
  findFreeTurn(id: string): TurnRow | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.freeTurnByKey!.get(key) as TurnRow | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  /** The row of a decision (with the turn it carries, if any). */
  findDecisionRow(id: string): DecisionTurnRow | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.decisionByKey!.get(key) as DecisionTurnRow | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  private findDecision(id: string): { seq: number } | undefined {
    for (let key = idKey(id); ; key = nextKey(key)) {
      const row = this.s.decisionIdByKey!.get(key) as { seq: number; id: string } | undefined;
      if (row === undefined || row.id === id) return row;
    }
  }

  /**
   * Insert a decision (or fill its stored twin); `depth` is its turn's session depth, if any, and
   * `turn` makes the row carry its turn. On a duplicate, returns the row as it was and the event
   * after filling.
   */
  private insertDecision(
    d: DecisionInput,
    depth: number | null,
    r: WriteResult,
    ctx: ApplyContext,
    turn?: { session: string | null; extra: string | null },
  ): { inserted: true; seq: number } | { inserted: false; row: DecisionTurnRow; after: DecisionEvent } {
    const e = isEncoded(d) ? d : encodeDecision(d);
    for (let key = idKey(e.id); ; key = nextKey(key)) {
      const info = this.s.insDecision!.run(key, e.id, e.point, e.ts, e.tsMs, e.action, e.body, depth, turn === undefined ? 0 : 1, turn?.session ?? null, turn?.extra ?? null);
      if (info.changes === 1) {
        r.inserted++;
        if (ctx.pending) {
          const p = this.s.pendingById!.get(e.id) as { pending: number } | undefined;
          if (p !== undefined) {
            r.outcomesJoined += Math.abs(p.pending);
            this.s.clearPending!.run(e.id);
          }
        }
        return { inserted: true, seq: Number(info.lastInsertRowid) };
      }
      const row = this.s.decisionByKey!.get(key) as DecisionTurnRow;
      if (row.id !== e.id) continue; // a different id with the same hash: probe on
      r.duplicates++;
      const stored = decodeRow(row);
      const filled = fillDecision(stored, withDepth(toEvent(d), depth));
      if (filled !== undefined) {
        this.s.updDecisionBody!.run(encodeBody(filled), row.seq);
        r.filled++;
      }
      return { inserted: false, row, after: filled ?? stored };
    }
  }

  private decisionExists(id: string): boolean {
    return this.findDecision(id) !== undefined;
  }

  private applyOutcome(u: OutcomeUpdate, r: WriteResult): void {
    const prevRow = this.s.outcomeById!.get(u.id) as OutcomeRow | undefined;
    const next = mergeOutcome(prevRow === undefined ? undefined : decodeOutcome(prevRow), u);
    const joined = this.decisionExists(u.id);
    r.outcomes++;
    if (joined) r.outcomesJoined++;
    this.s.upsertOutcome!.run({
      id: u.id,
      ts: next.ts ?? null,
      reward: next.reward ?? null,
      outcome: JSON.stringify(next.outcome),
      updates: next.updates,
      pending: joined ? 0 : nextPending(prevRow?.pending ?? 0, u.companion === true),
    });
  }
}
