/**
 * The rollout state: which version serves production, which candidate is in flight and at what
 * stage, the previous champions kept for instant rollback; plain JSON, validated on read. And the
 * questions asked of it: the candidate in flight, the status summary, who serves a request.
 */
import { z } from 'zod';
import { BASELINE_POLICY_VERSION } from '../api.js';
import { ErrorCode, UmbraError } from '../errors.js';
import { assignSlice, Slice } from './bucketing.js';

/** Lifecycle stage of a policy version. */
export const Stage = {
  REGISTERED: 'registered',
  SHADOW: 'shadow',
  CANARY: 'canary',
  PRODUCTION: 'production',
  PAUSED: 'paused',
  ROLLED_BACK: 'rolled_back',
  ABORTED: 'aborted',
  REJECTED: 'rejected',
  RETIRED: 'retired',
} as const;
export type Stage = (typeof Stage)[keyof typeof Stage];
export const STAGES = Object.values(Stage) as [Stage, ...Stage[]];

/** Stages of a candidate that is in flight (at most one version is in one of them). */
export const IN_FLIGHT: readonly Stage[] = [Stage.REGISTERED, Stage.SHADOW, Stage.CANARY, Stage.PAUSED];

/** What set a transition off. */
export type Trigger = 'auto' | 'manual';


/** One policy version as the machine tracks it. */
export const VersionRecordSchema = z.object({
  id: z.string().min(1),
  /** Content hash of its artifact (null for the caller's own rules). */
  artifactHash: z.string().nullable(),
  stage: z.enum(STAGES),
  /** Stage a paused version returns to on resume. */
  pausedFrom: z.enum(['shadow', 'canary']).nullable(),
  /** When it entered its current stage (ISO). */
  since: z.string(),
  registeredAt: z.string(),
  /** Times it was rolled back. */
  rollbacks: z.number().int().min(0),
  /** Canary weight while in canary (or paused from it), else 0. */
  canaryWeight: z.number().min(0).max(0.5),
  /** When its current canary began (kept across pause/resume), else null. */
  canaryStartedAt: z.string().nullable(),
});
export type VersionRecord = z.infer<typeof VersionRecordSchema>;

/** The whole rollout state: plain JSON, persisted by the caller. */
export const RolloutStateSchema = z.object({
  v: z.literal(1),
  /** The version serving production. */
  champion: z.string().min(1),
  /** Earlier champions kept loaded for instant rollback, most recent first. */
  previousChampions: z.array(z.string()),
  /** The current or most recent candidate (null once it became champion or before any). */
  candidate: z.string().nullable(),
  versions: z.record(z.string(), VersionRecordSchema),
  /** Number of transitions applied. */
  seq: z.number().int().min(0),
  updatedAt: z.string(),
});
export type RolloutState = z.infer<typeof RolloutStateSchema>;

/** Validate a persisted state (throws E_SCHEMA with the path of the first problem). */
export function parseRolloutState(raw: unknown): RolloutState {
  const r = RolloutStateSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0];
    throw new UmbraError(ErrorCode.SCHEMA, `rollout state is invalid at ${i?.path.join('.') || '(root)'}: ${i?.message ?? 'unknown problem'}`, { issues: r.error.issues });
  }
  return r.data;
}

/** What happened, for the audit log (audit.ts adds the config hash and the chain). */
export interface AuditEvent {
  /** `init`, a command type, or a consequence: `supersede`, `reject`, `retire`, `restore`. */
  event: string;
  /** The version concerned. */
  version: string;
  from: Stage | null;
  to: Stage;
  actor: string;
  trigger: Trigger;
  reason: string;
  /** ISO time of the transition. */
  ts: string;
  /** Champion after the transition (answers "who served production at time T"). */
  champion: string;
  artifactHash: string | null;
  /** Canary weight of the version after the transition. */
  canaryWeight: number;
  /** The gate evaluation or judge verdict behind the transition, verbatim. */
  evaluation: unknown;
  /** The previous champions after the event, on `retire` (the list is cut to `keep_champions` then). */
  previousChampions?: string[];
}

