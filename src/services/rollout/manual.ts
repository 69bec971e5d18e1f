/**
 * The manual rollout actions, shared by the CLI (`umbra rollout ...`, `umbra shadow promote|rollback`)
 * and the admin HTTP endpoints, so a person gets the same gates and the same audit records
 * whichever door they use. A manual promotion still has to pass its gates unless forced with a
 * reason, and the force is recorded.
 */
import { ROLLOUT_ACTIONS, type RolloutAction } from '../../core/admin-api.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { GateReport } from '../../core/gates/index.js';
import { gateFromVerdict, inFlight, type JudgeVerdict, type RolloutCommand } from '../../core/rollout/index.js';
import type { Settings } from '../../core/settings.js';
import type { StateStore } from '../../store/port.js';
import type { Bundles } from '../artifacts/bundles.js';
import { StateKey } from '../state-keys.js';
import { shadowGateReport } from './gates.js';
import type { Applied, RolloutService } from './state.js';

/** Actions a person can take (the list lives with the HTTP contract in core/admin-api.ts). */
export const MANUAL_ACTIONS = ROLLOUT_ACTIONS;
export type ManualAction = RolloutAction;

export interface ActionOptions {
  store: StateStore;
  rollout: RolloutService;
  settings: Settings;
  bundles: Bundles;
  actor: string;
  reason?: string;
  /** Promote even when gates fail (needs a reason; recorded in the audit log). */
  force?: boolean;
  /** Canary weight for a promotion to canary. */
  weight?: number;
  /** Version to retry. */
  id?: string;
  now?: () => number;
}

async function currentGates(o: ActionOptions): Promise<GateReport> {
  const state = await o.rollout.state();
  const cand = inFlight(state);
  const now = (o.now ?? Date.now)();
  if (cand === null) return { passed: false, summary: 'no candidate in flight' };
  const stage = cand.stage === 'paused' ? cand.pausedFrom : cand.stage;
  if (stage === 'shadow' || stage === 'registered') return shadowGateReport(o, cand, now);
  const judged = (await o.store.getState(StateKey.JUDGE))?.value as { version: string; verdict: JudgeVerdict } | undefined;
  if (judged?.version !== cand.id) return { passed: false, summary: `the canary of ${cand.id} has not been judged yet` };
  if (cand.stage === 'canary') {
    return judged.verdict.readyToPromote ? { passed: true, summary: judged.verdict.reason, details: judged.verdict } : { passed: false, summary: `canary not ready: ${judged.verdict.reason}`, details: judged.verdict };
  }
  return gateFromVerdict(judged.verdict);
}

/** Apply a manual action; throws E_GATE_FAILED / E_TRANSITION_INVALID / E_USAGE with a clear message. */
export async function runAction(action: ManualAction, o: ActionOptions): Promise<Applied> {
  const base = { actor: o.actor, trigger: 'manual' as const, ...(o.reason === undefined ? {} : { reason: o.reason }) };
  let cmd: RolloutCommand;
  if (action === 'promote' || action === 'resume') {
    let gates = await currentGates(o);
    if (!gates.passed) {
      if (!o.force) throw new UmbraError(ErrorCode.GATE_FAILED, `${action} refused: ${gates.summary}${action === 'promote' ? ' (use --force --reason TEXT to override; it is recorded)' : ''}`, gates.details);
      if (!o.reason?.trim()) throw new UmbraError(ErrorCode.USAGE, '--force needs --reason');
      gates = { passed: true, summary: `FORCED by ${o.actor}: ${o.reason} (gates said: ${gates.summary})`, details: { forced: true, gates } };
    }
    cmd = action === 'promote' ? { type: 'promote', gates, ...(o.weight === undefined ? {} : { weight: o.weight }), ...base } : { type: 'resume', gates, ...base };
  } else if (action === 'retry') {
    cmd = { type: 'retry', ...(o.id === undefined ? {} : { id: o.id }), ...base };
  } else {
    cmd = { type: action, ...base };
  }
  return o.rollout.apply(cmd);
}
