/**
 * The rows both SQL adapters (SQLite, PostgreSQL) read and write, by column name, and how they
 * decode into the port's types. Each adapter adds its own sequence column (node-postgres reads
 * BIGINT as text).
 */
import { ErrorCode, UmbraError } from '../core/errors.js';
import type { OutcomeSignals } from '../core/events.js';
import type { OutcomeState } from '../core/telemetry/merge.js';
import type { StoredTurn } from '../core/telemetry/types.js';

/** The columns of a decision row (`decodeDecision` reads them; `sdepth` is the turn's session depth). */
export interface DecisionColumns {
  id: string;
  point: string;
  ts: string;
  action: string;
  body: string;
  sdepth: number | null;
}

/** The columns of a turn row that make a `StoredTurn`. */
export interface TurnColumns {
  id: string;
  ts: string;
  route: string | null;
  intent: string | null;
  session: string | null;
  session_depth: number | null;
  outcome: string;
}

/** An outcome row: the merged outcome state and the companions still waiting for their decision. */
export interface OutcomeRow {
  id: string;
  ts: string | null;
  reward: number | null;
  outcome: string;
  updates: number;
  pending: number;
}

/** The turn of a turn row. */
export function decodeTurn(r: TurnColumns): StoredTurn {
  const t: StoredTurn = { id: r.id, ts: r.ts, route: r.route, outcome: JSON.parse(r.outcome) as OutcomeSignals, sessionDepth: r.session_depth };
  if (r.intent !== null) t.intent = r.intent;
  if (r.session !== null) t.session = r.session;
  return t;
}

/** The merged outcome state of an outcome row. */
export function decodeOutcome(r: OutcomeRow): OutcomeState {
  const s: OutcomeState = { id: r.id, outcome: JSON.parse(r.outcome) as OutcomeSignals, updates: r.updates };
  if (r.ts !== null) s.ts = r.ts;
  if (r.reward !== null) s.reward = r.reward;
  return s;
}

/** JSON text of a state, shadow or audit value (E_SCHEMA when it has none). */
export function jsonOf(v: unknown): string {
  const s = JSON.stringify(v) as string | undefined;
  if (s === undefined) throw new UmbraError(ErrorCode.SCHEMA, 'value is not representable as JSON');
  return s;
}
