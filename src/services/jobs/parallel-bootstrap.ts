/**
 * The Poisson bootstrap on two cores: the events split at a block boundary, the head bootstrapped on
 * this thread and the tail on a worker thread that first advances the random stream past the head.
 * The worker answers per-block sums, which are added to the head's totals block by block, so every
 * sum is formed in the same order as in a single pass: the result is bit-identical to
 * `poissonBootstrapSums`. The bootstrap is most of `umbra ope`'s arithmetic on a large log.
 */
import { Worker } from 'node:worker_threads';
import type { BootstrapWork } from '../../core/ope/index.js';
import { BOOTSTRAP_BLOCK, addBlockSums, poissonBootstrapSums } from '../../core/ope/intervals.js';

const WORKER_URL = new URL('./poisson.main.js', import.meta.url);

/** Events below which a thread costs more than it saves. */
const MIN_EVENTS = 50_000;

/**
 * The head's share of the blocks. The worker also skips the head's random draws (about a sixth of
 * the cost of using them), so the head takes a little more than half.
 */
const HEAD_SHARE = 0.54;

/** Run a bootstrap's work on two threads (one thread for small work); the same sums, bit for bit. */
export async function parallelBootstrap(work: BootstrapWork): Promise<Float64Array> {
  const n = work.columns[0]?.length ?? 0;
  if (n < MIN_EVENTS) return poissonBootstrapSums(work.columns, work.resamples, work.seed);
  const blocks = Math.ceil(n / BOOTSTRAP_BLOCK);
  const headBlocks = Math.min(blocks - 1, Math.round(blocks * HEAD_SHARE));
  const cut = headBlocks * BOOTSTRAP_BLOCK;
  const tail = work.columns.map((c) => c.slice(cut));
  const worker = new Worker(WORKER_URL);
  try {
    const theirs = new Promise<Float64Array>((resolve, reject) => {
      worker.once('message', (m: Float64Array) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the bootstrap worker exited with code ${code}`)));
    });
    worker.postMessage(
      { columns: tail, resamples: work.resamples, seed: work.seed, firstBlock: headBlocks },
      tail.map((c) => c.buffer as ArrayBuffer),
    );
    const head = poissonBootstrapSums(
      work.columns.map((c) => c.subarray(0, cut)),
      work.resamples,
      work.seed,
    );
    return addBlockSums(head, await theirs);
  } finally {
    void worker.terminate();
  }
}
