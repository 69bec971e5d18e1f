/**
 * Off-policy evaluation of a target policy on a logged file (`umbra ope`): the log read through the
 * ingestion code path (any telemetry shape Umbra knows, or the canonical decision log), the target
 * a learned policy artifact or one `{id, probs}` line per logged event, joined by id; DM and DR use
 * a ridge reward model cross-fitted on the log's own features (the shared feature map); the offline
 * gates on request.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { PROB_SUM_TOLERANCE, TargetProbsSchema, type DecisionEvent } from '../../core/events.js';
import { FeatureMap } from '../../core/features/index.js';
import { evaluateOfflineGates, type OfflineGateReport } from '../../core/gates/index.js';
import { evaluateLog, type EstimatorName, type LogEvaluation, type TargetDistribution } from '../../core/ope/index.js';
import type { Settings } from '../../core/settings.js';
import { loadLog } from '../../ingest/load.js';
import { readRecords } from '../../platform/fs.js';
import { loadPolicyArtifact } from '../artifacts/artifacts.js';

/** What to evaluate and how (the CLI's flags, resolved against the config). */
export interface OpeJobOptions {
  settings: Settings;
  /** Decision log or telemetry: JSONL, a .json array, a directory or a glob. */
  log: string;
  /** A learned policy artifact to evaluate (exactly one of `policy` and `target`). */
  policy?: string | undefined;
  /** A JSONL file of `{id, probs}`: the target distribution of each logged event. */
  target?: string | undefined;
  /** Evaluate one decision point only. @default the policy's point, else every event */
  point?: string | undefined;
  /** Skip (and count) events without a target line instead of failing. */
  allowMissing?: boolean | undefined;
  /** Fit the reward model (DM, DR, Switch-DR). @default true */
  model?: boolean | undefined;
  /** Also evaluate the offline gates against the log's own value. */
  gates?: boolean | undefined;
  /** New episodes since the last training, for the min_episodes gate. @default events evaluated */
  newEpisodes?: number | undefined;
  estimators: EstimatorName[];
  seed: number;
  bootstrap: number;
  clip: number;
  switchTau: number;
  confidence: number;
  /** Notes for people. */
  note?: (msg: string) => void;
}

/** What an evaluation produced: the `--json` result and the parts the human report shows. */
export interface OpeJobResult {
  result: Record<string, unknown>;
  evaluation: LogEvaluation;
  gates: OfflineGateReport | undefined;
  skipped: Record<string, number>;
  targetName: string;
}

/** One logged decision as the evaluation sees it. */
interface LoggedDecision {
  event: DecisionEvent;
  reward: number;
  defaulted: boolean;
  success: boolean | undefined;
}

/** The log read through the ingestion path (the only reader of `--log`). */
async function readLog(path: string, settings: Settings, point: string | undefined): Promise<{ decisions: LoggedDecision[]; quarantined: number; duplicates: number; points: string[] }> {
  const loaded = await loadLog(path, { config: settings.config, reward: settings.reward });
  const points = [...new Set(loaded.episodes.map((e) => e.event.point))].sort();
  const episodes = point === undefined ? loaded.episodes : loaded.episodesFor(point);
  const decisions = episodes.map((e) => ({ event: e.event, reward: e.reward, defaulted: e.defaulted, success: e.event.outcome?.success }));
  return { decisions, quarantined: loaded.counts.quarantined.total, duplicates: loaded.counts.duplicates, points };
}

/** Target distributions by event id from a `{id, probs}` JSONL file; bad lines are errors (it is the user's own file). */
async function readTargets(path: string): Promise<Map<string, TargetDistribution>> {
  const out = new Map<string, TargetDistribution>();
  for await (const rec of readRecords(path)) {
    if (rec.error !== undefined) throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line} is not JSON: ${rec.error}`, { line: rec.line });
    const r = TargetProbsSchema.safeParse(rec.value);
    if (!r.success) {
      const i = r.error.issues[0];
      const where = i !== undefined && i.path.length > 0 ? `${i.path.map(String).join('.')}: ` : '';
      throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line} is not a target line {id, probs}: ${where}${i?.message ?? 'invalid'}`, { line: rec.line });
    }
    const sum = Object.values(r.data.probs).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > PROB_SUM_TOLERANCE) {
      throw new UmbraError(ErrorCode.SCHEMA, `${path} line ${rec.line}: probs of "${r.data.id}" sum to ${sum}, not 1`, { line: rec.line, id: r.data.id });
    }
    out.set(r.data.id, r.data.probs);
  }
  return out;
}

/** The featurisation behind the reward model: the shared feature map, fitted on the log's contexts. */
function featuresOf(events: readonly DecisionEvent[], settings: Settings): Float64Array[] {
  const map = FeatureMap.fit(settings.features, events.map((e) => e.context));
  return events.map((e) => map.featurize(e.context));
}

