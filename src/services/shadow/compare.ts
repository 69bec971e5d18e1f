/**
 * `umbra shadow compare`: evaluate the shadow candidate against production now, on the most
 * recent production decisions in the store: off-policy estimates of the candidate's value and
 * success rate per decision point, production's on-policy numbers, the seed's KPIs, and every
 * promotion gate with value, threshold, verdict and reason.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { GateResult } from '../../core/gates/index.js';
import { inFlight, shadowCandidate } from '../../core/rollout/index.js';
import type { Settings } from '../../core/settings.js';
import type { EventReader, IngestLedger, ShadowLog, StateStore } from '../../store/port.js';
import { loadPolicyArtifact } from '../artifacts/artifacts.js';
import type { Bundles } from '../artifacts/bundles.js';
import { toTrainingEpisode } from '../learning/episodes.js';
import { evaluateWindow } from '../learning/evaluate.js';
import type { Episode } from '../learning/trainer.js';
import type { RolloutService } from '../rollout/state.js';
import { buildStatus } from '../monitoring/status.js';
import { readControllerState } from './controller.js';

export interface PointComparison {
  n: number;
  production: { value: number; successRate: number | null };
  candidate: { estimator: string; value: number | null; ci: [number, number] | null; successRate: number | null; reason?: string };
  diagnostics: { ess: number; supportDeficit: number; maxWeight: number; agreementRate: number };
  gates: GateResult[];
  pass: boolean;
  summary: string;
}

export interface CompareReport {
  candidate: string;
  champion: string;
  stage: string;
  newEpisodes: number;
  kpis: { production: Record<string, number | null>; candidate: { policyValue: number | null; successRate: number | null } };
  points: Record<string, PointComparison>;
  pass: boolean;
  summary: string;
}

export interface CompareOptions {
  store: EventReader & StateStore & ShadowLog & IngestLedger;
  rollout: RolloutService;
  settings: Settings;
  bundles: Bundles;
  /** Most recent episodes per point to evaluate on. @default 5000 */
  window?: number;
  /** Candidate to compare (default: the shadow candidate, else the one in flight). */
  version?: string;
}

/** Compare the candidate with production (see the module comment). */
export async function compareNow(o: CompareOptions): Promise<CompareReport> {
  const state = await o.rollout.state();
  const version = o.version ?? shadowCandidate(state) ?? inFlight(state)?.id;
  if (version === undefined) throw new UmbraError(ErrorCode.NO_DATA, 'no candidate to compare yet: start the shadow controller (umbra shadow start) and let it retrain');
  const config = o.settings.config;
  await o.bundles.ensure(version);
  const arts = o.bundles.artifacts(version);
  const window = o.window ?? 5000;
  const byPoint = new Map<string, Episode[]>();
  for await (const ep of o.store.episodes({ now: Date.now(), reward: o.settings.reward })) {
    if (arts[ep.event.point] === undefined) continue;
    const list = byPoint.get(ep.event.point) ?? [];
    list.push(toTrainingEpisode(ep, config));
    if (list.length > 2 * window) list.splice(0, list.length - window);
    byPoint.set(ep.event.point, list);
  }
  const ctl = await readControllerState(o.store);
  const newEpisodes = ctl?.newEpisodes ?? 0;
  const points: Record<string, PointComparison> = {};
  for (const [point, path] of Object.entries(arts)) {
    const eps = (byPoint.get(point) ?? []).slice(-window);
    if (eps.length === 0) continue;
    const { policy } = loadPolicyArtifact(path, o.settings.fingerprint);
    const ev = evaluateWindow(policy, eps, o.settings, Math.max(newEpisodes, ctl === undefined ? eps.length : 0));
    const est = ev.ope?.estimates[config.promotion_criteria.estimator];
    const succ = ev.success?.estimates[config.promotion_criteria.estimator];
    const d = ev.ope?.diagnostics;
    points[point] = {
      n: eps.length,
      production: { value: ev.ope?.logging.value ?? ev.summary.loggerValue, successRate: ev.success?.logging.value ?? null },
      candidate: { estimator: config.promotion_criteria.estimator, value: est?.value ?? null, ci: est?.ci ?? null, successRate: succ?.value ?? null, ...(est?.reason ? { reason: est.reason } : {}) },
      diagnostics: { ess: d?.ess ?? 0, supportDeficit: d?.supportDeficit ?? 0, maxWeight: d?.maxWeight ?? 0, agreementRate: d?.agreementRate ?? 0 },
      gates: ev.gates?.gates ?? [],
      pass: ev.gates?.pass ?? false,
      summary: ev.gates?.summary ?? 'not evaluated',
    };
  }
  if (Object.keys(points).length === 0) throw new UmbraError(ErrorCode.NO_DATA, `no production decisions in the store for the points of ${version} (${Object.keys(arts).join(', ')})`);
  const status = await buildStatus({ store: o.store, rollout: o.rollout, settings: o.settings });
  const main = points.route ?? Object.values(points)[0]!;
  const pass = Object.values(points).every((p) => p.pass);
  return {
    candidate: version,
    champion: state.champion,
    stage: state.versions[version]?.stage ?? 'unknown',
    newEpisodes,
    kpis: { production: status.kpis, candidate: { policyValue: main.candidate.value, successRate: main.candidate.successRate } },
    points,
    pass,
    summary: pass ? `every gate passes for ${version}` : `gates fail for ${version}: ${Object.entries(points).filter(([, p]) => !p.pass).map(([k, p]) => `${k}: ${p.summary}`).join('; ')}`,
  };
}
