/**
 * One shadow retraining: episodes from the store → several challengers (a grid of exploration
 * settings; in each, every point's policy chosen by the pipeline's model selection, see
 * learning/select.ts) trained and evaluated side by side on the latest validation window → the best one,
 * by the lower confidence bound of its route value, saved as a candidate bundle with its gate
 * report. The shadow controller runs this in a child process (retrain-child.ts), so a crash or a
 * `kill -9` mid-training leaves the previous candidate and the controller untouched: a bundle is
 * only registered after it was fully written.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { withConfig, type Settings } from '../../core/settings.js';
import type { EventReader } from '../../store/port.js';
import { splitByTime, trainPoint, type Episode } from '../learning/trainer.js';
import { toTrainingEpisode } from '../learning/episodes.js';
import { compactEvaluation, evaluateWindow, type PointEvaluation } from '../learning/evaluate.js';
import { selectAndTrain } from '../learning/select.js';
import type { PolicyArtifact } from '../../core/policies/index.js';
import { writePolicyArtifact } from '../artifacts/artifacts.js';
import type { BundleManifest, Bundles } from '../artifacts/bundles.js';
import { lowerBound } from '../../core/gates/index.js';

/** One challenger's result. */
export interface ChallengerResult {
  name: string;
  epsilon: number;
  /** Lower confidence bound of the route value (the selection criterion); null when unidentified. */
  lower: number | null;
  estimate: number | null;
  gatesPassed: boolean;
  points: Record<string, { n: number; gates: string | null; estimate: number | null; candidate?: string }>;
}

export interface RetrainResult {
  version: string;
  bundle: BundleManifest;
  episodes: number;
  newEpisodes: number;
  lastSeq: number;
  challengers: ChallengerResult[];
  chosen: string;
  gates: { passed: boolean; summary: string };
}

export interface RetrainOptions {
  store: EventReader;
  settings: Settings;
  bundles: Bundles;
  /** Episodes that arrived since the previous training (for the min_episodes gate). */
  newEpisodes: number;
  now?: number;
  /** Progress notes. */
  note?: (msg: string) => void;
  /**
   * Scratch directory for the challengers' artifacts, owned (and removed) by the caller; without
   * one, a temporary directory is made and removed here.
   */
  scratchDir?: string;
}

/** Episodes of every point in the store, for training. */
export async function storeEpisodes(store: EventReader, settings: Settings, now: number): Promise<{ episodes: Episode[]; lastSeq: number }> {
  const episodes: Episode[] = [];
  let lastSeq = 0;
  for await (const ep of store.episodes({ now, reward: settings.reward })) {
    lastSeq = Math.max(lastSeq, ep.seq);
    episodes.push(toTrainingEpisode(ep, settings.config));
  }
  return { episodes, lastSeq };
}

function withEpsilon(settings: Settings, epsilon: number): Settings {
  return withConfig(settings, (config) => ({ ...config, policies: { ...config.policies, default: { ...config.policies.default, epsilon } } }));
}

const primary = (ev: PointEvaluation | undefined, settings: Settings): { lower: number | null; estimate: number | null } => {
  const cfg = settings.config;
  const est = ev?.ope?.estimates[cfg.promotion_criteria.estimator];
  if (!est || est.value === null) return { lower: null, estimate: null };
  return { lower: lowerBound(est, cfg.ope.gate_interval, cfg.promotion_criteria.confidence, ev?.ope?.confidence ?? cfg.promotion_criteria.confidence).lo, estimate: est.value };
};

