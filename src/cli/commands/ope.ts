/**
 * `umbra ope`: off-policy estimates of a target policy on a logged file, with intervals and the
 * diagnostics that say how far to trust them. Parses the flags, runs the evaluation job
 * (src/services/jobs/ope.ts) and prints the report.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Config } from '../../core/config/index.js';
import { OPE_ESTIMATOR_NAMES } from '../../core/config/ope.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import type { OfflineGateReport } from '../../core/gates/index.js';
import type { EstimatorName, OpeEstimate, OpeReport } from '../../core/ope/index.js';
import { runOpe } from '../../services/jobs/ope.js';
import { emit, note, settingsFor, type GlobalOptions } from '../context.js';
import { globalsOf } from '../run.js';

function parseEstimators(list: string | undefined, cfg: Config): EstimatorName[] {
  if (list === undefined) return [...cfg.ope.estimators];
  const names = list.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  const known = new Set<string>(OPE_ESTIMATOR_NAMES);
  const bad = names.filter((n) => !known.has(n));
  if (bad.length > 0 || names.length === 0) {
    throw new UmbraError(ErrorCode.USAGE, `unknown estimator(s) ${bad.join(', ') || '(none given)'}; choose from ${OPE_ESTIMATOR_NAMES.join(', ')}`);
  }
  return [...new Set(names)] as EstimatorName[];
}

function num(name: string, v: string | undefined, check: (x: number) => boolean, what: string): number | undefined {
  if (v === undefined) return undefined;
  const x = Number(v);
  if (!Number.isFinite(x) || !check(x)) throw new UmbraError(ErrorCode.USAGE, `${name} must be ${what}, got "${v}"`);
  return x;
}

const f4 = (x: number | null | undefined): string => (x === null || x === undefined || !Number.isFinite(x) ? '   n/a' : x.toFixed(4));
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

function estimateRow(name: string, e: OpeEstimate, note: string): string {
  const ci = e.ci === null ? '        —         ' : `[${f4(e.ci[0])}, ${f4(e.ci[1])}]`;
  const val = e.value === null ? '  null' : f4(e.value);
  return `  ${name.padEnd(12)} ${val.padStart(8)}  ${ci.padEnd(18)}  ${f4(e.stderr).padStart(7)}  ${note}`;
}

/** The readable report (standard output without --json). */
function humanReport(r: OpeReport, ctx: { log: string; target: string; skipped: Record<string, number>; success?: OpeReport; gates?: OfflineGateReport }): string {
  const lines: string[] = [];
  const level = `${Math.round(r.confidence * 100)} %`;
  lines.push(`umbra ope — ${r.n} events from ${ctx.log}, target ${ctx.target}; ${level} intervals`);
  const sk = Object.entries(ctx.skipped).filter(([, v]) => v > 0);
  if (sk.length > 0) lines.push(`  skipped: ${sk.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  lines.push('');
  lines.push(`  ${'estimator'.padEnd(12)} ${'value'.padStart(8)}  ${`${level} interval`.padEnd(18)}  ${'stderr'.padStart(7)}  note`);
  lines.push(estimateRow('logging', r.logging, 'on-policy value of the log (mean logged reward)'));
  for (const [name, e] of Object.entries(r.estimates)) {
    if (e === undefined) continue;
    const note = e.value === null ? 'UNIDENTIFIED (see below)' : [e.label, e.interval !== 'normal' ? e.interval : undefined, e.reason !== undefined && e.label === undefined ? e.reason : undefined].filter((x) => x !== undefined).join('; ');
    lines.push(estimateRow(name, e, note));
  }
  if (ctx.success !== undefined) {
    const s = ctx.success;
    const best = s.estimates.dr ?? s.estimates.snips ?? s.estimates.ips;
    lines.push('');
    lines.push(`  success rate: log ${f4(s.logging.value)}; target ${f4(best?.value)} (${best?.method ?? 'n/a'}) over ${s.n} events with a success signal`);
  }
  const d = r.diagnostics;
  lines.push('');
  lines.push('diagnostics');
  lines.push(`  effective sample size ${d.ess.toFixed(1)} of ${d.n} (${pct(d.essRatio)}); weights mean ${d.meanWeight.toFixed(3)}, p50 ${d.weightQuantiles.p50.toFixed(3)}, p99 ${d.weightQuantiles.p99.toFixed(3)}, max ${d.maxWeight.toFixed(3)}${d.tailIndex !== null ? `, tail index ${d.tailIndex.toFixed(2)}` : ''}`);
  lines.push(`  support deficit ${pct(d.supportDeficit)} (${d.supportDeficitMethod}); agreement with the logger ${pct(d.agreementRate)} (expected ${pct(d.expectedAgreement)})${d.baselineAgreement !== null ? `; with the baseline ${pct(d.baselineAgreement)}` : ''}`);
  lines.push(`  defaulted rewards ${d.defaultedRewards}; missing propensities ${d.missingPropensities}; flags: ${d.flags.length > 0 ? d.flags.join(', ') : 'none'}`);
  const id = r.identification;
  if (id.status === 'unidentified' || id.deterministicLogger) {
    lines.push('');
    lines.push(`supported claims (deterministic logger)`);
    lines.push(`  agreement slice: ${id.agreementSlice.n} events (${pct(id.agreementSlice.share)}), logged mean reward ${f4(id.agreementSlice.value)}`);
    if (id.bounds !== null) lines.push(`  worst-case bounds of the target's value: [${f4(id.bounds.lo)}, ${f4(id.bounds.hi)}] (${level}: [${f4(id.bounds.ci[0])}, ${f4(id.bounds.ci[1])}])`);
  }
  if (r.warnings.length > 0) {
    lines.push('');
    lines.push('!! WARNINGS ' + '!'.repeat(60));
    for (const w of r.warnings) lines.push(`!! ${w}`);
    lines.push('!'.repeat(72));
  }
  if (ctx.gates !== undefined) {
    lines.push('');
    lines.push(`promotion gates (${ctx.gates.estimator}, ${ctx.gates.interval} lower bound): ${ctx.gates.verdict.toUpperCase()}`);
    for (const gt of ctx.gates.gates) lines.push(`  ${gt.pass ? 'pass' : 'FAIL'}  ${gt.name.padEnd(20)} ${gt.reason}`);
  }
  return lines.join('\n');
}

