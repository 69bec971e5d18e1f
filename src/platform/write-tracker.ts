/**
 * Writes handed to a store without waiting for them: the decision log and the shadow records go
 * to the store thread in small hand-overs that must not queue behind each other. This keeps count
 * of the records still unwritten (for the callers' bounds) and gives one promise for "everything
 * handed over so far is written".
 *
 * The records must die young, not live on while the store commits: callers start the write
 * themselves (`attempt`) and pass its promise, so that no closure that outlives the write shares
 * a scope with the records (V8 keeps one context per scope for all of its closures).
 */
export class WriteTracker {
  /** Records handed over and not yet written (or failed). */
  unwritten = 0;
  private all: Promise<void> = Promise.resolve();

  /**
   * Track a write of `n` records already started; `settled` is told whether it succeeded.
   * Returns the promise that everything handed over so far is written.
   */
  track(n: number, write: Promise<unknown>, settled: (ok: boolean) => void): Promise<void> {
    this.unwritten += n;
    const done = write.then(
      () => settled(true),
      () => settled(false),
    );
    const counted = done.finally(() => {
      this.unwritten -= n;
    });
    this.all = Promise.all([this.all, counted]).then(() => undefined);
    return this.all;
  }

  /** The promise of a store call that may also throw at once (a broken adapter). */
  static attempt(call: () => Promise<unknown>): Promise<unknown> {
    try {
      return call();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Resolves when everything handed over so far is written (never rejects). */
  get written(): Promise<void> {
    return this.all;
  }
}