const iso = (ms: number): string => new Date(ms).toISOString();

function baselineRecord(id: string, ts: string): VersionRecord {
  return { id, artifactHash: null, stage: Stage.PRODUCTION, pausedFrom: null, since: ts, registeredAt: ts, rollbacks: 0, canaryWeight: 0, canaryStartedAt: null };
}

/** A fresh state: the caller's own rules (`baseline`) are the champion. */
export function initialState(now: number, baselineId: string = BASELINE_POLICY_VERSION): RolloutState {
  const ts = iso(now);
  return { v: 1, champion: baselineId, previousChampions: [], candidate: null, versions: { [baselineId]: baselineRecord(baselineId, ts) }, seq: 0, updatedAt: ts };
}

/** A fresh state and its `init` audit event (the first record of a new audit log). */
export function initRollout(now: number, actor = 'umbra', baselineId: string = BASELINE_POLICY_VERSION): { state: RolloutState; events: AuditEvent[] } {
  const state = initialState(now, baselineId);
  const events: AuditEvent[] = [
    { event: 'init', version: baselineId, from: null, to: Stage.PRODUCTION, actor, trigger: 'manual', reason: 'the caller’s own rules serve production', ts: state.updatedAt, champion: baselineId, artifactHash: null, canaryWeight: 0, evaluation: null },
  ];
  return { state, events };
}

/** The candidate in flight, if any. */
export function inFlight(state: RolloutState): VersionRecord | null {
  if (state.candidate === null) return null;
  const v = state.versions[state.candidate];
  return v !== undefined && IN_FLIGHT.includes(v.stage) ? v : null;
}

/** Machine-readable status: the `umbra rollout status --json` fields. */
export interface RolloutStatus {
  /** The candidate's stage while one is in flight or just ended; `production` otherwise. */
  stage: Stage;
  champion: string;
  candidate: string | null;
  /** Current canary share (0 unless a canary is running). */
  canaryWeight: number;
  previousChampions: string[];
  /** Stage the candidate returns to on resume, when paused. */
  pausedFrom: 'shadow' | 'canary' | null;
  /** When the candidate (or the champion) entered its stage. */
  since: string;
}

/** Status summary of a state. */
export function rolloutStatus(state: RolloutState): RolloutStatus {
  const cand = state.candidate === null ? undefined : state.versions[state.candidate];
  const champ = state.versions[state.champion]!;
  return {
    stage: cand?.stage ?? Stage.PRODUCTION,
    champion: state.champion,
    candidate: cand?.id ?? null,
    canaryWeight: cand?.stage === Stage.CANARY ? cand.canaryWeight : 0,
    previousChampions: [...state.previousChampions],
    pausedFrom: cand?.stage === Stage.PAUSED ? cand.pausedFrom : null,
    since: cand?.since ?? champ.since,
  };
}

/** Who serves a request: the slice and the version behind it. */
export interface Serving {
  slice: Slice;
  /** The version that chooses the action (the candidate on the canary slice, else the champion). */
  version: string;
}

/** Route one request by sticky key: the candidate serves its canary slice only while in `canary`. */
export function servingFor(state: RolloutState, stickyKey: string | null | undefined): Serving {
  const c = inFlight(state);
  if (c === null || c.stage !== Stage.CANARY) return { slice: Slice.PRODUCTION, version: state.champion };
  const slice = assignSlice(stickyKey, { salt: c.id, canaryWeight: c.canaryWeight });
  return { slice, version: slice === Slice.CANARY ? c.id : state.champion };
}

/** The candidate that should score live traffic in the shadow (shadow, canary or paused), if any. */
export function shadowCandidate(state: RolloutState): string | null {
  const c = inFlight(state);
  return c !== null && c.stage !== Stage.REGISTERED ? c.id : null;
}
