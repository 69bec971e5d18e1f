/**
 * The batch pipeline of the seed (`automate_rl_pipeline.py`), working: telemetry → dataset
 * (time-ordered split) → one trained policy per decision point → off-policy evaluation of the
 * validation window → content-addressed artifacts and a manifest. Each step writes its output under
 * the output directory and the next step reads it back, so steps can run one at a time; `all` runs
 * them in one go. A dry run reads and validates everything and writes nothing.
 *
 * Output directory layout:
 *   dataset/train.jsonl, dataset/validation.jsonl, dataset/manifest.json   (step dataset)
 *   models/<point>.json                                                   (step train)
 *   evaluation.json                                                       (step evaluate)
 *   <point>-<kind>-<hash16>.json, manifest.json                           (step package)
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Config } from '../../core/config/index.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { type PolicyArtifact, parseArtifact, policyFromArtifact, type Policy } from '../../core/policies/index.js';
import type { Settings } from '../../core/settings.js';
import { writeJsonAtomic } from '../../platform/fs.js';
import { AtomicLineWriter } from '../../platform/line-writer.js';
import { VERSION } from '../../version.js';
import { writePolicyArtifact } from '../artifacts/artifacts.js';
import { readEpisodes, type ReadEpisodes } from '../learning/episodes.js';
import { compactEvaluation, evaluateWindow, type CompactEvaluation, type PointEvaluation } from '../learning/evaluate.js';
import { selectAndTrain, type SelectionReport } from '../learning/select.js';
import { type Episode, EpisodeSchema, type PointDataset, type TrainedPoint, type TrainingMetrics, splitByTime, trainPoint, trainingMetrics, windowOf } from '../learning/trainer.js';

/** Pipeline steps (`all` runs the four in order). */
export const PipelineStep = {
  DATASET: 'dataset',
  TRAIN: 'train',
  EVALUATE: 'evaluate',
  PACKAGE: 'package',
  ALL: 'all',
} as const;
export type PipelineStep = (typeof PipelineStep)[keyof typeof PipelineStep];
const ORDER = ['dataset', 'train', 'evaluate', 'package'] as const;
type ConcreteStep = (typeof ORDER)[number];

/** Progress reporting (the CLI draws bars on a terminal; tests pass nothing). */
export interface ProgressSink {
  begin(label: string, total: number): void;
  tick(delta: number): void;
  end(): void;
}

/** Options of one pipeline run. */
export interface PipelineOptions {
  /** Telemetry or decision log (JSONL or a `.json` array); needed by `dataset` and `all`. */
  telemetry?: string | undefined;
  /** The compiled configuration. */
  settings: Settings;
  /** Output directory. */
  out: string;
  /** Step to run. @default "all" */
  step?: PipelineStep;
  /** Validate and plan only; write nothing. @default false */
  dryRun?: boolean;
  progress?: ProgressSink | undefined;
  /** Notes for people (stderr in the CLI). */
  note?: ((msg: string) => void) | undefined;
}

/** Per-point counts of the dataset manifest. */
export interface DatasetPointInfo {
  train: number;
  validation: number;
  trainWindow: { first: string | null; last: string | null };
  validationWindow: { first: string | null; last: string | null };
  actions: string[];
  defaultedRewards: number;
  unknownPropensity: number;
}

/** `dataset/manifest.json`. */
export interface DatasetManifest {
  format: 'umbra.dataset/v1';
  source: string | null;
  rewardHash: string;
  featureHash: string;
  configHash: string;
  validationFraction: number;
  records: number;
  invalid: number;
  invalidSamples: { at: string; reason: string }[];
  duplicates: number;
  points: Record<string, DatasetPointInfo>;
}

export type { PointEvaluation, CompactEvaluation };

/** `evaluation.json`. */
export interface EvaluationFile {
  format: 'umbra.evaluation/v1';
  points: Record<string, PointEvaluation>;
}

