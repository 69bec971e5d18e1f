/**
 * The Poisson bootstrap on two cores: the columns split in two groups, one bootstrapped on this
 * thread and one on a worker thread, each with the same seed and resamples, so each draws the same
 * counts and every column gets exactly the sums a single pass would give (`poissonBootstrapSums`).
 * The bootstrap is most of `umbra ope`'s arithmetic on a large log; this halves its wall time.
 */
import { Worker } from 'node:worker_threads';
import type { BootstrapWork } from '../../core/ope/index.js';
import { mergeBootstrapSums, poissonBootstrapSums } from '../../core/ope/intervals.js';

const WORKER_URL = new URL('./poisson.main.js', import.meta.url);

/** Events below which a thread costs more than it saves. */
const MIN_EVENTS = 50_000;

/** Run a bootstrap's work on two threads (one thread for small or one-column work); the same sums. */
export async function parallelBootstrap(work: BootstrapWork): Promise<Float64Array> {
  const K = work.columns.length;
  const n = work.columns[0]?.length ?? 0;
  if (K < 2 || n < MIN_EVENTS) return poissonBootstrapSums(work.columns, work.resamples, work.seed);
  const first = K > 4 ? 4 : Math.ceil(K / 2);
  const rest = work.columns.slice(first).map((c) => c.slice());
  const worker = new Worker(WORKER_URL);
  try {
    const theirs = new Promise<Float64Array>((resolve, reject) => {
      worker.once('message', (m: Float64Array) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the bootstrap worker exited with code ${code}`)));
    });
    worker.postMessage({ columns: rest, resamples: work.resamples, seed: work.seed }, rest.map((c) => c.buffer as ArrayBuffer));
    const mine = poissonBootstrapSums(work.columns.slice(0, first), work.resamples, work.seed);
    return mergeBootstrapSums([{ sums: mine, columns: first }, { sums: await theirs, columns: K - first }], work.resamples);
  } finally {
    void worker.terminate();
  }
}
