/**
 * Off-policy evaluation of a target policy on a logged file (`umbra ope`): the log read through the
 * ingestion code path (any telemetry shape Umbra knows, or the canonical decision log) into columns,
 * the target a learned policy artifact or one `{id, probs}` line per logged event, streamed and
 * joined by id into the same columns; DM and DR use a ridge reward model cross-fitted on the log's
 * own features (the shared feature map, as sparse rows); the offline gates on request.
 */
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { FeatureMap } from '../../core/features/index.js';
import { evaluateOfflineGates, type OfflineGateReport } from '../../core/gates/index.js';
import { allocateColumns, evaluateColumnsWith, type EstimatorName, type LogEvaluation, type OpeColumns } from '../../core/ope/index.js';
import type { Settings } from '../../core/settings.js';
import { readLogTable } from '../../ingest/read-log.js';
import type { SparseRows } from '../../core/features/rows.js';
import type { DecisionRows } from '../../store/table/decision-rows.js';
import { loadPolicyArtifact } from '../artifacts/artifacts.js';
import { collectGarbage } from '../../platform/gc.js';
import { parallelBootstrap } from './parallel-bootstrap.js';
import { readTargetColumnsAsync, type TargetColumns } from './target-file.js';

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

/** Slot offsets of events: event k of `rows` has the actions of its table row. */
function slotOffsets(table: { rows: DecisionRows }, rows: ArrayLike<number>): Int32Array {
  const off = new Int32Array(rows.length + 1);
  for (let k = 0; k < rows.length; k++) off[k + 1] = off[k]! + table.rows.actionsAt(rows[k]!).length;
  return off;
}

/**
 * The target file's columns joined with the events `rows` of the table: each event's probabilities
 * in its slots. Later lines for an id replace earlier ones; lines for other ids are ignored.
 */
function joinTargets(t: TargetColumns, table: { rows: DecisionRows }, rows: Int32Array, off: Int32Array): { probs: Float64Array; seen: Uint8Array; foreign: Map<number, string[]> } {
  const probs = new Float64Array(off[rows.length]!);
  const seen = new Uint8Array(rows.length);
  const foreign = new Map<number, string[]>();
  const posOfRow = new Int32Array(table.rows.size).fill(-1);
  for (let k = 0; k < rows.length; k++) posOfRow[rows[k]!] = k;
  for (let line = 0; line < t.ids.length; line++) {
    const row = table.rows.rowOf(t.ids[line]!);
    const k = row < 0 ? -1 : posOfRow[row]!;
    if (k < 0) continue;
    const actions = table.rows.actionsAt(row);
    const o = off[k]!;
    probs.fill(0, o, off[k + 1]!);
    foreign.delete(k);
    for (let q = t.off[line]!; q < t.off[line + 1]!; q++) {
      const a = t.names[t.name[q]!]!;
      const j = actions.indexOf(a);
      const p = t.prob[q]!;
      if (j >= 0) probs[o + j] = p;
      else if (p > 0) foreign.set(k, [...(foreign.get(k) ?? []), a]);
    }
    seen[k] = 1;
  }
  return { probs, seen, foreign };
}

