/**
 * `umbra monitor [--shadow-mode] [--once] [--interval S]`: the live terminal view. It reads the
 * data directory's store (no server needed), so it shows what `serve`, `shadow start` and the
 * rollout commands did, from any process. On a terminal it redraws in place; otherwise (or with
 * --once) it prints plain blocks; with --json it prints the dashboard snapshot.
 */
import type { Command } from '@commander-js/extra-typings';
import type { Wired } from '../../app/context.js';
import { emit, withApp } from '../context.js';
import { globalsOf } from '../run.js';
import { buildSnapshot } from '../../services/monitoring/status.js';
import { readShadowStats } from '../../services/shadow/stats.js';
import { StateKey } from '../../services/state-keys.js';
import type { DashboardSnapshot } from '../../core/dashboard.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';

const pctOf = (x: number | null): string => (x === null ? '   n/a' : `${(100 * x).toFixed(1).padStart(5)} %`);
const KPI_LABEL: Record<string, string> = { toolPrecision: 'tool precision', successRate: 'success rate', p95LatencyMs: 'p95 latency', cacheHitRate: 'cache hit rate', policyValue: 'policy value' };

function fmtKpi(name: string, v: number | null): string {
  if (v === null) return '     n/a';
  if (name === 'p95LatencyMs') return `${Math.round(v).toLocaleString('en-US')} ms`.padStart(9);
  if (name === 'policyValue') return v.toFixed(3).padStart(8);
  return pctOf(v).padStart(8);
}

function last(xs: (number | null)[]): number | null {
  for (let i = xs.length - 1; i >= 0; i--) if (xs[i] !== null) return xs[i]!;
  return null;
}

/** Render a snapshot (plus shadow details) as terminal text. */
export function renderMonitor(s: DashboardSnapshot, extra: { shadowMode: boolean; shadow?: { scored: number; errors: number; timeouts: number; agree: number; compared: number } | undefined; gates?: string | undefined; checkpoints: number }): string {
  const L: string[] = [];
  L.push(`Umbra monitor — ${s.ts}`);
  L.push(`stage ${s.status.stage.toUpperCase()}   champion ${s.status.champion ?? '-'}   candidate ${s.status.candidate ?? '-'}${s.status.stage === 'canary' ? `   canary ${(s.status.canaryWeight * 100).toFixed(1)} % + control` : ''}`);
  const pv = last(s.value.production);
  const sv = last(s.value.shadow);
  const band = (lo: (number | null)[], hi: (number | null)[]): string => {
    const a = last(lo);
    const b = last(hi);
    return a === null || b === null ? '' : ` [${a.toFixed(3)}, ${b.toFixed(3)}]`;
  };
  L.push(`policy value  production ${pv === null ? 'n/a' : pv.toFixed(3)}${band(s.value.productionLo, s.value.productionHi)}   shadow ${sv === null ? 'n/a' : sv.toFixed(3)}${band(s.value.shadowLo, s.value.shadowHi)}`);
  L.push('');
  L.push(`${'KPI'.padEnd(16)}${'baseline'.padStart(10)}${'now'.padStart(10)}${'target'.padStart(10)}  met`);
  for (const k of s.kpis) {
    const met = k.now === null ? ' ' : (k.name === 'p95LatencyMs' ? k.now <= k.target : k.now >= k.target) ? '✓' : '✗';
    L.push(`${(KPI_LABEL[k.name] ?? k.name).padEnd(16)}${fmtKpi(k.name, k.baseline).padStart(10)}${fmtKpi(k.name, k.now).padStart(10)}${fmtKpi(k.name, k.target).padStart(10)}  ${met}`);
  }
  if (extra.shadowMode || s.status.candidate) {
    L.push('');
    L.push('shadow');
    const sh = extra.shadow;
    L.push(`  scored ${s.counts.shadowScored} (candidate, all processes)   errors ${sh?.errors ?? 0}   timeouts ${sh?.timeouts ?? 0}   dropped ${s.counts.shadowDropped}   agreement ${s.agreement === null ? (sh && sh.compared > 0 ? pctOf(sh.agree / sh.compared) : 'n/a') : pctOf(s.agreement)}`);
    L.push(`  diagnostics  ESS ${s.diagnostics.ess === null ? 'n/a' : Math.round(s.diagnostics.ess)}   support deficit ${pctOf(s.diagnostics.supportDeficit)}   max weight ${s.diagnostics.maxWeight === null ? 'n/a' : s.diagnostics.maxWeight.toFixed(1)}`);
    if (extra.gates) L.push(`  gates  ${extra.gates}`);
  }
  L.push('');
  const q = s.counts.quarantined;
  L.push(`ingest  decisions ${s.counts.decisions}   quarantined ${q.total}${q.total ? ` (${Object.entries(q.byReason).map(([r, n]) => `${r} ${n}`).join(', ')})` : ''}   sources ${extra.checkpoints}   fallbacks ${s.counts.fallbacks}`);
  L.push('alerts');
  if (s.alerts.length === 0) L.push('  (none)');
  for (const a of s.alerts.slice(0, 5)) L.push(`  ${a.ts} ${a.severity.toUpperCase().padEnd(8)} ${a.kind}: ${a.message}`);
  if (s.selection !== null) {
    const f = (x: number | null): string => (x === null ? 'n/a' : x.toFixed(3));
    L.push(`selection  ${s.selection.version}`);
    for (const [point, sel] of Object.entries(s.selection.points)) {
      L.push(`  ${point}: ${sel.chosen} of ${sel.candidates.map((c) => `${c.name} ${f(c.value)} (lower ${f(c.lower)})`).join(', ')}`);
    }
  }
  const h = s.history[0];
  if (h) L.push(`last transition  ${h.ts} ${h.policy ?? ''} ${h.from ?? '-'} → ${h.to ?? '-'} by ${h.actor}${h.reason ? `: ${h.reason}` : ''}`);
  return L.join('\n');
}

