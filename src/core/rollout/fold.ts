/**
 * The rollout state as the fold of its audit records. The machine (machine.ts) turns a command into
 * a new state and the events that describe the change; this file turns the events back into the
 * state, without the commands, the gates or the config. So the state a process serves can be
 * derived from the verified chain alone, and a state stored beside the records (a cache) can be
 * checked against it field by field: whoever edits the stored state but cannot re-write the
 * records is caught.
 *
 * The fold also checks that the records make sense as a history (a version moves from the stage
 * it is in, a restore brings back the champion kept for it, exactly one version in production
 * after each transition): records that chain correctly but were never written by the machine do
 * not silently produce a state.
 */
import { IN_FLIGHT, Stage, STAGES, inFlight, type RolloutState, type VersionRecord } from './state.js';
import type { AuditRecord } from './audit.js';

/** Options of the fold. */
export interface FoldOptions {
  /**
   * Previous champions kept, for `retire` records written before the list was recorded on them
   * (the `rollout.keep_champions` in force). @default 3
   */
  keepChampions?: number;
}

/** A record that cannot follow the state it is applied to. */
export class FoldError extends Error {
  readonly seq: number;
  constructor(seq: number, message: string) {
    super(message);
    this.seq = seq;
  }
}

const isStage = (s: string | null): s is Stage => s !== null && (STAGES as readonly string[]).includes(s);

/**
 * Apply one transition's records (one audit row) to the state after the previous transition (null
 * before the first, whose first record must be `init`). Returns a new state; the input is not
 * modified. Throws FoldError naming the record that does not fit.
 */
export function foldTransition(prev: RolloutState | null, records: readonly AuditRecord[], options: FoldOptions & { inPlace?: boolean } = {}): RolloutState {
  const keep = options.keepChampions ?? 3;
  if (records.length === 0) throw new FoldError(prev === null ? 0 : -1, 'a transition without records');
  // In place (the verifier's own working copy) saves a deep copy per transition on long logs.
  let s: RolloutState | null = prev === null ? null : options.inPlace === true ? prev : structuredClone(prev);
  for (const r of records) s = foldRecord(s, r, keep);
  const state = s!;
  const last = records[records.length - 1]!;
  state.seq = prev === null ? 0 : prev.seq + 1;
  state.updatedAt = last.ts;
  checkInvariants(state, last.seq);
  return state;
}

function foldRecord(s: RolloutState | null, r: AuditRecord, keep: number): RolloutState {
  const bad = (why: string): FoldError => new FoldError(r.seq, `record ${r.seq} (${r.event} of ${r.version ?? '-'}) cannot follow the records before it: ${why}`);
  if (r.event === 'init') {
    if (s !== null) throw bad('init after the log began');
    if (r.version === null || r.to !== Stage.PRODUCTION) throw bad('init must put a version in production');
    const v: VersionRecord = { id: r.version, artifactHash: null, stage: Stage.PRODUCTION, pausedFrom: null, since: r.ts, registeredAt: r.ts, rollbacks: 0, canaryWeight: 0, canaryStartedAt: null };
    return { v: 1, champion: r.version, previousChampions: [], candidate: null, versions: { [r.version]: v }, seq: 0, updatedAt: r.ts };
  }
  if (s === null) throw bad('the log must begin with init');
  if (r.event === 'seal') {
    // Marks the moment an audit key first signed this log; changes nothing in the rollout.
    if (r.champion !== s.champion) throw bad(`a seal names champion ${r.champion}, but ${s.champion} is champion`);
    return s;
  }
  if (r.version === null) throw bad('no version');
  if (r.event === 'register') {
    if (s.versions[r.version] !== undefined) throw bad('the version is already known');
    if (r.from !== null || r.to !== Stage.REGISTERED) throw bad(`register goes from nothing to registered, not ${r.from} → ${r.to}`);
    s.versions[r.version] = { id: r.version, artifactHash: r.artifactHash, stage: Stage.REGISTERED, pausedFrom: null, since: r.ts, registeredAt: r.ts, rollbacks: 0, canaryWeight: 0, canaryStartedAt: null };
    s.candidate = r.version;
    s.champion = r.champion;
    return s;
  }
  const v = s.versions[r.version];
  if (v === undefined) throw bad('unknown version');
  if (r.from !== v.stage) throw bad(`it moves the version from ${r.from}, but the version is ${v.stage}`);
  if (!isStage(r.to)) throw bad(`unknown stage ${String(r.to)}`);
  const from = v.stage;
  const candidateBefore = inFlight(s);
  switch (r.event) {
    case 'promote':
      if (from === Stage.SHADOW && r.to === Stage.CANARY) v.canaryStartedAt = r.ts;
      if (r.to === Stage.PRODUCTION) s.candidate = null;
      break;
    case 'rollback':
      v.rollbacks += 1;
      // Rolling back the champion with no candidate in flight makes it the last candidate.
      if (from === Stage.PRODUCTION && candidateBefore === null) s.candidate = v.id;
      break;
    case 'retire':
      s.previousChampions = r.previousChampions !== undefined ? [...r.previousChampions] : [v.id, ...s.previousChampions.filter((id) => id !== v.id)].slice(0, keep);
      break;
    case 'restore':
      if (s.previousChampions[0] !== v.id) throw bad(`a restore brings back the champion kept for rollback (${s.previousChampions[0] ?? 'none'})`);
      s.previousChampions = s.previousChampions.slice(1);
      break;
    case 'retry':
      s.candidate = v.id;
      break;
    case 'start_shadow':
    case 'ramp':
    case 'pause':
    case 'resume':
    case 'abort':
    case 'supersede':
    case 'reject':
      break;
    default:
      throw bad(`unknown event ${r.event}`);
  }
  v.stage = r.to;
  v.since = r.ts;
  v.canaryWeight = r.canaryWeight;
  if (r.to !== Stage.CANARY && r.to !== Stage.PAUSED) v.canaryStartedAt = null;
  if (r.to === Stage.PAUSED) {
    if (from !== Stage.SHADOW && from !== Stage.CANARY) throw bad(`only shadow or canary can pause, not ${from}`);
    v.pausedFrom = from;
  } else v.pausedFrom = null;
  s.champion = r.champion;
  return s;
}