/** Register `umbra ope`. */
export function registerOpe(program: Command): void {
  program
    .command('ope')
    .description('off-policy estimates (IPS, SNIPS, DM, DR, …) of a target policy on a log, with intervals and diagnostics')
    .requiredOption('--log <file>', 'decision log or Alice telemetry (JSONL, .json array, directory or glob)')
    .option('--policy <file>', 'learned policy artifact to evaluate')
    .option('--target <file>', 'JSONL of {id, probs}: the target distribution for each logged event')
    .option('--estimators <list>', `comma-separated subset of ${OPE_ESTIMATOR_NAMES.join(',')} (default: config ope.estimators)`)
    .option('--seed <n>', 'seed of the bootstrap and of the reward model folds (default: config ope.seed)')
    .option('--bootstrap <n>', 'bootstrap resamples; 0 for none (default: config ope.bootstrap)')
    .option('--clip <c>', 'weight cap of clipped IPS (default: config ope.clip)')
    .option('--switch-tau <t>', 'Switch-DR weight threshold (default: config ope.switch_tau)')
    .option('--confidence <p>', 'confidence level of the intervals (default: promotion_criteria.confidence)')
    .option('--point <point>', 'evaluate one decision point only (default: the policy’s point, else every event)')
    .option('--allow-missing', 'skip (and count) logged events without a target line instead of failing')
    .option('--gates', 'also evaluate the promotion gates (promotion_criteria) against the log’s own value')
    .option('--new-episodes <n>', 'new episodes since the last training, for the min_episodes gate (default: events evaluated)')
    .addOption(new Option('--no-model', 'skip the reward model (DM, DR and Switch-DR are then not computed)'))
    .action(async (opts, cmd) => {
      const g: GlobalOptions = globalsOf(cmd);
      if ((opts.policy === undefined) === (opts.target === undefined)) throw new UmbraError(ErrorCode.USAGE, 'give exactly one of --policy FILE or --target FILE');
      const settings = settingsFor(g);
      const cfg = settings.config;
      const estimators = parseEstimators(opts.estimators, cfg);
      const seed = num('--seed', opts.seed, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer') ?? cfg.ope.seed;
      const bootstrap = num('--bootstrap', opts.bootstrap, (x) => Number.isInteger(x) && x >= 0 && x <= 100_000, 'an integer 0 … 100000') ?? cfg.ope.bootstrap;
      const clip = num('--clip', opts.clip, (x) => x > 0, 'a positive number') ?? cfg.ope.clip;
      const switchTau = num('--switch-tau', opts.switchTau, (x) => x > 0, 'a positive number') ?? cfg.ope.switch_tau;
      const confidence = num('--confidence', opts.confidence, (x) => x > 0.5 && x < 1, 'in (0.5, 1)') ?? cfg.promotion_criteria.confidence;
      const newEpisodes = num('--new-episodes', opts.newEpisodes, (x) => Number.isInteger(x) && x >= 0, 'a non-negative integer');

      const { result, evaluation, gates, skipped, targetName } = await runOpe({
        settings,
        log: opts.log,
        policy: opts.policy,
        target: opts.target,
        point: opts.point,
        allowMissing: opts.allowMissing,
        model: opts.model,
        gates: opts.gates,
        newEpisodes,
        estimators,
        seed,
        bootstrap,
        clip,
        switchTau,
        confidence,
        note,
      });
      const r = evaluation.report;
      emit(g, result, () =>
        humanReport(r, {
          log: opts.log,
          target: targetName,
          skipped,
          ...(evaluation.success !== undefined ? { success: evaluation.success } : {}),
          ...(gates !== undefined ? { gates } : {}),
        }),
      );
    });
}
