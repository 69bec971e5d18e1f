/**
 * `umbra shadow start|stop|status|compare|promote|rollback` (the seed's `--action X` works too).
 * `start` runs the controller in the foreground until SIGINT/SIGTERM, or in the background with
 * `--detach` (log in `<data-dir>/shadow.log`); every other action works from any process through
 * the data directory's store and lock file.
 */
import type { Command } from '@commander-js/extra-typings';
import { Option } from '@commander-js/extra-typings';
import { resolve } from 'node:path';
import { userInfo } from 'node:os';
import { emit, ensureDataDir, existingDataDir, note, settingsFor, withApp } from '../context.js';
import { globalsOf } from '../run.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { runShadowController, shadowStatus, startDetached, stopController } from '../../app/shadow.js';
import { streamUrlOf } from '../../app/context.js';
import { runAction } from '../../services/rollout/manual.js';
import { compareNow, type CompareReport } from '../../services/shadow/compare.js';

const ACTIONS = ['start', 'stop', 'status', 'compare', 'promote', 'rollback'] as const;
type ShadowAction = (typeof ACTIONS)[number];

function positive(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!(n > 0)) throw new UmbraError(ErrorCode.USAGE, `${name} must be a positive number, got ${v}`);
    return n;
  };
}

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli';
  }
}

const fmt = (x: number | null | undefined, d = 3): string => (x === null || x === undefined ? 'n/a' : x.toFixed(d));

function compareText(r: CompareReport): string {
  const L = [`candidate ${r.candidate} (${r.stage}) vs production ${r.champion}; ${r.newEpisodes} new episodes`];
  for (const [point, p] of Object.entries(r.points)) {
    L.push('', `point ${point} — ${p.n} recent decisions`);
    L.push(`  policy value   production ${fmt(p.production.value)}   candidate ${fmt(p.candidate.value)}${p.candidate.ci ? ` [${fmt(p.candidate.ci[0])}, ${fmt(p.candidate.ci[1])}]` : ''} (${p.candidate.estimator})${p.candidate.reason ? `  — ${p.candidate.reason}` : ''}`);
    L.push(`  success rate   production ${fmt(p.production.successRate)}   candidate ${fmt(p.candidate.successRate)}`);
    L.push(`  diagnostics    ESS ${Math.round(p.diagnostics.ess)}   support deficit ${(100 * p.diagnostics.supportDeficit).toFixed(1)} %   max weight ${fmt(p.diagnostics.maxWeight, 1)}   agreement ${(100 * p.diagnostics.agreementRate).toFixed(1)} %`);
    for (const g of p.gates) L.push(`  ${g.pass ? 'PASS' : 'FAIL'}  ${g.name.padEnd(20)} value ${g.value === null ? 'n/a' : fmt(g.value, 4)} vs ${fmt(g.threshold, 4)} — ${g.reason}`);
  }
  L.push('', r.summary);
  return L.join('\n');
}

function requireStream(settings: Parameters<typeof streamUrlOf>[0]): string {
  const u = streamUrlOf(settings);
  if (u === undefined) throw new UmbraError(ErrorCode.USAGE, '--stream without a URL needs UMBRA_STREAM_URL or store.stream_url');
  return u;
}

