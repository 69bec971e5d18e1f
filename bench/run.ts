/**
 * `npm run bench`: runs every benchmark, each in its own child process (so memory and JIT state
 * of one cannot colour another), writes `bench/results/<name>.json` and `bench/results/summary.md`
 * with the machine description, medians, ratios to the in-run baselines, and pass/fail per target.
 *
 * Usage: node dist/bench/run.js [--quick] [--only name,name]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { BenchFn, BenchResult } from './types.js';
import { writeFileAtomic } from '../src/platform/fs.js';

const here = dirname(fileURLToPath(import.meta.url));
const projectRoot = join(here, '..', '..');
const resultsDir = join(projectRoot, 'bench', 'results');

/** Benchmark modules: every bench/*.js beside this runner except the runner and shared helpers. */
function discover(): string[] {
  const skip = new Set(['run', 'types', 'util']);
  return readdirSync(here)
    .filter((f) => f.endsWith('.js') && !skip.has(basename(f, '.js')))
    .map((f) => basename(f, '.js'))
    .sort();
}

async function child(name: string, quick: boolean): Promise<void> {
  const mod = (await import(pathToFileURL(join(here, `${name}.js`)).href)) as { run?: BenchFn };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name} exports no run()`);
  const r = await mod.run({ quick });
  process.stdout.write(`\n@@RESULT@@${JSON.stringify(r)}\n`);
}

function verdict(value: number, better: 'higher' | 'lower', target: number | undefined): string {
  if (target === undefined) return '';
  const ok = better === 'higher' ? value >= target : value <= target;
  return ok ? 'PASS' : 'FAIL';
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 1000) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  return x.toPrecision(3);
}

function summary(results: BenchResult[], failed: string[], quick: boolean): string {
  const cpu = cpus();
  const lines = [
    '# Benchmark results',
    '',
    `- when: ${new Date().toISOString()}${quick ? ' (quick mode: reduced sizes, not comparable with targets)' : ''}`,
    `- machine: ${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, ${platform()} ${release()}`,
    `- node: ${process.version}`,
    '',
  ];
  for (const r of results) {
    lines.push(`## ${r.name}`, '', r.description, '', '| metric | median | unit | target | verdict |', '|---|---|---|---|---|');
    for (const m of r.metrics) {
      const t = m.target === undefined ? '' : `${m.better === 'higher' ? '≥' : '≤'} ${fmt(m.target)}`;
      lines.push(`| ${m.name} | ${fmt(m.value)} | ${m.unit} | ${t} | ${verdict(m.value, m.better, m.target)} |`);
    }
    for (const q of r.ratios ?? []) {
      const t = q.target === undefined ? '' : `${q.better === 'higher' ? '≥' : '≤'} ${fmt(q.target)}`;
      lines.push(`| ratio: ${q.name} | ${fmt(q.value)} | × | ${t} | ${verdict(q.value, q.better, q.target)} |`);
    }
    if (r.notes?.length) lines.push('', ...r.notes.map((n) => `- ${n}`));
    lines.push('');
  }
  if (failed.length) lines.push('## Failed to run', '', ...failed.map((f) => `- ${f}`), '');
  return lines.join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const quick = args.includes('--quick');
  const childIdx = args.indexOf('--child');
  if (childIdx >= 0) {
    await child(args[childIdx + 1]!, quick);
    return;
  }
  const onlyIdx = args.indexOf('--only');
  const only = onlyIdx >= 0 ? new Set(args[onlyIdx + 1]!.split(',')) : undefined;
  const names = discover().filter((n) => !only || only.has(n));
  mkdirSync(resultsDir, { recursive: true });
  const results: BenchResult[] = [];
  const failed: string[] = [];
  for (const name of names) {
    process.stderr.write(`bench ${name}${quick ? ' (quick)' : ''} …\n`);
    const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--child', name, ...(quick ? ['--quick'] : [])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      maxBuffer: 64 * 1024 * 1024,
    });
    const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('@@RESULT@@'));
    if (r.status !== 0 || !line) {
      failed.push(`${name}: exit ${r.status}`);
      continue;
    }
    const res = JSON.parse(line.slice('@@RESULT@@'.length)) as BenchResult;
    results.push(res);
    writeFileAtomic(join(resultsDir, `${name}.json`), `${JSON.stringify({ ...res, quick, at: new Date().toISOString() }, null, 2)}\n`);
  }
  const md = summary(results, failed, quick);
  writeFileAtomic(join(resultsDir, 'summary.md'), md);
  process.stdout.write(`${JSON.stringify({ quick, results, failed })}\n`);
  process.stderr.write(`\n${md}\n`);
  if (failed.length) process.exitCode = 1;
}

if (!existsSync(resultsDir)) mkdirSync(resultsDir, { recursive: true });
void main();