/** The OPE columns of the events `rows` with their target probabilities; global actions in order of first appearance. */
function columnsOf(table: { rows: DecisionRows }, rows: Int32Array, resolved: { reward: Float64Array; defaulted: Uint8Array; success: Int8Array }, at: Int32Array, targets: Float64Array, targetOff: Int32Array): { columns: OpeColumns; actions: string[] } {
  const n = rows.length;
  const off = new Int32Array(n + 1);
  for (let k = 0; k < n; k++) off[k + 1] = off[k]! + (targetOff[k + 1]! - targetOff[k]!);
  const slots = off[n]!;
  const globalOf = new Map<string, number>();
  const { slotAction, targetProbs, loggingProbs, hasProbs, action, loggingProb, baseline, reward, defaulted, success } = allocateColumns(n, slots);
  for (let k = 0; k < n; k++) {
    const row = rows[k]!;
    const actions = table.rows.actionsAt(row);
    const o = off[k]!;
    const withProbs = table.rows.hasProbs(row);
    for (let j = 0; j < actions.length; j++) {
      let g = globalOf.get(actions[j]!);
      if (g === undefined) {
        g = globalOf.size;
        globalOf.set(actions[j]!, g);
      }
      slotAction[o + j] = g;
      targetProbs[o + j] = targets[targetOff[k]! + j]!;
      loggingProbs[o + j] = withProbs ? table.rows.probAt(row, j)! : NaN;
    }
    const a = table.rows.actionIndexAt(row);
    action[k] = a;
    const p = table.rows.propensityAt(row);
    loggingProb[k] = Number.isNaN(p) && withProbs ? table.rows.probAt(row, a)! : p;
    hasProbs[k] = withProbs ? 1 : 0;
    baseline[k] = table.rows.baselineAt(row);
    const i = at[k]!;
    reward[k] = resolved.reward[i]!;
    defaulted[k] = resolved.defaulted[i]!;
    success[k] = resolved.success[i]!;
  }
  return { columns: { n, off, slotAction, nActions: globalOf.size, action, loggingProb, loggingProbs, hasProbs, targetProbs, baseline, reward, defaulted, success }, actions: [...globalOf.keys()] };
}

/** The log and its target as OPE columns (the log's table is dropped once they are made). */
interface LoadedColumns {
  columns: OpeColumns;
  actions: string[];
  events: number;
  skipped: Record<string, number>;
  targetName: string;
}

/**
 * Read the log, join the target, make the columns and the reward model's features. A function of
 * its own so that the log's table, which the evaluation does not read, is garbage once it returns.
 */