/** What a run did (the `--json` output of `umbra pipeline`). */
export interface PipelineSummary {
  out: string;
  steps: ConcreteStep[];
  dryRun: boolean;
  dataset?: { records: number; invalid: number; duplicates: number; points: Record<string, { train: number; validation: number; actions: string[] }> };
  trained?: Record<string, { algorithm: string; n: number; meanReward: number; actions: string[]; candidate?: string }>;
  evaluation?: Record<string, CompactEvaluation>;
  policies?: Record<string, string>;
  manifest?: string;
  plan?: string[];
  warnings: string[];
}

function firstIssue(issues: readonly { path: PropertyKey[]; message: string }[]): string {
  const i = issues[0];
  if (i === undefined) return 'invalid';
  const p = i.path.map(String).join('.');
  return p ? `${p}: ${i.message}` : i.message;
}

/** Paths inside the output directory. */
export function pipelinePaths(out: string): { datasetDir: string; train: string; validation: string; datasetManifest: string; modelsDir: string; evaluation: string; manifest: string } {
  const datasetDir = join(out, 'dataset');
  return {
    datasetDir,
    train: join(datasetDir, 'train.jsonl'),
    validation: join(datasetDir, 'validation.jsonl'),
    datasetManifest: join(datasetDir, 'manifest.json'),
    modelsDir: join(out, 'models'),
    evaluation: join(out, 'evaluation.json'),
    manifest: join(out, 'manifest.json'),
  };
}

function safeName(point: string): string {
  return point.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 64) || 'point';
}