function checkInvariants(s: RolloutState, seq: number): void {
  const prod = Object.values(s.versions).filter((v) => v.stage === Stage.PRODUCTION);
  if (prod.length !== 1 || prod[0]!.id !== s.champion) {
    throw new FoldError(seq, `after record ${seq} the records leave ${prod.map((v) => v.id).join(', ') || 'nothing'} in production while naming ${s.champion} champion`);
  }
  const flying = Object.values(s.versions).filter((v) => IN_FLIGHT.includes(v.stage));
  if (flying.length > 1) throw new FoldError(seq, `after record ${seq} the records leave ${flying.length} candidates in flight (${flying.map((v) => v.id).join(', ')})`);
  if (flying.length === 1 && flying[0]!.id !== s.candidate) throw new FoldError(seq, `after record ${seq} ${flying[0]!.id} is in flight but ${s.candidate ?? 'nothing'} is named candidate`);
}

/** The fold of a whole log given as transitions (audit rows), oldest first. */
export function foldLog(transitions: readonly (readonly AuditRecord[])[], options: FoldOptions = {}): RolloutState | null {
  let s: RolloutState | null = null;
  for (const t of transitions) s = foldTransition(s, t, options);
  return s;
}

/** Where two JSON values first differ: the dotted path and both values, or undefined when equal. */
export interface JsonDifference {
  /** Dotted path (`versions.cand-1.rollbacks`); `(root)` for the whole value. */
  path: string;
  stored: unknown;
  derived: unknown;
}

/** The first difference between a stored JSON value and a derived one (object keys in any order). */
export function firstDifference(stored: unknown, derived: unknown, path = ''): JsonDifference | undefined {
  const here = (): JsonDifference => ({ path: path || '(root)', stored, derived });
  if (stored === derived) return undefined;
  if (typeof stored !== 'object' || typeof derived !== 'object' || stored === null || derived === null) return here();
  if (Array.isArray(stored) !== Array.isArray(derived)) return here();
  const at = (k: string): string => (path ? `${path}.${k}` : k);
  if (Array.isArray(stored) && Array.isArray(derived)) {
    if (stored.length !== derived.length) return here();
    for (let i = 0; i < stored.length; i++) {
      const d = firstDifference(stored[i], derived[i], at(String(i)));
      if (d) return d;
    }
    return undefined;
  }
  const a = stored as Record<string, unknown>;
  const b = derived as Record<string, unknown>;
  for (const k of Object.keys(b)) {
    if (!Object.hasOwn(a, k)) return { path: at(k), stored: undefined, derived: b[k] };
    const d = firstDifference(a[k], b[k], at(k));
    if (d) return d;
  }
  for (const k of Object.keys(a)) if (!Object.hasOwn(b, k)) return { path: at(k), stored: a[k], derived: undefined };
  return undefined;
}
