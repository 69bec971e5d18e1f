/**
 * `umbra rollout status|promote|pause|resume|abort|rollback|retry|history|verify`: the rollout
 * state machine by hand. Every command works on the data directory's store, so it sees and
 * changes the same state as a running `umbra serve` (which picks changes up within a second).
 */
import { Command } from '@commander-js/extra-typings';
import { userInfo } from 'node:os';
import { emit, settingsFor, withApp } from '../context.js';
import { parseIntFlag, parseTime } from '../flags.js';
import { globalsOf } from '../run.js';
import { runAction, type ManualAction } from '../../services/rollout/manual.js';
import { checkArtifacts, registerCandidate, resolveArtifacts } from '../../services/rollout/register.js';
import { buildStatus } from '../../services/monitoring/status.js';
import { ErrorCode, EXIT_STATUS, UmbraError } from '../../core/errors.js';
import { anchorOf } from '../../services/rollout/anchor.js';
import { auditProblemText, auditSummary, type AuditCheck } from '../../services/rollout/state.js';

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

const pct = (x: number | null): string => (x === null ? 'n/a' : `${(100 * x).toFixed(1)} %`);

/** Human rendering of a status object (shared with `shadow status`). */
export function statusText(s: { stage: string; champion: string; candidate: string | null; canaryWeight: number; since: string; kpis: Record<string, number | null>; kpiWindow: number }): string {
  return [
    `stage        ${s.stage}${s.stage === 'canary' ? ` (${(s.canaryWeight * 100).toFixed(1)} % of sticky keys, plus an equal control slice)` : ''}`,
    `champion     ${s.champion}`,
    `candidate    ${s.candidate ?? '(none)'}`,
    `since        ${s.since}`,
    `KPIs over the last ${s.kpiWindow} route decisions:`,
    `  tool precision ${pct(s.kpis.toolPrecision ?? null)}   success ${pct(s.kpis.successRate ?? null)}   p95 latency ${s.kpis.p95LatencyMs === null || s.kpis.p95LatencyMs === undefined ? 'n/a' : `${Math.round(s.kpis.p95LatencyMs)} ms`}   cache hits ${pct(s.kpis.cacheHitRate ?? null)}   policy value ${s.kpis.policyValue === null || s.kpis.policyValue === undefined ? 'n/a' : s.kpis.policyValue.toFixed(3)}`,
  ].join('\n');
}

const VERIFY_HELP =
  'verify the audit log: rows, hash chain, MACs (with the audit key), the stored state against the fold of the records, and the anchored heads (detects edited, deleted, inserted, forged or cut records and an edited state)';

/** The `verify` sub-command, under `rollout` and under `audit` (the same check). */
function addVerify(parent: Command): void {
  parent
    .command('verify')
    .description(VERIFY_HELP)
    .option('--anchor <file|seq:hash>', 'also check that the log reaches this head: a head file (JSON lines) or SEQ:HASH, e.g. from a webhook receiver (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (opts: { anchor?: string[] }, cmd) => {
      const g = globalsOf(cmd);
      await withApp(g, async (x) => {
        const v = await x.rollout.verify((opts.anchor ?? []).map(anchorOf));
        emit(g, verifyReport(v), () => verifyText(v));
        if (!v.ok) process.exitCode = EXIT_STATUS[ErrorCode.AUDIT_TAMPERED];
      });
    });
}

/** `umbra audit verify`: the audit log's check on its own (the same as `rollout verify`). */
export function registerAudit(program: Command): void {
  const audit = new Command('audit').description('the tamper-evident audit log of the rollout');
  addVerify(audit);
  program.addCommand(audit);
}

/** `rollout verify --json`: the verdict, the first problem (field named), keys and anchors. */
function verifyReport(v: AuditCheck): Record<string, unknown> {
  return {
    ok: v.ok,
    records: v.records,
    rows: v.rows,
    head: v.head,
    keys: v.keys,
    anchors: v.anchors,
    ...(v.problem ? { problem: v.problem, firstBad: { seq: v.problem.seq ?? v.records, reason: auditProblemText(v) } } : {}),
  };
}

