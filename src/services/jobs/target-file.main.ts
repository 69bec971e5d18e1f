/**
 * Thread entry point: read and check a target file into columns (see target-file.ts) and answer
 * them, or the error of its first bad line.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { readTargetColumns, type TargetWorkerReply } from './target-file.js';

if (!parentPort) throw new Error('the target reader must run in a worker thread');
const { path } = workerData as { path: string };
let reply: TargetWorkerReply;
try {
  reply = { ok: readTargetColumns(path) };
} catch (e) {
  reply =
    e instanceof UmbraError
      ? { error: { code: e.code, message: e.message, ...(e.details !== undefined ? { details: e.details } : {}) } }
      : { error: { code: ErrorCode.INTERNAL, message: e instanceof Error ? e.message : String(e) } };
}
const transfer = 'ok' in reply ? [reply.ok.off.buffer, reply.ok.name.buffer, reply.ok.prob.buffer] : [];
parentPort.postMessage(reply, transfer as ArrayBuffer[]);
