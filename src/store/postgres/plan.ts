/**
 * The PostgreSQL adapter's write plan: a batch is applied in memory against the rows it touches
 * (read in a few queries beforehand), with the same merge rules as every other adapter
 * (core/telemetry/merge.ts), and what changed comes out as a handful of multi-row statements. So
 * a batch of thousands of lines costs a fixed number of round trips, not one per line.
 */
import type { DecisionEvent } from '../../core/events.js';
import { fillDecision, fillTurn, mergeOutcome, nextPending, type OutcomeState } from '../../core/telemetry/merge.js';
import { SESSION_DEPTH_KEY, type OutcomeUpdate, type StoredTurn, type TurnFact } from '../../core/telemetry/types.js';
import { decodeDecision, encodeBody, encodeDecision, isEncoded, isEncodedTurn, toEvent, toTurn, type DecisionInput, type EncodedDecision } from '../codec.js';
import type { Checkpoint, QuarantineEntry, RecordInsert, WriteBatch, WriteResult } from '../port.js';
import type { OutcomeRow } from '../rows.js';

/** A decision row to insert (in this order: it gets its sequence number in this order). */
export interface NewDecision extends EncodedDecision {
  sdepth: number | null;
}

/** A turn row to insert or rewrite. */
export interface TurnRowOut {
  id: string;
  ts: string;
  tsMs: number;
  route: string | null;
  intent: string | null;
  session: string | null;
  sessionDepth: number | null;
  outcome: string;
}

/** The rows a batch touches, as read before applying it. */
export interface Loaded {
  /** Stored decisions by id (decoded with their session depth), or a function decoding one this batch inserts. */
  decisions: Map<string, DecisionEvent | (() => DecisionEvent)>;
  turns: Map<string, StoredTurn>;
  sessions: Map<string, number>;
  outcomes: Map<string, { state: OutcomeState; pending: number }>;
}

/** What to read before planning a batch. */
export interface Needs {
  decisionIds: string[];
  turnIds: string[];
  sessions: string[];
  outcomeIds: string[];
}

/** What to write. */
export interface Plan {
  result: WriteResult;
  newDecisions: NewDecision[];
  /** Stored decisions whose body was filled: id → new body. */
  filledDecisions: Map<string, string>;
  newTurns: TurnRowOut[];
  filledTurns: TurnRowOut[];
  sessions: Map<string, number>;
  outcomes: Map<string, OutcomeRow>;
  quarantine: readonly QuarantineEntry[];
  checkpoints: readonly Checkpoint[];
}

/** The ids, turns and sessions a batch may touch. */
export function needsOf(b: WriteBatch): Needs {
  const decisionIds = new Set<string>();
  const turnIds = new Set<string>();
  const sessions = new Set<string>();
  for (const rec of b.records ?? []) {
    for (const d of rec.decisions) decisionIds.add(d.id);
    const t = rec.turn;
    if (t !== undefined) {
      turnIds.add(t.id);
      const s = isEncodedTurn(t) ? t.session : (t.session ?? null);
      if (s !== null) sessions.add(s);
    }
  }
  const outcomeIds = new Set<string>(decisionIds);
  for (const u of b.outcomes ?? []) {
    outcomeIds.add(u.id);
    decisionIds.add(u.id);
  }
  return { decisionIds: [...decisionIds], turnIds: [...turnIds], sessions: [...sessions], outcomeIds: [...outcomeIds] };
}

function withDepth(e: DecisionEvent, depth: number | null): DecisionEvent {
  if (depth === null || e.context[SESSION_DEPTH_KEY] === depth) return e;
  return { ...e, context: { ...e.context, [SESSION_DEPTH_KEY]: depth } };
}

function turnRow(t: StoredTurn): TurnRowOut {
  return { id: t.id, ts: t.ts, tsMs: Date.parse(t.ts), route: t.route, intent: t.intent ?? null, session: t.session ?? null, sessionDepth: t.sessionDepth, outcome: JSON.stringify(t.outcome) };
}