/** Evaluate the target on the log (see the module comment). */
export async function runOpe(o: OpeJobOptions): Promise<OpeJobResult> {
  const settings = o.settings;
  const cfg = settings.config;
  const { estimators, seed, bootstrap, clip, switchTau, confidence, newEpisodes } = o;
  if ((o.policy === undefined) === (o.target === undefined)) throw new UmbraError(ErrorCode.USAGE, 'give exactly one of --policy FILE or --target FILE');
    const loaded = o.policy === undefined ? undefined : loadPolicyArtifact(o.policy);
    const point = o.point ?? loaded?.policy.point;
    const log = await readLog(o.log, settings, point);
    if (point === undefined && log.points.length > 1) o.note?.(`the log holds decision points ${log.points.join(', ')}; evaluating all of them (choose one with --point)`);
    const skipped: Record<string, number> = { quarantined: log.quarantined, duplicates: log.duplicates, noTarget: 0, badTarget: 0 };

    // Join the target with the log.
    let decisions = log.decisions;
    let targets: TargetDistribution[];
    let targetName: string;
    if (loaded !== undefined) {
      const p = loaded.policy;
      targetName = loaded.version;
      targets = decisions.map((d) => {
        const b = d.event.baseline;
        const probs = p.probs(d.event.context, d.event.actions, b);
        return Object.fromEntries(d.event.actions.map((a, i) => [a, probs[i] ?? 0]));
      });
    } else {
      const byId = await readTargets(o.target!);
      targetName = o.target!;
      const missing = decisions.filter((d) => !byId.has(d.event.id));
      const skip = o.allowMissing === true || cfg.ope.missing_target === 'skip';
      if (missing.length > 0 && !skip) {
        const ex = missing.slice(0, 5).map((d) => d.event.id);
        throw new UmbraError(
          ErrorCode.SCHEMA,
          `${missing.length} of ${decisions.length} logged events have no line in ${o.target} (e.g. ${ex.join(', ')}); ` +
            'an estimate on a subset may be biased: give every event a target, or pass --allow-missing to skip and count them',
          { missing: missing.length, examples: ex },
        );
      }
      skipped.noTarget = missing.length;
      decisions = decisions.filter((d) => byId.has(d.event.id));
      const ok: LoggedDecision[] = [];
      targets = [];
      for (const d of decisions) {
        const t = byId.get(d.event.id)!;
        const foreign = Object.keys(t).filter((a) => !d.event.actions.includes(a) && (t[a] ?? 0) > 0);
        if (foreign.length > 0) {
          if (!skip) throw new UmbraError(ErrorCode.SCHEMA, `target of "${d.event.id}" gives probability to ${foreign.join(', ')}, not among the event's actions ${d.event.actions.join(', ')}`);
          skipped.badTarget = (skipped.badTarget ?? 0) + 1;
          continue;
        }
        ok.push(d);
        targets.push(Object.fromEntries(Object.entries(t).filter(([a]) => d.event.actions.includes(a))));
      }
      decisions = ok;
    }
    if (decisions.length === 0) throw new UmbraError(ErrorCode.NO_DATA, `no logged events to evaluate in ${o.log}${point !== undefined ? ` (point ${point})` : ''}`);

    const events = decisions.map((d) => d.event);
    const input = {
      events,
      rewards: decisions.map((d) => d.reward),
      defaulted: decisions.map((d) => d.defaulted),
      success: decisions.map((d) => d.success),
      targets,
      ...(o.model === false ? {} : { features: featuresOf(events, settings) }),
    };
    const evaluation: LogEvaluation = evaluateLog(input, {
      estimators,
      clip,
      switchTau,
      confidence,
      bootstrap,
      seed,
      minEss: cfg.ope.min_ess_warn,
      maxTailIndex: cfg.ope.max_tail_index,
      supportWarn: cfg.ope.support_warn,
      folds: cfg.ope.model_folds,
      lambda: cfg.ope.model_lambda,
    });
    const r = evaluation.report;
    const gates =
      o.gates === true
        ? evaluateOfflineGates(
            { candidate: r, ...(evaluation.success !== undefined ? { candidateSuccess: evaluation.success } : {}), newEpisodes: newEpisodes ?? r.n },
            { ...cfg.promotion_criteria, confidence },
            { interval: cfg.ope.gate_interval },
          )
        : undefined;
    const result = {
      n: r.n,
      log: { path: o.log, events: log.decisions.length, skipped },
      target: targetName,
      ...(point !== undefined ? { point } : {}),
      confidence: r.confidence,
      estimates: r.estimates,
      logging: r.logging,
      diagnostics: r.diagnostics,
      identification: r.identification,
      warnings: r.warnings,
      invalid: r.invalid,
      settings: { ...r.settings, model: o.model !== false, folds: cfg.ope.model_folds, lambda: cfg.ope.model_lambda },
      ...(evaluation.success !== undefined
        ? { success: { n: evaluation.success.n, logging: evaluation.success.logging, estimates: evaluation.success.estimates } }
        : {}),
      ...(gates !== undefined ? { gates } : {}),
    };
  return { result, evaluation, gates, skipped, targetName };
}