export function registerShadow(program: Command): void {
  program
    .command('shadow')
    .description('the shadow controller: learn from live telemetry, score every decision in the shadow, retrain on a schedule, compare and promote')
    .argument('[action]', `one of ${ACTIONS.join(', ')}`)
    .addOption(new Option('--action <action>', 'the action (the seed’s spelling)').choices(ACTIONS))
    .option('--interval <hours>', 'hours between retrainings (default shadow_mode.retrain_interval_hours; fractions allowed)', positive('--interval'))
    .option('--min-episodes <n>', 'new episodes needed for a retraining (default shadow_mode.min_new_episodes)', positive('--min-episodes'))
    .option('--telemetry <path>', 'telemetry to follow: file, directory of dated files, or glob (default shadow_mode.telemetry_path)')
    .option('--stream [url]', 'start: read the fleet\'s event stream (NATS JetStream; default $UMBRA_STREAM_URL or store.stream_url) with the durable ingest consumer instead of following telemetry; run this or `umbra ingest --stream`, not both')
    .option('--detach', 'start: run in the background (log in <data-dir>/shadow.log)')
    .option('--reason <text>', 'promote/rollback: why (recorded in the audit log)')
    .option('--force', 'promote: override failing gates (needs --reason; recorded)')
    .action(async (pos, opts, cmd) => {
      const g = globalsOf(cmd);
      const action = (opts.action ?? pos) as ShadowAction | undefined;
      if (action === undefined) throw new UmbraError(ErrorCode.USAGE, `say what to do: umbra shadow <${ACTIONS.join('|')}> (or --action X)`);
      if (!(ACTIONS as readonly string[]).includes(action)) throw new UmbraError(ErrorCode.USAGE, `unknown shadow action ${action}; one of ${ACTIONS.join(', ')}`);
      const settings = settingsFor(g);

      if (action === 'start') {
        const telemetry = resolve(opts.telemetry ?? settings.config.shadow_mode.telemetry_path);
        const dataDir = ensureDataDir(g);
        if (opts.detach) {
          const r = await startDetached(dataDir, process.argv);
          emit(g, { started: true, pid: r.pid, log: r.log }, () => `shadow controller started in the background (pid ${r.pid}); log: ${r.log}`);
          return;
        }
        const ac = new AbortController();
        const stop = (): void => ac.abort();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
        await runShadowController(
          {
            settings,
            dataDir,
            telemetry,
            ...(opts.stream === undefined ? {} : { stream: typeof opts.stream === 'string' ? opts.stream : requireStream(settings) }),
            ...(opts.interval === undefined ? {} : { intervalHours: opts.interval }),
            ...(opts.minEpisodes === undefined ? {} : { minEpisodes: opts.minEpisodes }),
            log: (m) => note(`[${new Date().toISOString()}] ${m}`),
          },
          ac.signal,
        );
        emit(g, { stopped: true }, () => 'shadow controller stopped');
        return;
      }

      if (action === 'stop') {
        const { pid } = await stopController(existingDataDir(g, settings));
        emit(g, { stopped: true, pid }, () => `shadow controller (pid ${pid}) stopped`);
        return;
      }

      await withApp(g, async (w) => {
        if (action === 'status') {
          const out = await shadowStatus(w);
          emit(g, out, () =>
            [
              `controller   ${out.running ? `running (pid ${out.pid}, up ${out.uptimeS} s)` : 'not running'}`,
              `stage        ${out.stage}; champion ${out.champion}; candidate ${out.candidate ?? '(none)'}`,
              `retraining   last ${out.lastRetrainAt ?? 'never'}${out.lastRetrainReason ? ` (${out.lastRetrainReason})` : ''}; next: ${out.nextRetrainWhy ?? '-'}${out.lastRetrainError ? `\n             last error: ${out.lastRetrainError}` : ''}`,
              `episodes     ${out.newEpisodes} new since the last training`,
              `shadow       candidate scored ${out.shadowScored} (all processes; this controller ${out.controllerScored} since it started), dropped ${out.shadowDropped}, errors ${out.shadowErrors}, timeouts ${out.shadowTimeouts}; agreement with production ${out.agreement === null ? 'n/a' : `${(100 * out.agreement).toFixed(1)} %`}`,
              `last gates   ${out.lastComparison ? `${out.lastComparison.passed ? 'PASS' : 'FAIL'}: ${out.lastComparison.summary.length > 240 ? `${out.lastComparison.summary.slice(0, 240)}… (umbra shadow compare for all)` : out.lastComparison.summary}` : 'none yet'}`,
              `ingest       ${out.ingest ? `${out.ingest.decisions} decisions and ${out.ingest.turns} turns stored, ${out.ingest.quarantined} lines quarantined; ${out.ingest.bytesDone} of ${out.ingest.bytesTotal} bytes read${out.ingest.error ? `; error: ${out.ingest.error}` : ''}` : 'n/a'}`,
            ].join('\n'),
          );
          return;
        }
        if (action === 'compare') {
          const r = await compareNow({ store: w.store, rollout: w.rollout, settings: w.settings, bundles: w.bundles });
          emit(g, r, () => compareText(r));
          return;
        }
        if (action === 'promote' || action === 'rollback') {
          const reason = opts.reason ?? (action === 'rollback' ? 'shadow rollback requested' : undefined);
          const r = await runAction(action, { store: w.store, rollout: w.rollout, settings: w.settings, bundles: w.bundles, actor: actor(), ...(reason === undefined ? {} : { reason }), ...(opts.force ? { force: true } : {}) });
          const st = await w.rollout.status();
          emit(g, { ok: true, ...st, records: r.records.map((x) => ({ event: x.event, version: x.version, from: x.from, to: x.to })) }, () => `${r.records.map((x) => `${x.version}: ${x.from ?? '-'} → ${x.to} (${x.event})`).join('\n')}\nstage now: ${st.stage}; champion ${st.champion}`);
        }
      });
    });
}
