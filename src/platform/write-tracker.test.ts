import { describe, expect, it } from 'vitest';
import { WriteTracker } from './write-tracker.js';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('WriteTracker', () => {
  it('counts unwritten records until each write settles, and resolves "written" only after all of them', async () => {
    const t = new WriteTracker();
    const a = deferred();
    const b = deferred();
    const seen: boolean[] = [];
    t.track(3, a.promise, (ok) => seen.push(ok));
    const all = t.track(2, b.promise, (ok) => seen.push(ok));
    expect(t.unwritten).toBe(5);
    let done = false;
    void all.then(() => (done = true));
    b.reject(new Error('disk full'));
    await new Promise((r) => setTimeout(r, 0));
    expect(t.unwritten).toBe(3);
    expect(done).toBe(false);
    a.resolve();
    await all;
    expect(t.unwritten).toBe(0);
    expect(seen).toEqual([false, true]);
    await expect(t.written).resolves.toBeUndefined();
  });

  it('turns a store call that throws at once into a failed write', async () => {
    const t = new WriteTracker();
    let ok: boolean | undefined;
    await t.track(1, WriteTracker.attempt(() => { throw new Error('broken adapter'); }), (x) => (ok = x));
    expect(ok).toBe(false);
    expect(t.unwritten).toBe(0);
  });
});