/** Apply a batch to the loaded rows (which it updates in place) and return what to write. */
export function planBatch(b: WriteBatch, loaded: Loaded): Plan {
  const r: WriteResult = { inserted: 0, duplicates: 0, filled: 0, turnsInserted: 0, turnDuplicates: 0, outcomes: 0, outcomesJoined: 0, quarantined: 0 };
  const plan: Plan = { result: r, newDecisions: [], filledDecisions: new Map(), newTurns: [], filledTurns: [], sessions: new Map(), outcomes: new Map(), quarantine: b.quarantine ?? [], checkpoints: b.checkpoints ?? [] };
  // Rows inserted by this batch, by id (a later duplicate in the same batch rewrites them).
  const newDecisionAt = new Map<string, number>();
  const newTurnAt = new Map<string, number>();
  const filledTurnAt = new Map<string, number>();

  const applyTurn = (t: TurnFact): number | null => {
    const existing = loaded.turns.get(t.id);
    if (existing === undefined) {
      let depth: number | null = null;
      if (t.session !== undefined) {
        depth = (loaded.sessions.get(t.session) ?? 0) + 1;
        loaded.sessions.set(t.session, depth);
        plan.sessions.set(t.session, depth);
      }
      const stored: StoredTurn = { ...structuredClone(t), sessionDepth: depth };
      loaded.turns.set(t.id, stored);
      newTurnAt.set(t.id, plan.newTurns.length);
      plan.newTurns.push(turnRow(stored));
      r.turnsInserted++;
      return depth;
    }
    r.turnDuplicates++;
    const filled = fillTurn(existing, t);
    if (filled !== undefined) {
      const stored: StoredTurn = { ...structuredClone(filled), sessionDepth: existing.sessionDepth };
      loaded.turns.set(t.id, stored);
      const at = newTurnAt.get(t.id);
      if (at !== undefined) plan.newTurns[at] = turnRow(stored);
      else {
        const f = filledTurnAt.get(t.id);
        if (f !== undefined) plan.filledTurns[f] = turnRow(stored);
        else {
          filledTurnAt.set(t.id, plan.filledTurns.length);
          plan.filledTurns.push(turnRow(stored));
        }
      }
    }
    return existing.sessionDepth;
  };

  const applyDecision = (d: DecisionInput, depth: number | null): void => {
    const existing = loaded.decisions.get(d.id);
    if (existing === undefined) {
      const enc = isEncoded(d) ? d : encodeDecision(d);
      newDecisionAt.set(d.id, plan.newDecisions.length);
      plan.newDecisions.push({ id: enc.id, point: enc.point, ts: enc.ts, tsMs: enc.tsMs, action: enc.action, body: enc.body, sdepth: depth });
      // Decoded from its stored form only if the batch holds the id again (rare): most inserts never need the event.
      const row = plan.newDecisions[plan.newDecisions.length - 1]!;
      loaded.decisions.set(d.id, () => withDepth(decodeDecision(row), depth));
      r.inserted++;
      const o = loaded.outcomes.get(d.id);
      if (o !== undefined && o.pending !== 0) {
        r.outcomesJoined += Math.abs(o.pending);
        o.pending = 0;
        plan.outcomes.set(d.id, outcomeRow(o.state, 0));
      }
      return;
    }
    r.duplicates++;
    const stored = typeof existing === 'function' ? existing() : existing;
    const filled = fillDecision(stored, withDepth(toEvent(d), depth));
    if (filled === undefined) return;
    r.filled++;
    loaded.decisions.set(d.id, filled);
    const at = newDecisionAt.get(d.id);
    if (at !== undefined) plan.newDecisions[at]!.body = encodeBody(filled);
    else plan.filledDecisions.set(d.id, encodeBody(filled));
  };

  const applyRecord = (rec: RecordInsert): void => {
    const t = rec.turn;
    const own = t === undefined ? undefined : rec.decisions.find((d) => d.id === t.id);
    const depth = t === undefined ? null : applyTurn(toTurn(t, own === undefined ? undefined : toEvent(own)));
    for (const d of rec.decisions) applyDecision(d, depth);
  };

  const applyOutcome = (u: OutcomeUpdate): void => {
    const prev = loaded.outcomes.get(u.id);
    const joined = loaded.decisions.has(u.id);
    const next = { state: mergeOutcome(prev?.state, structuredClone(u)), pending: joined ? 0 : nextPending(prev?.pending ?? 0, u.companion === true) };
    loaded.outcomes.set(u.id, next);
    plan.outcomes.set(u.id, outcomeRow(next.state, next.pending));
    r.outcomes++;
    if (joined) r.outcomesJoined++;
  };

  for (const rec of b.records ?? []) applyRecord(rec);
  for (const u of b.outcomes ?? []) applyOutcome(u);
  r.quarantined = plan.quarantine.length;
  // Bodies must be JSON: a value that cannot be serialised fails the whole batch here, before any write.
  return plan;
}

function outcomeRow(s: OutcomeState, pending: number): OutcomeRow {
  return { id: s.id, ts: s.ts ?? null, reward: s.reward ?? null, outcome: JSON.stringify(s.outcome), updates: s.updates, pending };
}