/** Run the pipeline (one step or all). */
export async function runPipeline(opts: PipelineOptions): Promise<PipelineSummary> {
  const step = opts.step ?? PipelineStep.ALL;
  const steps: ConcreteStep[] = step === 'all' ? [...ORDER] : [step];
  const settings = opts.settings;
  const cfg = settings.config;
  const paths = pipelinePaths(opts.out);
  const note = opts.note ?? ((): void => {});
  const summary: PipelineSummary = { out: opts.out, steps, dryRun: opts.dryRun === true, warnings: [] };
  const warn = (w: string): void => {
    summary.warnings.push(w);
    note(`warning: ${w}`);
  };

  let datasets: PointDataset[] | undefined;
  let models: Map<string, { policy: Policy; artifact: PolicyArtifact }> | undefined;
  let evaluation: EvaluationFile | undefined;
  const selections = new Map<string, StoredSelection>();

  // A dry run always reads the input: validating it is the point of a dry run.
  if (steps.includes('dataset') || opts.dryRun === true) {
    if (opts.telemetry === undefined) throw new UmbraError(ErrorCode.USAGE, `--telemetry FILE is required for step ${step}${opts.dryRun === true ? ' with --dry-run' : ''}`);
    note(`reading ${basename(opts.telemetry)}`);
    const read = await readEpisodes(opts.telemetry, settings);
    if (read.invalidCount > 0) warn(`${read.invalidCount} invalid record(s) skipped; first at ${read.invalid[0]!.at}: ${read.invalid[0]!.reason}`);
    if (read.episodes.length === 0) throw new UmbraError(ErrorCode.NO_DATA, `no valid decision events in ${basename(opts.telemetry)} (${read.records} record(s), ${read.invalidCount} invalid)`, { invalid: read.invalid });
    datasets = splitByTime(read.episodes, cfg.training.validation_fraction);
    const manifest = datasetManifest(datasets, read, opts.telemetry, settings);
    summary.dataset = {
      records: read.records,
      invalid: read.invalidCount,
      duplicates: read.duplicates,
      points: Object.fromEntries(Object.entries(manifest.points).map(([p, i]) => [p, { train: i.train, validation: i.validation, actions: i.actions }])),
    };
    if (!opts.dryRun && steps.includes('dataset')) {
      writeJsonl(paths.train, datasets, (d) => d.train);
      writeJsonl(paths.validation, datasets, (d) => d.validation);
      writeJsonAtomic(paths.datasetManifest, manifest);
    }
  }

  if (opts.dryRun) {
    summary.plan = planOf(steps, datasets, cfg, opts.out);
    return summary;
  }

  if (steps.includes('train')) {
    datasets ??= readDataset(paths, settings);
    models = new Map();
    summary.trained = {};
    const wanted = cfg.training.points.length > 0 ? cfg.training.points : datasets.map((d) => d.point);
    for (const point of wanted) {
      const ds = datasets.find((d) => d.point === point);
      if (ds === undefined) {
        warn(`point ${point} is configured but has no episodes`);
        continue;
      }
      if (ds.train.length < cfg.training.min_episodes) {
        warn(`point ${point} has ${ds.train.length} training episode(s), fewer than training.min_episodes = ${cfg.training.min_episodes}; not trained`);
        continue;
      }
      let trained: TrainedPoint;
      if (cfg.training.candidates.length === 0) {
        opts.progress?.begin(`train ${point}`, ds.train.length);
        trained = trainPoint(point, ds.train, settings);
        opts.progress?.tick(ds.train.length);
        opts.progress?.end();
      } else {
        let ticked = 0;
        const sel = selectAndTrain(point, ds, settings, ds.train.length + ds.validation.length, (done, total) => {
          if (done === 0) opts.progress?.begin(`select ${point}`, total);
          opts.progress?.tick(done - ticked);
          ticked = done;
          if (done === total) opts.progress?.end();
        });
        trained = sel.final;
        selections.set(point, { selection: sel.selection, policy: sel.holdout.trained.policy, evaluation: sel.holdout.evaluation });
        writeJsonAtomic(join(paths.modelsDir, 'holdout', `${safeName(point)}.json`), sel.holdout.trained.artifact);
        writeJsonAtomic(join(paths.modelsDir, 'selection', `${safeName(point)}.json`), sel.selection);
        note(`${point}: chose ${sel.selection.chosen} of ${sel.selection.candidates.length} candidates`);
      }
      models.set(point, { policy: trained.policy, artifact: trained.artifact });
      writeJsonAtomic(join(paths.modelsDir, `${safeName(point)}.json`), trained.artifact);
      const chosen = selections.get(point)?.selection.chosen;
      summary.trained[point] = { algorithm: trained.artifact.kind, n: trained.metrics.n, meanReward: trained.metrics.meanReward, actions: trained.artifact.actions, ...(chosen !== undefined ? { candidate: chosen } : {}) };
    }
    if (models.size === 0) throw new UmbraError(ErrorCode.NO_DATA, 'no decision point had enough episodes to train', { warnings: summary.warnings });
  }

  if (steps.includes('evaluate')) {
    datasets ??= readDataset(paths, settings);
    models ??= readModels(paths);
    evaluation = { format: 'umbra.evaluation/v1', points: {} };
    for (const [point, m] of models) {
      const validation = datasets.find((d) => d.point === point)?.validation ?? [];
      opts.progress?.begin(`evaluate ${point}`, validation.length);
      const ds = datasets.find((d) => d.point === point);
      const sel = selections.get(point) ?? readSelection(paths, point);
      if (sel !== undefined) {
        // The honest number: the chosen candidate trained on the training window, on the validation window.
        const ev = sel.evaluation ?? evaluateWindow(sel.policy, validation, settings, (ds?.train.length ?? 0) + validation.length);
        evaluation.points[point] = { ...ev, selection: sel.selection };
      } else {
        evaluation.points[point] = evaluateWindow(m.policy, validation, settings, (ds?.train.length ?? 0) + validation.length);
      }
      opts.progress?.tick(validation.length);
      opts.progress?.end();
      if (validation.length === 0) warn(`point ${point} has an empty validation window (training.validation_fraction = ${cfg.training.validation_fraction})`);
    }
    writeJsonAtomic(paths.evaluation, evaluation);
    summary.evaluation = Object.fromEntries(Object.entries(evaluation.points).map(([p, e]) => [p, compactEvaluation(e)]));
  }

  if (steps.includes('package')) {
    models ??= readModels(paths);
    evaluation ??= readEvaluation(paths);
    const policies: Record<string, string> = {};
    for (const [point, m] of models) {
      const ev = evaluation?.points[point];
      // The artifact keeps the evaluation it always carried; the overlap diagnostics go to the
      // manifest only, so that an artifact's bytes (and so its content-addressed version, which
      // seeds its decisions) do not change with what the dashboard shows.
      const { diagnostics: _diagnostics, ...carried } = ev === undefined ? { diagnostics: undefined } : compactEvaluation(ev);
      const artifact: PolicyArtifact = {
        ...m.artifact,
        metrics: { ...m.artifact.metrics, ...(ev !== undefined ? { evaluation: carried } : {}) },
      };
      const { file } = writePolicyArtifact(opts.out, artifact);
      policies[point] = file;
    }
    const manifest = {
      format: 'umbra.pipeline/v1',
      createdWith: `umbra ${VERSION}`,
      policies,
      evaluation: evaluation !== undefined ? Object.fromEntries(Object.entries(evaluation.points).map(([p, e]) => [p, compactEvaluation(e)])) : {},
      config: cfg,
      configHash: settings.configHash,
      ...settings.fingerprint,
    };
    writeJsonAtomic(paths.manifest, manifest);
    summary.policies = policies;
    summary.manifest = paths.manifest;
  }
  return summary;
}

