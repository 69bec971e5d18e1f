/**
 * Lower the scheduling priority of the calling thread. On Linux `setpriority(PRIO_PROCESS, 0, n)`
 * applies to the calling thread only, so a worker thread can step back for the main thread of the
 * same process (the decision service's event loop) when the machine has fewer cores than busy
 * threads. Elsewhere it would apply to the whole process, so it is done on Linux only. Best effort:
 * any failure leaves the priority as it was. Returns the niceness in effect, or undefined.
 */
import os from 'node:os';
import { readlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';

export function lowerThreadPriority(niceness: number): number | undefined {
  if (process.platform !== 'linux' || niceness <= 0) return undefined;
  try {
    const target = Math.min(19, Math.max(os.getPriority(), Math.round(niceness)));
    os.setPriority(target);
    if (process.env.UMBRA_SCHED_IDLE) {
      const tid = readlinkSync('/proc/thread-self').split('/').pop()!;
      const r = spawnSync('chrt', ['-i', '-p', '0', tid]);
      if (process.env.UMBRA_DEBUG) console.error('chrt', tid, r.status, String(r.stderr));
    }
    return os.getPriority();
  } catch {
    return undefined;
  }
}
