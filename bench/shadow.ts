/**
 * Shadow benchmark (issue 6): sustained tail + shadow scoring with two candidates, and the shed
 * rate under overload.
 *
 * Setup: a simulated Alice decision log (decisions format, 5 % exploration) is trained into two
 * candidate bundles (two exploration settings) with the real pipeline. Then, per repeat:
 * - tail + score: the log is ingested into a fresh SQLite store by the real tailer while a loop
 *   reads new decisions back from the store and offers them to a ShadowScorer scoring both
 *   candidates in its policy worker; events/s = decisions scored by both candidates per second
 *   of wall time from the first byte ingested to the last shadow record written (target ≥ 2,000);
 * - baseline: the same ingestion alone (no shadow work), for the ratio;
 * - overload: the same decisions offered at once into a small queue with a CPU share of 0.25:
 *   the share shed (queue full or CPU share used up) is reported, and production data is intact.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compileConfig } from '../src/core/config/index.js';
import { openSqliteStore } from '../src/store/index.js';
import { ingest } from '../src/ingest/ingest.js';
import { PolicyHost } from '../src/services/policy-host/host.js';
import { ShadowScorer, type ShadowCandidate } from '../src/services/shadow/scorer.js';
import { Bundles } from '../src/services/artifacts/bundles.js';
import type { Store } from '../src/store/port.js';
import { type BenchFn, median } from './types.js';

const CLI = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'src', 'cli', 'main.js');

function cli(args: string[]): void {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`umbra ${args.join(' ')} failed: ${r.stderr}`);
}

async function loadCandidates(host: PolicyHost, dataDir: string, config: ReturnType<typeof compileConfig>, versions: string[]): Promise<ShadowCandidate[]> {
  const out: ShadowCandidate[] = [];
  for (const v of versions) {
    const points = new Set<string>();
    for (const [point, path] of Object.entries(Bundles.of(dataDir, config).artifacts(v))) {
      await host.load(`${v}:${point}`, path);
      points.add(point);
    }
    out.push({ version: v, points });
  }
  return out;
}

/** Offer every decision after `cursor` to the scorer; returns the new cursor and how many were offered. */
async function offerNew(store: Store, scorer: ShadowScorer, cursor: number): Promise<{ cursor: number; n: number }> {
  let n = 0;
  for await (const d of store.decisions({ afterSeq: cursor, limit: 5000 })) {
    cursor = d.seq;
    const e = d.event;
    scorer.offer({ id: e.id, point: e.point, context: e.context, actions: e.actions, ...(e.baseline === undefined ? {} : { baseline: e.baseline }), served: e.action, ts: e.ts });
    n++;
  }
  return { cursor, n };
}

export const run: BenchFn = async ({ quick }) => {
  const episodes = quick ? 3000 : 20_000;
  const repeats = quick ? 1 : 3;
  const root = mkdtempSync(join(tmpdir(), 'umbra-bench-shadow-'));
  try {
    const log = join(root, 'log.jsonl');
    cli(['bootstrap', '--episodes', String(episodes), '--seed', '5', '--format', 'decisions', '--exploration', '0.05', '--end', '2026-01-01T00:00:00Z', '--out', log]);
    const dataDir = join(root, 'data');
    const config = compileConfig({ training: { min_episodes: 50 } });
    const versions: string[] = [];
    for (const eps of [0.02, 0.1]) {
      const cfgPath = join(root, `cfg-${eps}.json`);
      const out = join(root, `pipe-${eps}`);
      writeFileSync(cfgPath, JSON.stringify({ training: { min_episodes: 50 }, policies: { default: { epsilon: eps } } }));
      cli(['--config', cfgPath, 'pipeline', '--telemetry', log, '--out', out]);
      versions.push(Bundles.of(dataDir, config).saveFromPipeline(join(out, 'manifest.json')).version);
    }

    const tailScore: number[] = [];
    const tailOnly: number[] = [];
    const shedRates: number[] = [];
    let scoredPerRun = 0;
    for (let rep = 0; rep < repeats; rep++) {
      // baseline: ingestion alone
      {
        const store = openSqliteStore(join(root, `base-${rep}.db`));
        const t0 = performance.now();
        const c = await ingest({ store, path: log, config });
        tailOnly.push(c.eventsStored / ((performance.now() - t0) / 1000));
        await store.close();
      }
      // tail + shadow scoring with two candidates
      {
        const store = openSqliteStore(join(root, `shadow-${rep}.db`));
        const host = new PolicyHost({ deadlineMs: 50 });
        const scorer = new ShadowScorer({ store, host, queueSize: 100_000, timeBudgetMs: 50, cpuShare: 1 });
        scorer.setCandidates(await loadCandidates(host, dataDir, config, versions));
        const t0 = performance.now();
        let cursor = 0;
        let offered = 0;
        let done = false;
        const ingesting = ingest({ store, path: log, config }).then(() => (done = true));
        while (!done) {
          const r = await offerNew(store, scorer, cursor);
          cursor = r.cursor;
          offered += r.n;
          await new Promise((res) => setTimeout(res, 20));
        }
        await ingesting;
        for (;;) {
          const r = await offerNew(store, scorer, cursor);
          cursor = r.cursor;
          offered += r.n;
          if (r.n === 0) break;
        }
        await scorer.drain(600_000);
        const secs = (performance.now() - t0) / 1000;
        scoredPerRun = offered;
        tailScore.push(offered / secs);
        await scorer.close();
        await host.close();
        await store.close();
      }
      // overload: everything at once into a small queue with a quarter of a core
      {
        const store = openSqliteStore(join(root, `shadow-${rep}.db`));
        const host = new PolicyHost({ deadlineMs: 50 });
        const scorer = new ShadowScorer({ store, host, queueSize: 500, timeBudgetMs: 50, cpuShare: 0.25 });
        scorer.setCandidates(await loadCandidates(host, dataDir, config, versions));
        const before = (await store.counts()).decisions;
        await offerNew(store, scorer, 0);
        await scorer.drain(600_000);
        const s = scorer.stats;
        shedRates.push((s.dropped + s.shed) / Math.max(1, s.offered));
        const after = (await store.counts()).decisions;
        if (after !== before) throw new Error('shadow work changed production data');
        await scorer.close();
        await host.close();
        await store.close();
      }
    }
    return {
      name: 'shadow',
      description: `Tail + shadow scoring with two candidates over ${episodes} simulated requests (${scoredPerRun} decisions across route, tool and cache), median of ${repeats}.`,
      metrics: [
        { name: 'tail + shadow scoring (2 candidates)', value: median(tailScore), unit: 'decisions/s', better: 'higher', samples: tailScore, target: 2000 },
        { name: 'tail alone (in-run baseline)', value: median(tailOnly), unit: 'decisions/s', better: 'higher', samples: tailOnly },
        { name: 'shed rate under overload (queue 500, CPU share 0.25)', value: median(shedRates), unit: 'fraction', better: 'lower', samples: shedRates },
      ],
      ratios: [{ name: 'tail+shadow throughput / tail alone', value: median(tailScore) / median(tailOnly), better: 'higher' }],
      notes: ['Production data is checked unchanged after the overload run (decision count before = after).'],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
};
