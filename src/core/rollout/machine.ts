/**
 * The rollout state machine of docs/rollout.md as a pure reducer:
 * `transition(state, command, now) → { state, events } | error`.
 *
 * Why a reducer: the same code runs in the decision service, the CLI and the tests; the state is
 * plain JSON that a store persists atomically; every change yields audit events that the caller
 * appends to the hash-chained log (audit.ts). Nothing here reads a clock or a file: `now` is
 * passed in, so a simulated day of traffic takes milliseconds.
 *
 * Invariants (checked by property tests): exactly one version is in `production` and it is the
 * champion; at most one candidate is in flight (registered, shadow, canary or paused); the
 * previous champions kept for instant rollback are `retired`; `rejected` is final.
 */
import { z } from 'zod';
import { GateReportSchema, type GateReport } from '../gates/verdict.js';
import { ErrorCode, UmbraError } from '../errors.js';
import type { RolloutConfig } from '../config/rollout.js';
import { rolloutConfig } from '../config/rollout.js';
import { BASELINE_POLICY_VERSION } from '../api.js';
import { checkWeight } from './bucketing.js';
import { IN_FLIGHT, STAGES, Stage, inFlight, type AuditEvent, type RolloutState, type Trigger, type VersionRecord } from './state.js';

export * from './state.js';

const iso = (ms: number): string => new Date(ms).toISOString();

const Common = {
  /** Who asks: `cli:<user>`, `judge`, `trainer`, ... */
  actor: z.string().min(1),
  /** Why (required for pause, resume, abort, rollback and retry when done by hand). */
  reason: z.string().optional(),
  /** `auto` for the service's own decisions; `manual` (default) for people. */
  trigger: z.enum(['auto', 'manual']).optional(),
  /** The version the caller believes it acts on; refused when the state moved on meanwhile. */
  target: z.string().optional(),
  /**
   * The stage the caller judged the candidate in (the judge's verdicts set it); refused when the
   * candidate moved on meanwhile, so a verdict on its shadow can never promote its canary.
   */
  from: z.enum(STAGES).optional(),
};

/** A command to the machine. Validate untrusted input (HTTP, CLI) with this schema. */
export const RolloutCommandSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('register'), id: z.string().min(1).max(256), artifactHash: z.string().nullable().optional(), ...Common }),
  z.object({ type: z.literal('start_shadow'), gates: GateReportSchema, ...Common }),
  z.object({ type: z.literal('promote'), gates: GateReportSchema, weight: z.number().optional(), ...Common }),
  z.object({ type: z.literal('ramp'), gates: GateReportSchema, weight: z.number(), ...Common }),
  z.object({ type: z.literal('pause'), evaluation: z.unknown().optional(), ...Common }),
  z.object({ type: z.literal('resume'), gates: GateReportSchema, ...Common }),
  z.object({ type: z.literal('abort'), ...Common }),
  z.object({ type: z.literal('rollback'), evaluation: z.unknown().optional(), ...Common }),
  z.object({ type: z.literal('retry'), id: z.string().optional(), ...Common }),
]);
export type RolloutCommand = z.infer<typeof RolloutCommandSchema>;
export type RolloutCommandType = RolloutCommand['type'];

/** Options of the reducer (from the `rollout` config section). */
export interface MachineOptions {
  /** `manual` refuses automatic promotions; rollbacks stay automatic. */
  mode: 'auto' | 'manual';
  /** Canary weight of a promotion that does not name one. */
  canaryWeight: number;
  retryCooldownMs: number;
  /** A version rolled back this many times is rejected. */
  maxRollbacks: number;
  /** Previous champions kept for instant rollback. */
  keepChampions: number;
}

/** Machine options from the compiled `rollout` section. */
export function machineOptions(cfg: RolloutConfig): MachineOptions {
  return {
    mode: cfg.mode,
    canaryWeight: cfg.canary_weight,
    retryCooldownMs: cfg.retry_cooldown_s * 1000,
    maxRollbacks: cfg.max_rollbacks,
    keepChampions: cfg.keep_champions,
  };
}

/** The defaults of docs/rollout.md. */
export const DEFAULT_MACHINE_OPTIONS: Readonly<MachineOptions> = machineOptions(rolloutConfig());

/** Outcome of `transition`. */
export type TransitionResult = { ok: true; state: RolloutState; events: AuditEvent[] } | { ok: false; error: UmbraError };

/** Apply a command; throws the UmbraError of a refused transition. */
export function applyCommand(state: RolloutState, command: RolloutCommand, now: number, options: MachineOptions = DEFAULT_MACHINE_OPTIONS): { state: RolloutState; events: AuditEvent[] } {
  const r = transition(state, command, now, options);
  if (!r.ok) throw r.error;
  return { state: r.state, events: r.events };
}

