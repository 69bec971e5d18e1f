/**
 * The vocabulary shared by the telemetry mapping, the store and the ingestion service: what one
 * telemetry record turns into (decisions, outcome updates, KPI turn facts, quarantine verdicts,
 * warnings) and the stable quarantine reason codes.
 */
import type { DecisionEvent, OutcomeSignals } from '../events.js';

/**
 * Why a line was quarantined. Stable codes: reports, tests and dashboards match on them.
 * Line-level codes (`oversized_line`, `nul_bytes`, `invalid_utf8`, `not_json`, `torn_line`) are
 * decided by the ingestion layer on the raw bytes; the others by `mapRecord` on the parsed value.
 */
export const QuarantineReason = {
  /** The line is not JSON and does not look like a piece of a JSON object. */
  NOT_JSON: 'not_json',
  /** The line fails to parse but holds a piece of a JSON object: cut short or interleaved by concurrent writers. */
  TORN_LINE: 'torn_line',
  /** Valid JSON, but not an object (array, string, number, null). */
  NOT_OBJECT: 'not_object',
  /** An object of none of the known shapes. */
  UNKNOWN_SHAPE: 'unknown_shape',
  /** A known shape whose fields break its rules (missing id, wrong types, canonical schema errors). */
  SCHEMA_INVALID: 'schema_invalid',
  /** The timestamp is missing or cannot be read. */
  BAD_TIMESTAMP: 'bad_timestamp',
  /** The line is longer than `telemetry.max_line_bytes`; it was skipped up to the next newline. */
  OVERSIZED_LINE: 'oversized_line',
  /** The line contains NUL bytes (a torn write over a pre-allocated or crashed file). */
  NUL_BYTES: 'nul_bytes',
  /** The line is not valid UTF-8. */
  INVALID_UTF8: 'invalid_utf8',
} as const;
export type QuarantineReason = (typeof QuarantineReason)[keyof typeof QuarantineReason];

/** Every quarantine reason code, in documentation order. */
export const QUARANTINE_REASONS: readonly QuarantineReason[] = Object.values(QuarantineReason);

/** Non-fatal findings that are counted but do not quarantine the line. */
export const WarningCode = {
  /** A propensity of 0, above 1 or not a number (the original wrote preference scores): dropped as unknown. */
  PROPENSITY_DROPPED: 'propensity_dropped',
  /**
   * A logged action distribution (`route_probs`, `tool_probs`, `cache_probs`) that names other
   * actions, does not sum to 1, gives the served action no probability or disagrees with the
   * propensity: dropped, the decision kept.
   */
  PROBS_DROPPED: 'probs_dropped',
  /** A latency or cost beyond the plausibility bounds (`MAX_LATENCY_MS`, `MAX_COST_USD`): dropped, the record kept. */
  IMPLAUSIBLE_DROPPED: 'implausible_dropped',
} as const;
export type WarningCode = (typeof WarningCode)[keyof typeof WarningCode];

/**
 * A KPI "turn fact": one per Alice turn (or flat RL record), routable or not, so that fallback and
 * error turns count in the KPIs although they produce no route decision.
 */
export interface TurnFact {
  /** The turn id (Alice's `trace_id`, or the flat record's id). */
  id: string;
  /** ISO-8601 UTC. */
  ts: string;
  /** The route taken, whatever it was (`micro`, `fallback`, `error`, ...); null when the record has none. */
  route: string | null;
  /** The top-level intent, when known. */
  intent?: string;
  /** The session id, when the turn belongs to one (the store counts turns per session). */
  session?: string;
  /** Outcome signals derived from the turn. */
  outcome: OutcomeSignals;
}

/** A turn fact as stored: with its depth in its session (1 = first turn; null without session). */
export interface StoredTurn extends TurnFact {
  sessionDepth: number | null;
}

/** A field-by-field amendment of a decision's outcome (feedback, canonical outcome events). */
export interface OutcomeUpdate {
  /** The decision id it belongs to. */
  id: string;
  ts?: string;
  reward?: number;
  outcome?: OutcomeSignals;
  /**
   * A companion update (feedback sent to a turn's `#tool` and `#cache` decisions, which the turn
   * may not have): it joins its decision when that is or gets stored like any update, but while
   * its decision is absent it is not counted as waiting (`outcomesPending`).
   */
  companion?: boolean;
}

/** One thing a telemetry record maps to. */
export type Mapped =
  | {
      /**
       * A decision. When the record also gave a turn fact, the store writes the turn's depth in its
       * session into `context.session_depth` (the mapper leaves it null: depth needs the history).
       */
      kind: 'decision';
      event: DecisionEvent;
    }
  | { kind: 'outcome'; update: OutcomeUpdate }
  | { kind: 'turn'; fact: TurnFact }
  | { kind: 'quarantine'; reason: QuarantineReason; detail: string }
  | { kind: 'warning'; code: WarningCode; detail: string };

/** The context key the store fills with the turn's depth in its session. */
export const SESSION_DEPTH_KEY = 'session_depth';
