/**
 * The commands a user runs, end to end, each as a child process on files (wall time and the peak
 * RSS of its process), beside the in-run baseline: a bare streaming JSON.parse pass over the same
 * files (bench/lib/bare-parse.ts). Rows, interleaved round by round so that drift in the machine's
 * load touches them alike:
 *
 * - `umbra ope --log LOG --target TARGET --bootstrap 1000` (reward model on): 1,000,000 events,
 *   four actions, numeric and category context. Targets (issue 21): < 10 s, < 1 GB, ≤ 3× the bare
 *   pass over both files.
 * - the same with `--bootstrap 0 --no-model`: reading, validation and joining alone.
 * - `umbra pipeline --telemetry LOG`: dataset, model selection among the default candidates,
 *   evaluation, packaging. Targets: < 20 s, < 1.5 GB.
 *
 * `quick`: 50,000 events, one round (for the bench's own test; not comparable with the targets).
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeDecisionLog } from './lib/decision-log.js';
import { type Measured, runMeasured } from './lib/run-measured.js';
import { median, type BenchFn, type BenchMetric, type BenchRatio } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
const CLI = join(here, '..', 'src', 'cli', 'main.js');
const BARE = join(here, 'lib', 'bare-parse.js');

interface Row {
  name: string;
  args: (dir: string) => string[];
  wallTarget?: number;
  rssTarget?: number;
}

function check(name: string, m: Measured): Measured {
  if (m.status !== 0) throw new Error(`${name} exited with ${m.status}: ${m.stderr.slice(-2000)}`);
  return m;
}

export const run: BenchFn = ({ quick }) => {
  const n = quick ? 50_000 : 1_000_000;
  const rounds = quick ? 1 : 3;
  const dir = mkdtempSync(join(tmpdir(), 'umbra-bench-commands-'));
  try {
    const log = join(dir, 'log.jsonl');
    const target = join(dir, 'target.jsonl');
    writeDecisionLog(log, target, n);
    const mb = (p: string): number => statSync(p).size / 2 ** 20;
    const rows: Row[] = [
      { name: 'bare parse (log + target)', args: () => [BARE, log, target] },
      { name: 'bare parse (log)', args: () => [BARE, log] },
      { name: 'umbra ope --bootstrap 1000', args: (d) => [CLI, '--data-dir', d, 'ope', '--log', log, '--target', target, '--bootstrap', '1000', '--json'], wallTarget: 10, rssTarget: 1024 },
      { name: 'umbra ope --bootstrap 0 --no-model', args: (d) => [CLI, '--data-dir', d, 'ope', '--log', log, '--target', target, '--bootstrap', '0', '--no-model', '--json'] },
      { name: 'umbra pipeline', args: (d) => [CLI, '--data-dir', d, 'pipeline', '--telemetry', log, '--out', join(d, 'out')], wallTarget: 20, rssTarget: 1536 },
    ];
    const wall = rows.map(() => [] as number[]);
    const rss = rows.map(() => [] as number[]);
    for (let r = 0; r < rounds; r++) {
      rows.forEach((row, i) => {
        const work = mkdtempSync(join(dir, 'run-'));
        try {
          process.stderr.write(`  round ${r + 1}/${rounds}: ${row.name}\n`);
          const m = check(row.name, runMeasured(row.args(work), { timeoutMs: 900_000 }));
          wall[i]!.push(m.wallS);
          rss[i]!.push(m.peakRssMb);
        } finally {
          rmSync(work, { recursive: true, force: true });
        }
      });
    }
    const metrics: BenchMetric[] = [];
    rows.forEach((row, i) => {
      metrics.push({ name: `${row.name}: wall time`, value: median(wall[i]!), unit: 's', better: 'lower', samples: wall[i]!, ...(row.wallTarget !== undefined && !quick ? { target: row.wallTarget } : {}) });
      metrics.push({ name: `${row.name}: peak RSS`, value: median(rss[i]!), unit: 'MB', better: 'lower', samples: rss[i]!, ...(row.rssTarget !== undefined && !quick ? { target: row.rssTarget } : {}) });
    });
    const w = (i: number): number => median(wall[i]!);
    const ratios: BenchRatio[] = [
      { name: 'ope --bootstrap 1000 / bare parse of both files', value: w(2) / w(0), better: 'lower', ...(quick ? {} : { target: 3 }) },
      { name: 'ope --bootstrap 0 --no-model / bare parse of both files', value: w(3) / w(0), better: 'lower' },
      { name: 'pipeline / bare parse of the log', value: w(4) / w(1), better: 'lower' },
    ];
    return Promise.resolve({
      name: 'commands',
      description: `Commands end to end as a user runs them (child process, wall time, peak RSS of its process), on a ${n.toLocaleString('en-US')}-event canonical decision log (${mb(log).toFixed(0)} MB) and its target file (${mb(target).toFixed(0)} MB); medians of ${rounds} interleaved round(s).`,
      metrics,
      ratios,
      notes: ['The baseline reads the same files with a streaming line reader and JSON.parse, keeping nothing.', 'Reproduce one row: node bench/lib/decision-log generator (see bench/commands.ts), then the command in the row name under /usr/bin/time -v.'],
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};
