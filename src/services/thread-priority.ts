/**
 * Background threads step back for the event loop. On a machine with fewer cores than busy
 * threads, the decision service's shadow scoring and store threads would otherwise take turns on
 * the CPU with the thread that answers `/v1/decide`, and every turn they take is latency for a
 * user. Linux lets a thread change its own scheduling (a thread is a task of its own there):
 *
 * - `idle`: SCHED_IDLE, via `chrt` (util-linux). Such a thread runs only on a core that nothing
 *   else wants, and a normal thread that wakes up preempts it at once. Falls back to `low` (at
 *   niceness 19) when `chrt` is missing or refuses.
 * - `low`: a higher niceness (`setpriority` on the calling thread).
 * - `normal`: as the process.
 *
 * Elsewhere than Linux these calls would apply to the whole process, so nothing is changed there.
 * Best effort: a failure leaves the thread as it was.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';

/** How a background thread is scheduled. */
export type BackgroundPriority = 'idle' | 'low' | 'normal';

/** What the calling thread ended up with. */
export interface ThreadScheduling {
  policy: 'idle' | 'other';
  niceness: number;
}

const SCHED_IDLE = 5;

/** The calling thread's id (Linux). */
function threadId(): string {
  return readlinkSync('/proc/thread-self').split('/').pop()!;
}

/** The calling thread's scheduling, read back from /proc (Linux); undefined elsewhere. */
export function threadScheduling(): ThreadScheduling | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    // Fields after the command name (which may hold spaces), from field 3 on; policy is field 41.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { policy: Number(fields[41 - 3]) === SCHED_IDLE ? 'idle' : 'other', niceness: os.getPriority() };
  } catch {
    return undefined;
  }
}

/**
 * Lower the calling thread's priority (see the module comment); `niceness` is used by `low`.
 * Never raises it. Returns what the thread got (undefined when nothing could be changed).
 */
export function lowerThreadPriority(priority: BackgroundPriority, niceness = 10): ThreadScheduling | undefined {
  if (process.platform !== 'linux' || priority === 'normal') return undefined;
  try {
    const target = Math.min(19, Math.max(os.getPriority(), Math.round(priority === 'idle' ? 19 : niceness)));
    if (target > 0) os.setPriority(target);
    if (priority === 'idle') spawnSync('chrt', ['--idle', '--pid', '0', threadId()], { stdio: 'ignore', timeout: 5000 });
    return threadScheduling();
  } catch {
    return threadScheduling();
  }
}
