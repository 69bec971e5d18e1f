/**
 * `umbra serve --replicas N`: N decision-service processes on one host sharing one port through
 * node:cluster (the primary accepts and hands connections out in turn), so every core answers.
 * The replicas share nothing in memory: each opens the store (PostgreSQL, or the SQLite file) and
 * the event stream itself and re-reads the rollout state every `server.state_poll_ms`. The primary
 * only supervises: a replica that dies is started again; SIGINT/SIGTERM stop them all.
 */
import cluster, { type Worker } from 'node:cluster';

/** What a replica tells the primary once it listens. */
interface Listening {
  umbraListening: string;
}

/** True in a replica process started by `superviseReplicas`. */
export function isReplica(): boolean {
  return cluster.isWorker;
}

/** A replica announces its address to the primary (a no-op outside a cluster). */
export function announceListening(url: string): void {
  if (cluster.isWorker && process.send !== undefined) process.send({ umbraListening: url } satisfies Listening);
}

/**
 * Run `n` replicas of this very command and supervise them until SIGINT/SIGTERM. `onListening`
 * hears the address once the first replica listens. Resolves when all have stopped.
 */
export function superviseReplicas(n: number, o: { onListening?: (url: string) => void; onRestart?: (replica: number, code: number | null, signal: string | null) => void } = {}): Promise<void> {
  let stopping = false;
  let announced = false;
  const byWorker = new Map<Worker, number>();
  const start = (i: number): void => {
    const w = cluster.fork({ UMBRA_REPLICA: String(i) });
    byWorker.set(w, i);
    w.on('message', (m: unknown) => {
      const url = (m as Partial<Listening> | null)?.umbraListening;
      if (typeof url === 'string' && !announced) {
        announced = true;
        o.onListening?.(url);
      }
    });
  };
  return new Promise((resolve) => {
    cluster.on('exit', (w, code, signal) => {
      const i = byWorker.get(w);
      byWorker.delete(w);
      if (!stopping && i !== undefined) {
        o.onRestart?.(i, code, signal);
        setTimeout(() => {
          if (!stopping) start(i);
        }, 200);
      }
      if (stopping && byWorker.size === 0) resolve();
    });
    const stop = (): void => {
      if (stopping) return;
      stopping = true;
      if (byWorker.size === 0) resolve();
      for (const w of byWorker.keys()) w.kill('SIGTERM');
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    for (let i = 0; i < n; i++) start(i);
  });
}