/**
 * The reducer. Never throws for a refused transition: returns `{ ok: false, error }` with
 * E_TRANSITION_INVALID (not allowed from here, cooldown, wrong target), E_GATE_FAILED (a gate
 * report that did not pass) or E_USAGE (a malformed command). The input state is not modified.
 */
export function transition(state: RolloutState, command: RolloutCommand, now: number, options: MachineOptions = DEFAULT_MACHINE_OPTIONS): TransitionResult {
  try {
    if (!Number.isFinite(now)) throw usage(`now must be a finite time in milliseconds, got ${now}`);
    const parsed = RolloutCommandSchema.safeParse(command);
    if (!parsed.success) throw usage(`malformed ${String((command as { type?: unknown }).type)} command: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    const ctx = new Ctx(structuredClone(state), parsed.data, now, options);
    HANDLERS[parsed.data.type](ctx);
    ctx.state.seq += 1;
    ctx.state.updatedAt = ctx.ts;
    return { ok: true, state: ctx.state, events: ctx.events };
  } catch (e) {
    if (e instanceof UmbraError) return { ok: false, error: e };
    throw e;
  }
}

function usage(msg: string): UmbraError {
  return new UmbraError(ErrorCode.USAGE, msg);
}
function invalid(msg: string, details?: unknown): UmbraError {
  return new UmbraError(ErrorCode.TRANSITION_INVALID, msg, details);
}

/** Working context of one transition. */
class Ctx {
  readonly state: RolloutState;
  readonly cmd: RolloutCommand;
  readonly now: number;
  readonly ts: string;
  readonly opts: MachineOptions;
  readonly events: AuditEvent[] = [];

  constructor(state: RolloutState, cmd: RolloutCommand, now: number, opts: MachineOptions) {
    this.state = state;
    this.cmd = cmd;
    this.now = now;
    this.ts = iso(now);
    this.opts = opts;
  }

  get trigger(): Trigger {
    return this.cmd.trigger ?? 'manual';
  }

  /** The command's reason, required for hand-made safety actions. */
  reason(fallback: string, required = false): string {
    const r = this.cmd.reason?.trim();
    if (r) return r;
    if (required && this.trigger === 'manual') throw usage(`${this.cmd.type} needs a reason (--reason)`);
    return fallback;
  }

  /** The candidate in flight, checked against the command's target. */
  candidate(allowed: readonly Stage[], what: string): VersionRecord {
    const c = inFlight(this.state);
    if (c === null) {
      const last = this.state.candidate === null ? undefined : this.state.versions[this.state.candidate];
      throw invalid(`cannot ${what}: no candidate in flight${last ? ` (last candidate ${last.id} is ${last.stage})` : ''}`);
    }
    if (this.cmd.target !== undefined && this.cmd.target !== c.id) throw invalid(`cannot ${what}: ${this.cmd.target} is not the candidate in flight (${c.id} is)`);
    if (this.cmd.from !== undefined && this.cmd.from !== c.stage) throw invalid(`cannot ${what}: ${c.id} was judged in ${this.cmd.from}, and it is ${c.stage} now`);
    if (!allowed.includes(c.stage)) {
      const hint = c.stage === Stage.PAUSED ? '; resume it first' : '';
      throw invalid(`cannot ${what}: candidate ${c.id} is ${c.stage}${c.stage === Stage.PAUSED ? ` (from ${c.pausedFrom})` : ''}, and ${what} needs ${allowed.join(' or ')}${hint}`);
    }
    return c;
  }

  requireGates(gates: GateReport, what: string): void {
    if (!gates.passed) throw new UmbraError(ErrorCode.GATE_FAILED, `${what} refused: ${gates.summary}`, gates.details);
  }

  requireAutoAllowed(what: string): void {
    if (this.trigger === 'auto' && this.opts.mode === 'manual') throw invalid(`${what} refused: mode is manual, so only a person may promote (umbra rollout promote)`);
  }

  move(v: VersionRecord, to: Stage, event: string, reason: string, evaluation: unknown = null): void {
    const from = v.stage;
    v.stage = to;
    v.since = this.ts;
    if (to !== Stage.CANARY && to !== Stage.PAUSED) {
      v.canaryWeight = 0;
      v.canaryStartedAt = null;
    }
    if (to !== Stage.PAUSED) v.pausedFrom = null;
    this.events.push({
      event,
      version: v.id,
      from,
      to,
      actor: this.cmd.actor,
      trigger: this.trigger,
      reason,
      ts: this.ts,
      champion: this.state.champion,
      artifactHash: v.artifactHash,
      canaryWeight: v.canaryWeight,
      evaluation: evaluation ?? null,
    });
  }

  /** Count a rollback; reject the version when it reached the limit. */
  rolledBack(v: VersionRecord, reason: string, evaluation: unknown): void {
    v.rollbacks += 1;
    this.move(v, Stage.ROLLED_BACK, 'rollback', reason, evaluation);
    if (v.rollbacks >= this.opts.maxRollbacks) {
      this.move(v, Stage.REJECTED, 'reject', `rolled back ${v.rollbacks} times (limit ${this.opts.maxRollbacks}): rejected for good; register a new version`);
    }
  }
}

type Handler = (ctx: Ctx) => void;

const HANDLERS: Record<RolloutCommandType, Handler> = {
  register(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'register' }>;
    const s = ctx.state;
    const existing = s.versions[cmd.id];
    if (existing !== undefined) {
      const hint = existing.stage === Stage.ROLLED_BACK || existing.stage === Stage.ABORTED ? '; use retry to try it again' : '; versions are immutable, register a new id';
      throw invalid(`version ${cmd.id} is already known (stage ${existing.stage})${hint}`);
    }
    const current = inFlight(s);
    if (current !== null) {
      if (current.stage === Stage.CANARY || (current.stage === Stage.PAUSED && current.pausedFrom === Stage.CANARY)) {
        throw invalid(`cannot register ${cmd.id}: candidate ${current.id} is in canary; promote, abort or roll it back first`);
      }
      ctx.move(current, Stage.ABORTED, 'supersede', `superseded by ${cmd.id}`);
    }
    const v: VersionRecord = {
      id: cmd.id,
      artifactHash: cmd.artifactHash ?? null,
      stage: Stage.REGISTERED,
      pausedFrom: null,
      since: ctx.ts,
      registeredAt: ctx.ts,
      rollbacks: 0,
      canaryWeight: 0,
      canaryStartedAt: null,
    };
    s.versions[v.id] = v;
    s.candidate = v.id;
    ctx.events.push({ event: 'register', version: v.id, from: null, to: Stage.REGISTERED, actor: cmd.actor, trigger: ctx.trigger, reason: ctx.reason('registered after training'), ts: ctx.ts, champion: s.champion, artifactHash: v.artifactHash, canaryWeight: 0, evaluation: null });
  },

  start_shadow(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'start_shadow' }>;
    const c = ctx.candidate([Stage.REGISTERED], 'start shadow');
    ctx.requireGates(cmd.gates, `shadow for ${c.id}`);
    ctx.move(c, Stage.SHADOW, 'start_shadow', ctx.reason('artifact valid, feature map compatible'), cmd.gates);
  },

  promote(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'promote' }>;
    const s = ctx.state;
    const c = ctx.candidate([Stage.SHADOW, Stage.CANARY], 'promote');
    ctx.requireAutoAllowed(`promotion of ${c.id}`);
    ctx.requireGates(cmd.gates, `promotion of ${c.id} from ${c.stage}`);
    if (c.stage === Stage.SHADOW) {
      const weight = cmd.weight ?? ctx.opts.canaryWeight;
      checkWeight(weight);
      if (!(weight > 0)) throw usage('a canary needs a weight above 0');
      c.canaryWeight = weight;
      c.canaryStartedAt = ctx.ts;
      ctx.move(c, Stage.CANARY, 'promote', ctx.reason(`offline and shadow gates passed; canary at ${weight * 100} % with an equal control slice`), cmd.gates);
      return;
    }
    // canary → production: the candidate becomes champion; the old champion is kept for rollback.
    const old = s.versions[s.champion]!;
    s.champion = c.id;
    ctx.move(c, Stage.PRODUCTION, 'promote', ctx.reason('canary gates passed: no guardrail harm, primary metric non-inferior'), cmd.gates);
    s.previousChampions = [old.id, ...s.previousChampions.filter((id) => id !== old.id)].slice(0, ctx.opts.keepChampions);
    ctx.move(old, Stage.RETIRED, 'retire', `replaced by ${c.id}; kept for instant rollback`);
    // The list depends on keep_champions at the time: recorded, so the fold needs no config.
    ctx.events[ctx.events.length - 1]!.previousChampions = [...s.previousChampions];
    s.candidate = null;
  },

  ramp(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'ramp' }>;
    const c = ctx.candidate([Stage.CANARY], 'ramp');
    ctx.requireAutoAllowed(`ramp of ${c.id}`);
    checkWeight(cmd.weight);
    if (!(cmd.weight > c.canaryWeight)) throw invalid(`ramps only go up: ${c.id} is at ${c.canaryWeight}, asked ${cmd.weight}`);
    ctx.requireGates(cmd.gates, `ramp of ${c.id}`);
    const from = c.canaryWeight;
    c.canaryWeight = cmd.weight;
    ctx.move(c, Stage.CANARY, 'ramp', ctx.reason(`canary weight ${from} → ${cmd.weight}`), cmd.gates);
  },

  pause(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'pause' }>;
    const c = ctx.candidate([Stage.SHADOW, Stage.CANARY], 'pause');
    const reason = ctx.reason('paused by the canary judge', true);
    const from = c.stage as 'shadow' | 'canary';
    ctx.move(c, Stage.PAUSED, 'pause', reason, cmd.evaluation);
    c.pausedFrom = from;
  },

  resume(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'resume' }>;
    const c = ctx.candidate([Stage.PAUSED], 'resume');
    const reason = ctx.reason('gates pass again', true);
    ctx.requireGates(cmd.gates, `resume of ${c.id}`);
    const back = c.pausedFrom ?? Stage.SHADOW;
    ctx.move(c, back, 'resume', reason, cmd.gates);
  },

  abort(ctx) {
    const s = ctx.state;
    if (ctx.cmd.target !== undefined && ctx.cmd.target === s.champion) throw invalid(`cannot abort ${s.champion}: it is the champion; roll it back instead`);
    const c = ctx.candidate(IN_FLIGHT, 'abort');
    ctx.move(c, Stage.ABORTED, 'abort', ctx.reason('aborted', true));
  },

  rollback(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'rollback' }>;
    const s = ctx.state;
    const reason = ctx.reason('rolled back by the canary judge', true);
    const c = inFlight(s);
    const targetIsChampion = cmd.target !== undefined ? cmd.target === s.champion : c === null;
    if (!targetIsChampion) {
      ctx.rolledBack(ctx.candidate(IN_FLIGHT, 'roll back'), reason, cmd.evaluation);
      return;
    }
    const champ = s.versions[s.champion]!;
    const prevId = s.previousChampions[0];
    if (prevId === undefined) {
      throw invalid(`cannot roll back ${champ.id}: no previous champion to return to${champ.id === BASELINE_POLICY_VERSION ? ' (the caller’s own rules are the floor)' : ''}`);
    }
    const prev = s.versions[prevId]!;
    s.champion = prev.id;
    s.previousChampions = s.previousChampions.slice(1);
    ctx.rolledBack(champ, reason, cmd.evaluation);
    ctx.move(prev, Stage.PRODUCTION, 'restore', `restored as champion after rolling back ${champ.id}`);
    if (c !== null && c.stage === Stage.CANARY) {
      // The canary's control slice was the old champion: the comparison no longer holds.
      ctx.move(c, Stage.PAUSED, 'pause', `champion changed from ${champ.id} to ${prev.id} during the canary; resume once a human checked it`);
      c.pausedFrom = Stage.CANARY;
    }
    if (c === null) s.candidate = champ.id;
  },

  retry(ctx) {
    const cmd = ctx.cmd as Extract<RolloutCommand, { type: 'retry' }>;
    const s = ctx.state;
    const id = cmd.id ?? cmd.target ?? s.candidate;
    if (id === null) throw invalid('cannot retry: no candidate to retry');
    const v = s.versions[id];
    if (v === undefined) throw invalid(`cannot retry ${id}: unknown version`);
    if (v.stage === Stage.REJECTED) throw invalid(`cannot retry ${id}: it was rolled back ${v.rollbacks} times and is rejected for good; register a new version`);
    if (v.stage !== Stage.ROLLED_BACK && v.stage !== Stage.ABORTED) throw invalid(`cannot retry ${id}: it is ${v.stage}; only rolled_back or aborted versions can be retried`);
    const busy = inFlight(s);
    if (busy !== null) throw invalid(`cannot retry ${id}: candidate ${busy.id} is ${busy.stage}; abort it first`);
    const readyAt = Date.parse(v.since) + ctx.opts.retryCooldownMs;
    if (ctx.now < readyAt) throw invalid(`cannot retry ${id} yet: cooldown until ${iso(readyAt)} (${v.stage} at ${v.since})`, { readyAt: iso(readyAt) });
    const reason = ctx.reason('retry after cooldown', true);
    s.candidate = v.id;
    ctx.move(v, Stage.SHADOW, 'retry', reason);
  },
};
