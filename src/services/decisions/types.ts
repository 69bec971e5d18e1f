/**
 * The decision engine's options, per-call options, counters and fallback reasons (engine.ts), and
 * what a stream publisher must do: the shapes its callers and the server use.
 */
import type { Settings } from '../../core/settings.js';
import type { DecisionEvent } from '../../core/events.js';
import type { OutcomeUpdate } from '../../core/telemetry/types.js';
import type { EventWriter, ShadowLog } from '../../store/port.js';
import type { JournalMode } from '../../platform/journal.js';
import type { RolloutService } from '../rollout/state.js';
import type { Bundles } from '../artifacts/bundles.js';

/** Why the baseline was served. */
export const FallbackReason = {
  NO_POLICY: 'no_policy',
  POLICY_ERROR: 'policy_error',
  TIMEOUT: 'timeout',
  ENGINE_ERROR: 'engine_error',
  DEADLINE: 'deadline',
  /** The audit log does not verify, so no learned policy may serve: the rules answer. */
  AUDIT_UNTRUSTED: 'audit_untrusted',
  /** The rollout state could not be read for longer than `server.state_staleness_ms`: the rules answer. */
  STATE_STALE: 'state_stale',
} as const;

/**
 * Where a fleet's decision service sends its log instead of the store: an event stream that
 * acknowledges each event once it is durable (decisions keyed by their id).
 */
export interface DecisionPublisher {
  publishDecision(event: DecisionEvent): Promise<boolean>;
  publishOutcome(update: OutcomeUpdate): Promise<boolean>;
}

export interface DecisionEngineOptions {
  /** Where the decision log and the shadow records go. */
  store: EventWriter & ShadowLog;
  rollout: RolloutService;
  settings: Settings;
  bundles: Bundles;
  /** Loader module for policy hosts (tests inject faulty policies). */
  loaderUrl?: string;
  /** Injectable clock, ms. @default Date.now */
  now?: () => number;
  /** Score live traffic with the shadow candidate. @default true */
  shadow?: boolean;
  /**
   * Directory of the acknowledgement journal (platform/journal.ts): every decision and outcome is
   * appended there before `decide`/`outcome` return, and segments left by a crash are replayed into
   * the store by `start`. Absent: no journal (what is buffered is lost with the process).
   */
  journalDir?: string;
  /** How the journal makes a line durable. @default 'write' */
  journalMode?: JournalMode;
  /**
   * Publish each decision (before answering) and each outcome (before accepting it) to this
   * stream instead of writing the log to the store: every answer a caller received is durable.
   */
  publisher?: DecisionPublisher;
}

/** Per-call options of `decide`. */
export interface DecideOptions {
  /** Asked just before the decision is logged: true when the caller already answered otherwise (a missed deadline), so this decision was never served. */
  abandoned?: () => boolean;
}

/** Counters for status and metrics. */
export interface EngineStats {
  decisions: number;
  bySlice: Record<string, number>;
  byServedBy: Record<string, number>;
  fallbacks: Record<string, number>;
  outcomes: number;
  logged: number;
  logDropped: number;
  logErrors: number;
  /** Decide latency in µs, recent window (for p50/p99). */
  latencyUs: number[];
}
