/**
 * The shadow controller as a process: takes the data directory's lock, wires the store, the
 * rollout service, the alerter and the bundles, runs retraining in a child process, and releases
 * everything when stopped. Also the other doors of `umbra shadow`: start in the background, stop
 * the running controller, read its status, compare and promote.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErrorCode, UmbraError } from '../core/errors.js';
import { rolloutStatus } from '../core/rollout/index.js';
import type { Settings } from '../core/settings.js';
import { writeFileAtomic } from '../platform/fs.js';
import { acquireLock, lockOwner } from '../platform/lock.js';
import { LOCK_FILE, ShadowController, readControllerState, type ShadowControllerOptions } from '../services/shadow/controller.js';
import type { RetrainResult } from '../services/shadow/retrain.js';
import { readShadowStats } from '../services/shadow/stats.js';
import { wire, type Wired } from './context.js';
import { openEventStream } from './stream.js';

const RETRAIN_MAIN = fileURLToPath(new URL('./retrain.main.js', import.meta.url));

/**
 * Retraining in a child process (retrain.main.ts): a crash or kill mid-training cannot touch the
 * controller, and a bundle is registered only after the child wrote it whole.
 */
export function childRetrainer(settings: Settings, dataDir: string, log: (m: string) => void): (newEpisodes: number, signal: AbortSignal) => Promise<RetrainResult> {
  return async (newEpisodes, signal) => {
    const cfgPath = join(dataDir, '.retrain-config.json');
    writeFileAtomic(cfgPath, JSON.stringify(settings.config));
    // The scratch directory belongs to this process: removed when the child ends, however it ends
    // (a child stopped with SIGTERM runs no cleanup of its own).
    const scratch = mkdtempSync(join(tmpdir(), 'umbra-retrain-'));
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, [RETRAIN_MAIN, dataDir, cfgPath, String(newEpisodes), scratch], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
      const kill = (): void => void child.kill('SIGTERM');
      signal.addEventListener('abort', kill, { once: true });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
      child.stderr!.on('data', (b: Buffer) => {
        stderr += b.toString();
        for (const line of b.toString().split('\n')) if (line.trim()) log(`  ${line.trim()}`);
      });
      child.on('error', reject);
      child.on('exit', (code, sig) => {
        signal.removeEventListener('abort', kill);
        rmSync(scratch, { recursive: true, force: true });
        const line = stdout.trim().split('\n').pop() ?? '';
        if (line.startsWith('{')) resolve(line);
        else reject(new UmbraError(ErrorCode.INTERNAL, `retraining process ended (${sig ?? `exit ${code}`}) without a result${stderr ? `: ${stderr.trim().split('\n').pop()}` : ''}`));
      });
    });
    const msg = JSON.parse(out) as { ok: true; result: RetrainResult } | { ok: false; error: { code: string; message: string } };
    if (!msg.ok) throw new UmbraError(ErrorCode.INTERNAL, `${msg.error.code}: ${msg.error.message}`);
    return msg.result;
  };
}

export interface ShadowRunOptions {
  settings: Settings;
  dataDir: string;
  telemetry: string;
  /** Read the fleet's event stream at this URL with the durable ingest consumer instead of following `telemetry`. */
  stream?: string;
  intervalHours?: number;
  minEpisodes?: number;
  /** Loader module for the shadow policies (tests inject failing ones). */
  loaderUrl?: string;
  /** Milliseconds between scheduling ticks. @default 250 */
  tickMs?: number;
  log?: (msg: string) => void;
  /** Retrain with this instead of a child process (tests). */
  retrain?: (newEpisodes: number, signal: AbortSignal) => Promise<RetrainResult>;
}

/**
 * Run the shadow controller of a data directory until `signal` aborts. Throws E_LOCKED when
 * another controller owns the data directory.
 */
export async function runShadowController(o: ShadowRunOptions, signal: AbortSignal): Promise<void> {
  const release = acquireLock(join(o.dataDir, LOCK_FILE), 'shadow controller');
  let w: Wired | undefined;
  try {
    w = wire({ settings: o.settings, dataDir: o.dataDir });
    const log = o.log ?? ((): void => undefined);
    const ctl = new ShadowController({
      store: w.store,
      rollout: w.rollout,
      alerter: w.alerter,
      bundles: w.bundles,
      settings: o.settings,
      retrain: o.retrain ?? childRetrainer(o.settings, o.dataDir, log),
      telemetry: o.telemetry,
      ...(o.stream === undefined ? {} : { follow: streamFollower(o.settings, o.stream) }),
      log,
      ...(o.intervalHours === undefined ? {} : { intervalHours: o.intervalHours }),
      ...(o.minEpisodes === undefined ? {} : { minEpisodes: o.minEpisodes }),
      ...(o.loaderUrl === undefined ? {} : { loaderUrl: o.loaderUrl }),
      ...(o.tickMs === undefined ? {} : { tickMs: o.tickMs }),
    });
    await ctl.run(signal);
  } finally {
    await w?.close().catch(() => undefined);
    release();
  }
}