/** Train the challengers, pick the best, save it as a bundle (see the module comment). */
export async function retrainOnce(o: RetrainOptions): Promise<RetrainResult> {
  const cfg = o.settings.config;
  const now = o.now ?? Date.now();
  const note = o.note ?? ((): void => {});
  const { episodes, lastSeq } = await storeEpisodes(o.store, o.settings, now);
  if (episodes.length === 0) throw new UmbraError(ErrorCode.NO_DATA, 'no rewarded episodes in the store yet');
  const datasets = splitByTime(episodes, cfg.training.validation_fraction);
  const wanted = cfg.training.points.length > 0 ? cfg.training.points : datasets.map((d) => d.point);
  const tmp = o.scratchDir ?? mkdtempSync(join(tmpdir(), 'umbra-retrain-'));
  try {
    const results: { res: ChallengerResult; files: Record<string, string>; evals: Record<string, PointEvaluation> }[] = [];
    for (const epsilon of cfg.shadow_mode.challenger_epsilons) {
      const ccfg = withEpsilon(o.settings, epsilon);
      const name = `eps-${epsilon}`;
      const files: Record<string, string> = {};
      const evals: Record<string, PointEvaluation> = {};
      const points: ChallengerResult['points'] = {};
      for (const point of wanted) {
        const ds = datasets.find((d) => d.point === point);
        if (!ds || ds.train.length < cfg.training.min_episodes) continue;
        let artifact: PolicyArtifact;
        let ev: PointEvaluation;
        if (cfg.training.candidates.length === 0) {
          const trained = trainPoint(point, ds.train, ccfg);
          artifact = trained.artifact;
          ev = evaluateWindow(trained.policy, ds.validation, ccfg, o.newEpisodes);
        } else {
          // The same model selection as the pipeline: the packaged policy is the chosen candidate, retrained on the whole window.
          const sel = selectAndTrain(point, ds, ccfg, o.newEpisodes);
          artifact = sel.final.artifact;
          ev = { ...sel.holdout.evaluation, selection: sel.selection };
        }
        evals[point] = ev;
        const dir = join(tmp, name);
        files[point] = writePolicyArtifact(dir, artifact).path;
        points[point] = { n: ds.train.length, gates: ev.gates?.summary ?? null, estimate: primary(ev, ccfg).estimate, ...(ev.selection ? { candidate: ev.selection.chosen } : {}) };
      }
      if (Object.keys(files).length === 0) continue;
      const key = evals.route !== undefined ? evals.route : Object.values(evals)[0];
      const { lower, estimate } = primary(key, ccfg);
      const gatesPassed = Object.values(evals).every((e) => e.gates?.pass === true);
      results.push({ res: { name, epsilon, lower, estimate, gatesPassed, points }, files, evals });
      note(`challenger ${name}: lower bound ${lower === null ? 'n/a' : lower.toFixed(4)}, gates ${gatesPassed ? 'pass' : 'fail'}`);
    }
    if (results.length === 0) throw new UmbraError(ErrorCode.NO_DATA, `no decision point has training.min_episodes = ${cfg.training.min_episodes} episodes yet`);
    // Prefer challengers whose gates pass; among them the highest lower bound.
    results.sort((a, b) => Number(b.res.gatesPassed) - Number(a.res.gatesPassed) || (b.res.lower ?? -1) - (a.res.lower ?? -1));
    const best = results[0]!;
    const failing = Object.entries(best.evals).filter(([, e]) => e.gates?.pass !== true);
    const gates = {
      passed: failing.length === 0,
      summary: failing.length === 0 ? `offline gates passed for ${Object.keys(best.evals).join(', ')} (${best.res.name})` : failing.map(([p, e]) => `${p}: ${e.gates?.summary ?? 'not evaluated'}`).join('; '),
    };
    const bundle = o.bundles.save(best.files, {
      origin: 'shadow',
      prefix: 'cand',
      evaluation: {
        gates,
        chosen: best.res.name,
        challengers: results.map((r) => r.res),
        points: Object.fromEntries(Object.entries(best.evals).map(([p, e]) => [p, { ...compactEvaluation(e), gates: e.gates, summary: e.summary, ...(e.selection ? { selection: e.selection } : {}) }])),
      },
    });
    return { version: bundle.version, bundle, episodes: episodes.length, newEpisodes: o.newEpisodes, lastSeq, challengers: results.map((r) => r.res), chosen: best.res.name, gates };
  } finally {
    if (o.scratchDir === undefined) rmSync(tmp, { recursive: true, force: true });
  }
}
