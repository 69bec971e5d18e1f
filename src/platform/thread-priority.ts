/**
 * Background threads step back for the event loop. On a machine with fewer cores than busy
 * threads, the decision service's shadow-scoring and store threads would otherwise take equal
 * turns on the CPU with the thread that answers `/v1/decide`, and every turn they take is latency
 * for a user. Linux lets a thread change its own niceness (a thread is a task of its own there):
 * `low` raises the calling thread's niceness; `normal` leaves it as the process's.
 *
 * Not SCHED_IDLE, although it measured better on a quiet machine: on a machine saturated by other
 * work (two CPU hogs on two cores) the event loop then stalled for up to 1.2 s, most likely on a
 * lock shared by the threads of the process (message ports, the allocator, module loading) held
 * by the starved idle-only thread. A niceness keeps every thread progressing (longest stall 14 ms).
 *
 * Elsewhere than Linux `setpriority` would apply to the whole process, so nothing is changed
 * there. Best effort: a failure leaves the thread as it was.
 */
import os from 'node:os';

/** How a background thread is scheduled. */
export type BackgroundPriority = 'low' | 'normal';

/**
 * Raise the calling thread's niceness to `niceness` (`low`; never lowers it). Returns the
 * niceness in effect, or undefined when nothing was changed.
 */
export function lowerThreadPriority(priority: BackgroundPriority, niceness = 10): number | undefined {
  if (process.platform !== 'linux' || priority === 'normal') return undefined;
  try {
    const target = Math.min(19, Math.max(os.getPriority(), Math.round(niceness)));
    if (target > 0) os.setPriority(target);
    return os.getPriority();
  } catch {
    return undefined;
  }
}