async function loadColumns(o: OpeJobOptions, loaded: ReturnType<typeof loadPolicyArtifact> | undefined, point: string | undefined): Promise<LoadedColumns> {
  const settings = o.settings;
  const cfg = settings.config;
  // A large target file is parsed on another thread while this one reads the log (two cores, two files).
  const pendingTargets = o.target !== undefined ? readTargetColumnsAsync(o.target) : undefined;
  let log: Awaited<ReturnType<typeof readLogTable>>;
  try {
    log = await readLogTable(o.log, { config: cfg, reward: settings.reward });
  } catch (e) {
    pendingTargets?.cancel();
    throw e;
  }
  const { table, resolved } = log;

  // The decisions of the point (all points when none is given), in log order.
  const points = new Set<string>();
  let m = 0;
  const at = new Int32Array(resolved.rows.length);
  for (let i = 0; i < resolved.rows.length; i++) {
    const p = table.rows.pointAt(resolved.rows[i]!);
    points.add(p);
    if (point === undefined || p === point) at[m++] = i;
  }
  const pointList = [...points].sort();
  // Points have different actions, rewards and loggers: one estimate over a mix means nothing.
  if (point === undefined && pointList.length > 1) {
    pendingTargets?.cancel();
    throw new UmbraError(ErrorCode.USAGE, `the log holds decision points ${pointList.join(', ')}: an estimate over several points mixes different decisions; choose one with --point`, { points: pointList });
  }
  const skipped: Record<string, number> = { quarantined: log.counts.quarantined.total, duplicates: log.counts.duplicates, noTarget: 0, badTarget: 0 };
  const events = m;
  let pick = at.subarray(0, m);
  let rows = Int32Array.from(pick, (i) => resolved.rows[i]!);
  let off = slotOffsets(table, rows);

  // The reward model's features: fitted and computed for every event while the target file may
  // still be parsed on its thread; again for the joined events only if the join drops some.
  const featuresOf = (rs: Int32Array): SparseRows => {
    const contexts = Array.from(rs, (row) => table.rows.contextAt(row));
    return FeatureMap.fit(settings.features, contexts).featurizeRows(contexts, rs.length);
  };
  let features: SparseRows | undefined;
  const featuredRows = rows;
  try {
    if (o.model !== false) features = featuresOf(rows);
  } catch (e) {
    pendingTargets?.cancel();
    throw e;
  }

  // Join the target with the log.
  let targets: Float64Array;
  let targetName: string;
  if (loaded !== undefined) {
    const p = loaded.policy;
    targetName = loaded.version;
    targets = new Float64Array(off[rows.length]!);
    for (let k = 0; k < rows.length; k++) {
      const row = rows[k]!;
      const actions = table.rows.actionsAt(row);
      const b = table.rows.baselineAt(row);
      targets.set(p.probs(table.rows.contextAt(row), actions, b >= 0 ? actions[b] : undefined), off[k]!);
    }
  } else {
    targetName = o.target!;
    const joined = joinTargets(await pendingTargets!.columns, table, rows, off);
    const skip = o.allowMissing === true || cfg.ope.missing_target === 'skip';
    let missing = 0;
    const ex: string[] = [];
    for (let k = 0; k < rows.length; k++) {
      if (joined.seen[k] === 1) continue;
      missing++;
      if (ex.length < 5) ex.push(table.rows.idAt(rows[k]!));
    }
    if (missing > 0 && !skip) {
      throw new UmbraError(
        ErrorCode.SCHEMA,
        `${missing} of ${rows.length} logged events have no line in ${o.target} (e.g. ${ex.join(', ')}); ` +
          'an estimate on a subset may be biased: give every event a target, or pass --allow-missing to skip and count them',
        { missing, examples: ex },
      );
    }
    skipped.noTarget = missing;
    const keep: number[] = [];
    for (let k = 0; k < rows.length; k++) {
      if (joined.seen[k] !== 1) continue;
      const foreign = joined.foreign.get(k);
      if (foreign !== undefined) {
        const actions = table.rows.actionsAt(rows[k]!);
        if (!skip) throw new UmbraError(ErrorCode.SCHEMA, `target of "${table.rows.idAt(rows[k]!)}" gives probability to ${foreign.join(', ')}, not among the event's actions ${actions.join(', ')}`);
        skipped.badTarget = (skipped.badTarget ?? 0) + 1;
        continue;
      }
      keep.push(k);
    }
    targets = joined.probs;
    if (keep.length < rows.length) {
      // Keep the joined events only, with their slots.
      const kept = new Int32Array(keep.length);
      const keptPick = new Int32Array(keep.length);
      const keptOff = new Int32Array(keep.length + 1);
      let slots = 0;
      for (let j = 0; j < keep.length; j++) slots += off[keep[j]! + 1]! - off[keep[j]!]!;
      const keptTargets = new Float64Array(slots);
      for (let j = 0; j < keep.length; j++) {
        const k = keep[j]!;
        kept[j] = rows[k]!;
        keptPick[j] = pick[k]!;
        keptTargets.set(targets.subarray(off[k]!, off[k + 1]!), keptOff[j]!);
        keptOff[j + 1] = keptOff[j]! + off[k + 1]! - off[k]!;
      }
      rows = kept;
      pick = keptPick;
      off = keptOff;
      targets = keptTargets;
    }
  }
  if (rows.length === 0) throw new UmbraError(ErrorCode.NO_DATA, `no logged events to evaluate in ${o.log}${point !== undefined ? ` (point ${point})` : ''}`);

  const { columns, actions } = columnsOf(table, rows, resolved, pick, targets, off);
  if (o.model !== false) {
    columns.features = featuredRows === rows && features !== undefined ? features : featuresOf(rows);
  }
  return { columns, actions, events, skipped, targetName };
}

/** Evaluate the target on the log (see the module comment). */
export async function runOpe(o: OpeJobOptions): Promise<OpeJobResult> {
  const settings = o.settings;
  const cfg = settings.config;
  const { estimators, seed, bootstrap, clip, switchTau, confidence, newEpisodes } = o;
  if ((o.policy === undefined) === (o.target === undefined)) throw new UmbraError(ErrorCode.USAGE, 'give exactly one of --policy FILE or --target FILE');
  const loaded = o.policy === undefined ? undefined : loadPolicyArtifact(o.policy);
  const point = o.point ?? loaded?.policy.point;
  const { columns, actions, events, skipped, targetName } = await loadColumns(o, loaded, point);
  // The log's table is garbage now: return it before the evaluation allocates (lower peak memory).
  collectGarbage();
  const evaluation: LogEvaluation = await evaluateColumnsWith(columns, actions, {
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
  }, parallelBootstrap);
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
    log: { path: o.log, events, skipped },
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
