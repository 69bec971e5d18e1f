/**
 * One controller per data directory: an exclusive lock file holding the owner's pid. A second
 * start is refused with the owner's pid; a lock left by a crashed process (its pid no longer
 * alive) is taken over.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { ErrorCode, UmbraError } from '../core/errors.js';

export interface LockInfo {
  pid: number;
  startedAt: string;
  what: string;
}

/** Whether a process with this pid is alive (signal 0 probes without signalling). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's content, when a lock file exists and is readable. */
export function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockInfo>;
    if (typeof v.pid !== 'number') return undefined;
    return { pid: v.pid, startedAt: String(v.startedAt ?? ''), what: String(v.what ?? '') };
  } catch {
    return undefined;
  }
}

/** The live owner of a lock, or undefined when free or stale. */
export function lockOwner(path: string): LockInfo | undefined {
  const info = readLock(path);
  return info !== undefined && pidAlive(info.pid) ? info : undefined;
}

/** Take the lock or throw E_LOCKED naming the owner. Returns a release function. */
export function acquireLock(path: string, what: string): () => void {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      const info: LockInfo = { pid: process.pid, startedAt: new Date().toISOString(), what };
      writeSync(fd, JSON.stringify(info));
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const cur = readLock(path);
        if (cur?.pid === process.pid) {
          try {
            unlinkSync(path);
          } catch {
            /* already gone */
          }
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new UmbraError(ErrorCode.STORE, `cannot create lock ${path}: ${(e as Error).message}`);
      const owner = readLock(path);
      if (owner !== undefined && pidAlive(owner.pid) && owner.pid !== process.pid) {
        throw new UmbraError(ErrorCode.LOCKED, `${owner.what || 'another process'} is already running for this data directory (pid ${owner.pid}, since ${owner.startedAt}); stop it first`, owner);
      }
      // stale (crashed owner) or unreadable half-written lock: take it over
      try {
        unlinkSync(path);
      } catch {
        /* someone else removed it */
      }
    }
  }
  throw new UmbraError(ErrorCode.LOCKED, `could not take the lock ${path}`);
}
