/**
 * `umbra pipeline`: the seed's batch pipeline (dataset → train → evaluate → package), one step or
 * all, with a dry run that validates config and input and prints the plan without writing.
 */
import { type Command, Option } from '@commander-js/extra-typings';
import cliProgress from 'cli-progress';
import { join } from 'node:path';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { type CompactEvaluation, type PipelineSummary, type ProgressSink, runPipeline } from '../../app/jobs.js';
import { dataDirOf, emit, interactive, note, settingsFor } from '../context.js';
import { globalsOf } from '../run.js';

/** A progress sink drawing one cli-progress bar per phase on standard error. */
function progressBar(): ProgressSink {
  let bar: cliProgress.SingleBar | undefined;
  return {
    begin(label, total) {
      bar = new cliProgress.SingleBar({ format: `${label.padEnd(18)} [{bar}] {value}/{total}`, stream: process.stderr, hideCursor: true }, cliProgress.Presets.shades_classic);
      bar.start(total, 0);
    },
    tick(delta) {
      bar?.increment(delta);
    },
    end() {
      bar?.stop();
      bar = undefined;
    },
  };
}

function human(s: PipelineSummary): string {
  const lines: string[] = [];
  if (s.dryRun) lines.push('dry run: nothing written');
  if (s.dataset) {
    lines.push(`dataset: ${s.dataset.records} record(s), ${s.dataset.invalid} invalid, ${s.dataset.duplicates} duplicate(s)`);
    for (const [p, d] of Object.entries(s.dataset.points)) lines.push(`  ${p}: ${d.train} train / ${d.validation} validation, actions ${d.actions.join(', ')}`);
  }
  if (s.trained) {
    for (const [p, t] of Object.entries(s.trained)) lines.push(`trained ${p}: ${t.algorithm}${t.candidate !== undefined ? ` (candidate ${t.candidate})` : ''} on ${t.n} episodes (mean reward ${t.meanReward.toFixed(3)})`);
  }
  if (s.evaluation) {
    for (const [p, e] of Object.entries(s.evaluation)) {
      const est = Object.entries(e.estimates)
        .map(([k, v]) => `${k} ${v.value === null ? 'n/a' : v.value.toFixed(3)}`)
        .join(', ');
      lines.push(`evaluated ${p}: n ${e.n}, logger ${e.loggerValue.toFixed(3)}${est ? `, ${est}` : ''}${e.identified === false ? ' (not identified by this log)' : ''}`);
      if (e.gates !== null) lines.push(`  gates: ${e.gates.summary}`);
      if (e.selection !== undefined) lines.push(...selectionTable(e.selection));
    }
  }
  if (s.policies) for (const [p, f] of Object.entries(s.policies)) lines.push(`policy ${p}: ${f}`);
  if (s.manifest) lines.push(`manifest: ${s.manifest}`);
  if (s.plan) lines.push('plan:', ...s.plan.map((l) => `  ${l}`));
  return lines.join('\n');
}

/** The candidates of a point's model selection as an aligned table, the chosen one marked. */
export function selectionTable(sel: NonNullable<CompactEvaluation['selection']>): string[] {
  const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(4));
  const width = Math.max(9, ...sel.candidates.map((c) => c.name.length));
  const rows = sel.candidates.map((c) => `  ${c.name === sel.chosen ? '*' : ' '} ${c.name.padEnd(width)}  ${c.algorithm.padEnd(8)}  ${f(c.value).padStart(8)}  ${f(c.lower).padStart(8)}`);
  return [`  selection (highest lower bound wins; * chosen):`, `    ${'candidate'.padEnd(width)}  ${'kind'.padEnd(8)}  ${'estimate'.padStart(8)}  ${'lower'.padStart(8)}`, ...rows];
}

/** Register `umbra pipeline`. */
export function registerPipeline(program: Command): void {
  program
    .command('pipeline')
    .description('build the dataset, train a policy per decision point, evaluate it off-policy, package artifacts')
    .option('--telemetry <file>', 'telemetry or decision log (JSONL or a .json array); needed by the dataset step')
    .addOption(new Option('--step <step>', 'step to run').choices(['dataset', 'train', 'evaluate', 'package', 'all'] as const).default('all' as const))
    .option('--out <dir>', 'output directory (default: <data-dir>/pipeline)')
    .option('--dry-run', 'validate config and input and print the plan; write nothing')
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const settings = settingsFor(g);
      const out = opts.out ?? join(dataDirOf(g), 'pipeline');
      if ((opts.step === 'dataset' || opts.step === 'all' || opts.dryRun === true) && opts.telemetry === undefined) {
        throw new UmbraError(ErrorCode.USAGE, `--telemetry FILE is required for --step ${opts.step}${opts.dryRun ? ' (and --dry-run)' : ''}`);
      }
      const summary = await runPipeline({
        telemetry: opts.telemetry,
        settings,
        out,
        step: opts.step,
        dryRun: opts.dryRun === true,
        progress: interactive(g) ? progressBar() : undefined,
        note: g.json ? undefined : note,
      });
      emit(g, summary, () => human(summary));
    });
}
