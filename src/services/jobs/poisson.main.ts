/**
 * Thread entry point: the Poisson bootstrap of the tail of a log (see parallel-bootstrap.ts).
 * Receives the tail's columns, the resamples, the seed and the tail's first block; answers the
 * per-block sums.
 */
import { parentPort } from 'node:worker_threads';
import { poissonBootstrapBlockSums } from '../../core/ope/intervals.js';

if (!parentPort) throw new Error('the bootstrap worker must run in a worker thread');
const port = parentPort;
port.once('message', (m: { columns: Float64Array[]; resamples: number; seed: number; firstBlock: number }) => {
  const sums = poissonBootstrapBlockSums(m.columns, m.resamples, m.seed, m.firstBlock);
  port.postMessage(sums, [sums.buffer as ArrayBuffer]);
});
