/**
 * A full garbage collection on request, for long batch jobs at the boundary between two phases
 * (`umbra ope` after reading a large log): what the first phase left behind is returned before the
 * second allocates, so the peak resident size is the larger phase's, not their sum. V8 would
 * collect it eventually anyway; this only chooses when. Uses the collector exposed with
 * `--expose-gc`, else exposes it once through V8's flags; where neither works, it does nothing.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let collector: (() => void) | null | undefined;

function find(): (() => void) | null {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

/** Collect garbage now (a full collection), when the runtime allows it. Returns whether it ran. */
export function collectGarbage(): boolean {
  collector ??= find();
  if (collector === null) return false;
  collector();
  return true;
}