function verifyText(v: AuditCheck): string {
  const lines = [v.ok ? `audit log OK: ${v.records} records in ${v.rows} transitions; chain intact; stored state matches the records` : `audit log TAMPERED at ${auditProblemText(v)}`];
  lines.push(`keys: ${v.keys.status}: ${v.keys.message}`);
  for (const a of v.anchors) lines.push(`anchor ${a.status.padEnd(7)} ${a.name}: ${a.message}`);
  return lines.join('\n');
}

export function registerRollout(program: Command): void {
  const rollout = new Command('rollout').description('the rollout state machine by hand: shadow → canary → production, with rollback');
  rollout
    .command('status')
    .description('stage, champion, candidate, canary weight and KPIs')
    .action(async (_o, cmd) => {
      const g = globalsOf(cmd);
      await withApp(g, async (x) => {
        const { episodes: _e, state: _s, ...s } = await buildStatus({ store: x.store, rollout: x.rollout, settings: x.settings });
        const audit = x.rollout.audit;
        const untrusted = audit !== undefined && !audit.ok;
        emit(g, { ...s, audit: audit === undefined ? null : auditSummary(audit) }, () => (untrusted ? `AUDIT LOG DOES NOT VERIFY — only the baseline serves: ${auditProblemText(audit)}\n` : '') + statusText(s));
        if (untrusted) process.exitCode = EXIT_STATUS[ErrorCode.AUDIT_TAMPERED];
      });
    });
  const actions: { name: ManualAction; desc: string; needsReason: boolean }[] = [
    { name: 'promote', desc: 'shadow → canary, or canary → production, if every gate passes (--force --reason to override, recorded)', needsReason: false },
    { name: 'pause', desc: 'pause the candidate (canary exposure drops to 0 at once)', needsReason: true },
    { name: 'resume', desc: 'resume a paused candidate (gates re-checked)', needsReason: true },
    { name: 'abort', desc: 'abort the candidate: exposure 0 at once', needsReason: true },
    { name: 'rollback', desc: 'roll back at once: the candidate leaves canary, or production returns to the previous champion', needsReason: true },
    { name: 'retry', desc: 'send a rolled-back or aborted candidate back to shadow (after the cooldown)', needsReason: true },
  ];
  for (const a of actions) {
    const c = rollout
      .command(a.name)
      .description(a.desc)
      .option('--reason <text>', `why${a.needsReason ? ' (required)' : ''}; recorded in the audit log`);
    if (a.name === 'promote') c.option('--force', 'promote although a gate fails (needs --reason)').option('--weight <fraction>', 'canary weight for shadow → canary (default rollout.canary_weight)', Number);
    if (a.name === 'retry') c.option('--id <version>', 'version to retry (default: the last candidate)');
    c.action(async (opts: { reason?: string; force?: boolean; weight?: number; id?: string }, cmd) => {
      const g = globalsOf(cmd);
      if (a.needsReason && !opts.reason?.trim()) throw new UmbraError(ErrorCode.USAGE, `rollout ${a.name} needs --reason TEXT`);
      await withApp(g, async (x) => {
        const r = await runAction(a.name, { store: x.store, rollout: x.rollout, settings: x.settings, bundles: x.bundles, actor: actor(), ...(opts.reason === undefined ? {} : { reason: opts.reason }), ...(opts.force ? { force: true } : {}), ...(opts.weight === undefined ? {} : { weight: opts.weight }), ...(opts.id === undefined ? {} : { id: opts.id }) });
        const st = await x.rollout.status();
        emit(g, { ok: true, ...st, records: r.records.map((rec) => ({ seq: rec.seq, event: rec.event, version: rec.version, from: rec.from, to: rec.to })) }, () => r.records.map((rec) => `${rec.version}: ${rec.from ?? '-'} → ${rec.to} (${rec.event})`).join('\n') + `\nstage now: ${st.stage}`);
      });
    });
  }
  rollout
    .command('register')
    .description('put a trained policy into the shadow: checks the artifact (hashes, compatibility with this config), carries its offline evaluation, registers it and starts its shadow, audited')
    .requiredOption('--artifact <file>', 'a policy artifact, or a manifest.json of `umbra pipeline` (or its directory)')
    .option('--point <point>', 'only this decision point of a manifest (an artifact must be for this point)')
    .requiredOption('--reason <text>', 'why; recorded in the audit log')
    .action(async (opts: { artifact: string; point?: string; reason: string }, cmd) => {
      const g = globalsOf(cmd);
      if (!opts.reason.trim()) throw new UmbraError(ErrorCode.USAGE, 'rollout register needs --reason TEXT');
      // Checked before the data directory is touched: a refused artifact leaves nothing behind.
      checkArtifacts(resolveArtifacts(opts.artifact, opts.point).policies, settingsFor(g));
      await withApp(g, async (x) => {
        const r = await registerCandidate({ rollout: x.rollout, bundles: x.bundles, settings: x.settings }, { artifact: opts.artifact, ...(opts.point === undefined ? {} : { point: opts.point }), reason: opts.reason, actor: actor() });
        const st = await x.rollout.status();
        emit(
          g,
          { ok: true, version: r.version, points: r.points, offline: r.offline, ...st, records: r.applied.records.map((rec) => ({ seq: rec.seq, event: rec.event, version: rec.version, from: rec.from, to: rec.to })) },
          () => [...r.applied.records.map((rec) => `${rec.version}: ${rec.from ?? '-'} → ${rec.to} (${rec.event})`), `points: ${r.points.join(', ')}; offline: ${r.offline === null ? 'no evaluation carried' : r.offline.summary}`, `stage now: ${st.stage} (a running \`umbra serve\` scores it in the shadow within a second)`].join('\n'),
        );
      }, undefined, true);
    });
  rollout
    .command('history')
    .description('the audit log; with --at TIME, which policy served production then')
    .option('--at <time>', 'ISO-8601 time or epoch milliseconds')
    .option('--limit <n>', 'most recent records to show (an integer >= 1)', (v: string) => parseIntFlag(v, '--limit', 1))
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const at = opts.at === undefined ? undefined : parseTime(opts.at, '--at');
      await withApp(g, async (x) => {
        if (opts.at !== undefined && at !== undefined) {
          const t = at;
          const c = await x.rollout.championAt(t);
          emit(g, { at: opts.at, ...c }, () => `at ${opts.at}: ${c.champion} served production${c.since ? ` (since ${c.since})` : ' (the caller’s own rules: nothing recorded before)'}`);
          return;
        }
        const all = await x.rollout.history();
        const recs = opts.limit ? all.slice(-opts.limit) : all;
        emit(g, { records: recs }, () => recs.map((r) => `${String(r.seq).padStart(4)} ${r.ts} ${r.event.padEnd(10)} ${(r.version ?? '').padEnd(20)} ${r.from ?? '-'} → ${r.to ?? '-'}  by ${r.actor}${r.reason ? `: ${r.reason}` : ''}`).join('\n'));
      });
    });
  addVerify(rollout);
  rollout
    .command('seal')
    .description('sign an audit log that has no signed record yet (written before audit keys or before UMBRA_AUDIT_KEY was set): one signed record vouching for all before it')
    .requiredOption('--reason <text>', 'why; recorded in the audit log')
    .action(async (opts: { reason: string }, cmd) => {
      const g = globalsOf(cmd);
      await withApp(g, async (x) => {
        const r = await x.rollout.seal(actor(), opts.reason);
        const last = r.records[r.records.length - 1]!;
        emit(g, { ok: true, seq: last.seq, hash: last.hash, keyId: last.keyId }, () => `sealed: record ${last.seq} (key ${last.keyId}) signs the ${last.seq} records before it`);
      });
    });
  program.addCommand(rollout);
}