async function frame({ store, rollout, settings, bundles }: Wired, shadowMode: boolean): Promise<{ snap: DashboardSnapshot; text: string }> {
  const snap = await buildSnapshot({ store, rollout, settings, bundles });
  const stats = await readShadowStats(store);
  const cand = snap.status.candidate;
  const gates = (await store.getState(StateKey.SHADOW_GATES))?.value as { version: string; report: { summary: string } } | undefined;
  const text = renderMonitor(snap, { shadowMode, shadow: cand ? stats[cand] : undefined, gates: gates && gates.version === cand ? gates.report.summary : undefined, checkpoints: (await store.listCheckpoints()).length });
  return { snap, text };
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('live terminal view: rollout stage, shadow vs production value, the seed KPIs (baseline / now / target), ingest health, alerts')
    .option('--shadow-mode', 'show the shadow candidate in detail (agreement, diagnostics, gates)')
    .option('--once', 'print one view and exit')
    .option('--interval <seconds>', 'refresh every S seconds', Number, 2)
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      if (!(opts.interval > 0)) throw new UmbraError(ErrorCode.USAGE, '--interval must be a positive number of seconds');
      await withApp(g, async (w) => {
        const tty = process.stdout.isTTY === true && !g.json;
        for (;;) {
          const { snap, text } = await frame(w, opts.shadowMode === true);
          if (g.json) emit(g, snap, () => text);
          else if (tty && !opts.once) process.stdout.write(`\x1b[H\x1b[2J${text}\n`);
          else process.stdout.write(`${text}\n\n`);
          if (opts.once) return;
          let stop = false;
          const onSig = (): void => {
            stop = true;
          };
          process.once('SIGINT', onSig);
          await new Promise((r) => setTimeout(r, opts.interval * 1000));
          process.removeListener('SIGINT', onSig);
          if (stop) return;
        }
      });
    });
}