/** The controller as the fleet's ingest consumer: the stream into the store, acknowledged after each commit. */
function streamFollower(settings: Settings, url: string): NonNullable<ShadowControllerOptions['follow']> {
  return async (store, signal, onError) => {
    const stream = await openEventStream(settings, url, 'umbra-shadow');
    try {
      return await stream.consume(store, { signal, onError });
    } finally {
      await stream.close();
    }
  };
}

/** Start the controller in the background (`--detach`): the same command line, detached, logging to `<data-dir>/shadow.log`. */
export async function startDetached(dataDir: string, argv: readonly string[]): Promise<{ pid: number; log: string }> {
  const lockPath = join(dataDir, LOCK_FILE);
  const owner = lockOwner(lockPath);
  if (owner) throw new UmbraError(ErrorCode.LOCKED, `the shadow controller is already running (pid ${owner.pid}, since ${owner.startedAt})`);
  const logPath = join(dataDir, 'shadow.log');
  const fd = openSync(logPath, 'a');
  const args = argv.slice(1).filter((a) => a !== '--detach');
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: process.env });
  closeSync(fd);
  child.unref();
  for (let i = 0; i < 100; i++) {
    const o = lockOwner(lockPath);
    if (o?.pid === child.pid) break;
    if (child.exitCode !== null) throw new UmbraError(ErrorCode.INTERNAL, `the controller exited at once (code ${child.exitCode}); see ${logPath}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { pid: child.pid ?? -1, log: logPath };
}

/** Stop the running controller of a data directory (SIGTERM, then wait up to 30 s for its lock). */
export async function stopController(dataDir: string): Promise<{ pid: number }> {
  const lockPath = join(dataDir, LOCK_FILE);
  const owner = lockOwner(lockPath);
  if (!owner) throw new UmbraError(ErrorCode.NOT_RUNNING, 'the shadow controller is not running for this data directory');
  process.kill(owner.pid, 'SIGTERM');
  for (let i = 0; i < 300 && lockOwner(lockPath); i++) await new Promise((r) => setTimeout(r, 100));
  if (lockOwner(lockPath)) throw new UmbraError(ErrorCode.TIMEOUT, `the controller (pid ${owner.pid}) did not stop within 30 s`);
  return { pid: owner.pid };
}

/** What `umbra shadow status` shows. */
export interface ShadowStatus {
  running: boolean;
  pid: number | null;
  uptimeS: number | null;
  stage: string;
  candidate: string | null;
  champion: string;
  lastRetrainAt: string | null;
  lastRetrainReason: string | null;
  lastRetrainError: string | null;
  nextRetrainAt: string | null;
  nextRetrainWhy: string | null;
  newEpisodes: number;
  /** Decisions the candidate scored in the shadow, all processes (the same number as the dashboard and `monitor`). */
  shadowScored: number;
  /** Decisions this controller scored since it started, every candidate. */
  controllerScored: number;
  shadowDropped: number;
  shadowErrors: number;
  shadowTimeouts: number;
  agreement: number | null;
  lastComparison: { passed: boolean; summary: string } | null;
  ingest: { decisions: number; turns: number; quarantined: number; bytesDone: number; bytesTotal: number; error: string | null } | null;
  heartbeatAt: string | null;
  lastEvent: string | null;
}

/** The controller's published state, the lock's owner and the rollout, in one view. */
export async function shadowStatus(w: Wired): Promise<ShadowStatus> {
  const lockPath = join(w.dataDir, LOCK_FILE);
  const st = await readControllerState(w.store);
  const owner = existsSync(lockPath) ? lockOwner(lockPath) : undefined;
  const r = rolloutStatus(await w.rollout.state());
  const stats = await readShadowStats(w.store);
  const cand = r.candidate;
  const cs = cand ? stats[cand] : undefined;
  const running = owner !== undefined;
  return {
    running,
    pid: owner?.pid ?? null,
    uptimeS: running && st?.startedAt ? Math.round((Date.now() - Date.parse(st.startedAt)) / 1000) : null,
    stage: r.stage,
    candidate: cand,
    champion: r.champion,
    lastRetrainAt: st?.lastRetrainAt ?? null,
    lastRetrainReason: st?.lastRetrainReason ?? null,
    lastRetrainError: st?.lastRetrainError ?? null,
    nextRetrainAt: running ? (st?.nextRetrainAt ?? null) : null,
    nextRetrainWhy: running ? (st?.nextRetrainWhy ?? null) : 'controller not running',
    newEpisodes: st?.newEpisodes ?? 0,
    shadowScored: cs?.scored ?? 0,
    controllerScored: st?.shadow.scored ?? 0,
    shadowDropped: (st?.shadow.dropped ?? 0) + (st?.shadow.shed ?? 0),
    shadowErrors: st?.shadow.errors ?? 0,
    shadowTimeouts: st?.shadow.timeouts ?? 0,
    agreement: cs && cs.compared > 0 ? cs.agree / cs.compared : null,
    lastComparison: st?.lastRetrain?.gates ?? null,
    ingest: st?.ingest ?? null,
    heartbeatAt: st?.heartbeatAt ?? null,
    lastEvent: st?.lastEvent ?? null,
  };
}