function datasetManifest(datasets: PointDataset[], read: ReadEpisodes, source: string, settings: Settings): DatasetManifest {
  const points: Record<string, DatasetPointInfo> = {};
  for (const d of datasets) {
    const all = [...d.train, ...d.validation];
    const actions = new Set<string>();
    for (const e of all) for (const a of e.actions) actions.add(a);
    const m: TrainingMetrics = trainingMetrics(all);
    const tw = windowOf(d.train);
    const vw = windowOf(d.validation);
    points[d.point] = {
      train: d.train.length,
      validation: d.validation.length,
      trainWindow: { first: tw.first, last: tw.last },
      validationWindow: { first: vw.first, last: vw.last },
      actions: [...actions].sort(),
      defaultedRewards: m.defaultedRewards,
      unknownPropensity: m.unknownPropensity,
    };
  }
  return {
    format: 'umbra.dataset/v1',
    source: basename(source),
    ...settings.fingerprint,
    configHash: settings.configHash,
    validationFraction: settings.config.training.validation_fraction,
    records: read.records,
    invalid: read.invalidCount,
    invalidSamples: read.invalid,
    duplicates: read.duplicates,
    points,
  };
}

/** Episodes as JSON lines, written atomically and streamed (no string of the whole file). */
function writeJsonl(path: string, datasets: readonly PointDataset[], part: (d: PointDataset) => readonly Episode[]): void {
  const w = new AtomicLineWriter(path);
  try {
    for (const d of datasets) for (const e of part(d)) w.write(JSON.stringify(e));
    w.close();
  } catch (e) {
    w.abort();
    throw e;
  }
}

function readJsonlEpisodes(path: string): Episode[] {
  const out: Episode[] = [];
  const lines = readFileSync(path, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const t = lines[i]!.trim();
    if (t === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(t);
    } catch (e) {
      throw new UmbraError(ErrorCode.SCHEMA, `${basename(path)} line ${i + 1} is not JSON: ${(e as Error).message}`);
    }
    const r = EpisodeSchema.safeParse(v);
    if (!r.success) throw new UmbraError(ErrorCode.SCHEMA, `${basename(path)} line ${i + 1} is not an episode: ${firstIssue(r.error.issues)}`);
    out.push(r.data);
  }
  return out;
}

function readDataset(paths: ReturnType<typeof pipelinePaths>, settings: Settings): PointDataset[] {
  if (!existsSync(paths.datasetManifest) || !existsSync(paths.train)) {
    throw new UmbraError(ErrorCode.NO_DATA, `no dataset in ${paths.datasetDir}: run \`umbra pipeline --step dataset\` first`);
  }
  const manifest = JSON.parse(readFileSync(paths.datasetManifest, 'utf8')) as Partial<DatasetManifest>;
  const rewardHash = settings.fingerprint.rewardHash;
  if (manifest.rewardHash !== rewardHash) {
    throw new UmbraError(
      ErrorCode.ARTIFACT_MISMATCH,
      `the dataset was built with reward hash ${String(manifest.rewardHash)} but the config's reward hash is ${rewardHash}: rerun \`umbra pipeline --step dataset\``,
    );
  }
  const train = readJsonlEpisodes(paths.train);
  const validation = existsSync(paths.validation) ? readJsonlEpisodes(paths.validation) : [];
  const points = [...new Set([...train, ...validation].map((e) => e.point))].sort();
  return points.map((point) => ({ point, train: train.filter((e) => e.point === point), validation: validation.filter((e) => e.point === point) }));
}

