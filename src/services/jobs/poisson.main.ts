/**
 * Thread entry point: the Poisson bootstrap of some resamples (see parallel-bootstrap.ts). Receives
 * the columns, the resamples, the seed and the range of resamples to sum; answers the sums.
 */
import { parentPort } from 'node:worker_threads';
import { poissonBootstrapSums } from '../../core/ope/intervals.js';

if (!parentPort) throw new Error('the bootstrap worker must run in a worker thread');
const port = parentPort;
port.once('message', (m: { columns: Float64Array[]; resamples: number; seed: number; from: number; to: number }) => {
  const sums = poissonBootstrapSums(m.columns, m.resamples, m.seed, { from: m.from, to: m.to });
  port.postMessage(sums, [sums.buffer as ArrayBuffer]);
});
