/**
 * The Poisson bootstrap on two cores: the resamples split in two halves, one summed on this thread
 * and one on a worker thread. Both walk the same random stream (the draws of the other half are
 * skipped, at about a tenth of the cost of using them) over the same columns, which the worker
 * reads in place when they live in shared memory (the accumulator collects them there), so nothing
 * is copied. Each resample's sums are formed exactly as in a single pass: the result is
 * bit-identical to `poissonBootstrapSums`. The bootstrap is most of `umbra ope`'s arithmetic.
 */
import { Worker } from 'node:worker_threads';
import type { BootstrapWork } from '../../core/ope/index.js';
import { joinResampleSums, poissonBootstrapSums } from '../../core/ope/intervals.js';

const WORKER_URL = new URL('./poisson.main.js', import.meta.url);

/** Events below which a thread costs more than it saves. */
const MIN_EVENTS = 50_000;

/** Run a bootstrap's work on two threads (one thread for small work); the same sums, bit for bit. */
export async function parallelBootstrap(work: BootstrapWork): Promise<Float64Array> {
  const n = work.columns[0]?.length ?? 0;
  const B = work.resamples;
  if (n < MIN_EVENTS || B < 2) return poissonBootstrapSums(work.columns, B, work.seed);
  const split = B >> 1;
  const K = work.columns.length;
  // Columns in shared memory are read in place; others are copied to the worker.
  const columns = work.columns.map((c) => (c.buffer instanceof SharedArrayBuffer ? c : c.slice()));
  const worker = new Worker(WORKER_URL);
  try {
    const theirs = new Promise<Float64Array>((resolve, reject) => {
      worker.once('message', (m: Float64Array) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the bootstrap worker exited with code ${code}`)));
    });
    const copied = columns.filter((c) => !(c.buffer instanceof SharedArrayBuffer)).map((c) => c.buffer as ArrayBuffer);
    worker.postMessage({ columns, resamples: B, seed: work.seed, from: split, to: B }, copied);
    const mine = poissonBootstrapSums(work.columns, B, work.seed, { from: 0, to: split });
    return joinResampleSums(mine, await theirs, split, K);
  } finally {
    void worker.terminate();
  }
}