function readModels(paths: ReturnType<typeof pipelinePaths>): Map<string, { policy: Policy; artifact: PolicyArtifact }> {
  if (!existsSync(paths.modelsDir)) throw new UmbraError(ErrorCode.NO_DATA, `no trained models in ${paths.modelsDir}: run \`umbra pipeline --step train\` first`);
  const out = new Map<string, { policy: Policy; artifact: PolicyArtifact }>();
  for (const f of readdirSync(paths.modelsDir).filter((n) => n.endsWith('.json')).sort()) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(join(paths.modelsDir, f), 'utf8'));
    } catch (e) {
      throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `model ${f} is not readable JSON: ${(e as Error).message}`);
    }
    const artifact = parseArtifact(raw, `model ${f}`);
    out.set(artifact.point, { policy: policyFromArtifact(artifact), artifact });
  }
  if (out.size === 0) throw new UmbraError(ErrorCode.NO_DATA, `no trained models in ${paths.modelsDir}: run \`umbra pipeline --step train\` first`);
  return out;
}

/** A selection written by an earlier `--step train`: its report and the chosen candidate's training-window policy. */
function readSelection(paths: ReturnType<typeof pipelinePaths>, point: string): StoredSelection | undefined {
  const report = join(paths.modelsDir, 'selection', `${safeName(point)}.json`);
  const holdout = join(paths.modelsDir, 'holdout', `${safeName(point)}.json`);
  if (!existsSync(report) || !existsSync(holdout)) return undefined;
  const artifact = parseArtifact(JSON.parse(readFileSync(holdout, 'utf8')), `holdout model of ${point}`);
  return { selection: JSON.parse(readFileSync(report, 'utf8')) as SelectionReport, policy: policyFromArtifact(artifact) };
}

/** A point's selection: its report and the chosen candidate's training-window policy (with its evaluation when at hand). */
interface StoredSelection {
  selection: SelectionReport;
  policy: Policy;
  evaluation?: PointEvaluation;
}

function readEvaluation(paths: ReturnType<typeof pipelinePaths>): EvaluationFile | undefined {
  if (!existsSync(paths.evaluation)) return undefined;
  return JSON.parse(readFileSync(paths.evaluation, 'utf8')) as EvaluationFile;
}

function planOf(steps: readonly ConcreteStep[], datasets: PointDataset[] | undefined, cfg: Config, out: string): string[] {
  const plan: string[] = [];
  const points = datasets?.map((d) => d.point) ?? [];
  const trainPoints = cfg.training.points.length > 0 ? cfg.training.points : points;
  for (const s of steps) {
    if (s === 'dataset') plan.push(`dataset: time-ordered split (validation = latest ${Math.round(cfg.training.validation_fraction * 100)} %) of ${datasets?.reduce((n, d) => n + d.train.length + d.validation.length, 0) ?? 0} episodes into ${join(out, 'dataset')}`);
    if (s === 'train') {
      for (const p of trainPoints) {
        const ds = datasets?.find((d) => d.point === p);
        const n = ds?.train.length;
        const alg = artifactKindFor(cfg, p);
        if (n !== undefined && n < cfg.training.min_episodes) plan.push(`train ${p}: skipped (${n} < training.min_episodes ${cfg.training.min_episodes})`);
        else plan.push(`train ${p}: ${alg} on ${n ?? 'the stored'} training episodes → ${join(out, 'models', `${safeName(p)}.json`)}`);
      }
    }
    if (s === 'evaluate') plan.push(`evaluate: off-policy estimates on each validation window → ${join(out, 'evaluation.json')}`);
    if (s === 'package') plan.push(`package: content-addressed artifacts and ${join(out, 'manifest.json')}`);
  }
  return plan;
}

function artifactKindFor(cfg: Config, point: string): string {
  return cfg.policies.points[point]?.algorithm ?? cfg.policies.default.algorithm;
}
