/**
 * The shadow controller with real processes: a controller started from the CLI follows live
 * telemetry, a candidate appears, other processes read its status and compare it, promotion is
 * refused while a gate fails and accepted once all pass, and stop ends it. Also: kill -9 in the
 * middle of a retraining loses and duplicates nothing and keeps the previous candidate.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, umbra } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function setup(cfg: object): { dir: string; data: string; live: string; config: string; u: (args: string[]) => ReturnType<typeof umbra> } {
  const dir = tempDir('umbra-shadow-');
  const data = join(dir, 'data');
  const config = join(dir, 'config.json');
  writeFileSync(config, JSON.stringify(cfg));
  const u = (args: string[]): ReturnType<typeof umbra> => umbra(['--data-dir', data, '--config', config, ...args]);
  return { dir, data, live: join(dir, 'live.jsonl'), config, u };
}

function startController(s: ReturnType<typeof setup>, extra: string[] = []): ChildProcess {
  const c = spawn(process.execPath, [CLI, '--data-dir', s.data, '--config', s.config, 'shadow', 'start', '--telemetry', s.live, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  return c;
}

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 60_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Append a file's lines to the live telemetry in chunks (a writer at work). */
async function feed(src: string, dst: string, chunks: number): Promise<void> {
  const lines = readFileSync(src, 'utf8').split('\n').filter(Boolean);
  const per = Math.ceil(lines.length / chunks);
  for (let i = 0; i < lines.length; i += per) {
    appendFileSync(dst, `${lines.slice(i, i + per).join('\n')}\n`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const loose = {
  training: { min_episodes: 50 },
  promotion_criteria: { min_improvement_pct: -100, min_policy_value: 0, max_success_drop: 1, min_ess: 0, max_support_deficit: 1, min_episodes: 0 },
  ope: { gate_interval: 'normal' },
  rollout: { shadow_min_duration_s: 0, shadow_min_decisions: 500 },
};

describe('umbra shadow (real processes)', () => {
  it('start → candidate → status/compare from other processes → promote refused, then accepted → stop', async () => {
    const s = setup(loose);
    const boot = join(s.dir, 'boot.jsonl');
    expect(s.u(['bootstrap', '--episodes', '2500', '--seed', '11', '--format', 'decisions', '--exploration', '0.1', '--out', boot]).status).toBe(0);
    // one training on the first traffic (≥ 1,200 episodes); the rest (< 3 × 1,200) triggers no retraining within the hour
    const ctl = startController(s, ['--interval', '1', '--min-episodes', '1200']);
    await feed(boot, s.live, 5);
    const st = await until('a candidate', () => {
      const r = s.u(['shadow', 'status', '--json']);
      const j = JSON.parse(r.stdout) as { running: boolean; candidate: string | null; pid: number | null };
      return j.candidate ? j : undefined;
    });
    expect(st.running).toBe(true);
    expect(st.pid).toBe(ctl.pid);
    // a second controller for the same data directory is refused
    const second = s.u(['shadow', 'start', '--telemetry', s.live]);
    expect(second.status).toBe(11);
    expect(second.stderr).toContain('E_LOCKED');
    // compare from another process: per point, per gate
    const cmp = s.u(['shadow', 'compare', '--json']);
    expect(cmp.status).toBe(0);
    const c = JSON.parse(cmp.stdout) as { points: Record<string, { gates: { name: string; pass: boolean }[]; candidate: { value: number | null } }> };
    expect(Object.keys(c.points)).toContain('route');
    expect(c.points.route!.gates.map((g) => g.name)).toContain('min_policy_value');
    // the candidate has not scored 500 live decisions yet: the shadow gate refuses
    const refused = s.u(['shadow', 'promote', '--json']);
    expect(refused.status).toBe(9);
    expect(refused.stderr).toContain('E_GATE_FAILED');
    expect(refused.stderr).toContain('shadow scored');
    // more live traffic: the candidate scores it, and then every gate passes
    const boot2 = join(s.dir, 'boot2.jsonl');
    expect(s.u(['bootstrap', '--episodes', '1500', '--seed', '12', '--format', 'decisions', '--exploration', '0.1', '--out', boot2]).status).toBe(0);
    await feed(boot2, s.live, 3);
    let lastRefusal = '';
    const promoted = await until('a promotion', () => {
      const r = s.u(['shadow', 'promote', '--json']);
      lastRefusal = r.stderr;
      return r.status === 0 ? (JSON.parse(r.stdout) as { stage: string }) : undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}; last refusal: ${lastRefusal.slice(0, 1500)}`);
    });
    expect(promoted.stage).toBe('canary');
    const stop = s.u(['shadow', 'stop', '--json']);
    expect(stop.status).toBe(0);
    const after = JSON.parse(s.u(['shadow', 'status', '--json']).stdout) as { running: boolean };
    expect(after.running).toBe(false);
    expect(s.u(['rollout', 'verify', '--json']).status).toBe(0);
  }, 180_000);

  it('kill -9 mid-retrain: restart loses and duplicates nothing and keeps the previous candidate', async () => {
    const s = setup({ training: { min_episodes: 50 } });
    const boot = join(s.dir, 'boot.jsonl');
    expect(s.u(['bootstrap', '--episodes', '6000', '--seed', '21', '--out', boot]).status).toBe(0);
    let ctl = startController(s, ['--interval', '0.0001', '--min-episodes', '400']);
    await feed(boot, s.live, 3);
    const first = await until('a first candidate', () => (JSON.parse(s.u(['shadow', 'status', '--json']).stdout) as { candidate: string | null }).candidate ?? undefined);
    // catch the controller while it retrains (more data triggers a new training), then kill -9
    const boot2 = join(s.dir, 'boot2.jsonl');
    expect(s.u(['bootstrap', '--episodes', '4000', '--seed', '22', '--out', boot2]).status).toBe(0);
    appendFileSync(s.live, readFileSync(boot2));
    const statePath = join(s.data, 'umbra.db');
    expect(existsSync(statePath)).toBe(true);
    await until('a retraining', () => (JSON.parse(s.u(['shadow', 'status', '--json']).stdout) as { nextRetrainWhy: string }).nextRetrainWhy === 'retraining now', 30_000).catch(() => undefined);
    ctl.kill('SIGKILL');
    await new Promise((r) => ctl.once('exit', r));
    const mid = JSON.parse(s.u(['shadow', 'status', '--json']).stdout) as { running: boolean; candidate: string | null };
    expect(mid.running).toBe(false);
    expect(mid.candidate).not.toBeNull();
    // restart over the stale lock; everything gets ingested exactly once
    ctl = startController(s, ['--interval', '100', '--min-episodes', '100000']);
    const uniqueTurns = new Set(
      readFileSync(s.live, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { trace_id?: string; route?: string; kind?: string })
        .filter((e) => e.kind === undefined && ['micro', 'planner', 'deep'].includes(e.route ?? ''))
        .map((e) => e.trace_id),
    );
    const done = await until('full ingestion', () => {
      const j = JSON.parse(s.u(['shadow', 'status', '--json']).stdout) as { ingest: { bytesDone: number; bytesTotal: number } | null };
      return j.ingest && j.ingest.bytesTotal > 0 && j.ingest.bytesDone === j.ingest.bytesTotal ? j : undefined;
    });
    expect(done).toBeDefined();
    s.u(['shadow', 'stop']);
    const counts = JSON.parse(s.u(['ingest', '--telemetry', s.live, '--json']).stdout) as { eventsStored: number };
    expect(counts.eventsStored).toBe(0); // nothing left unread
    const mon = s.u(['monitor', '--once', '--json']);
    expect(mon.stderr).toBe('');
    const status = JSON.parse(mon.stdout) as { counts: { decisions: number } };
    const routeDecisions = status.counts.decisions;
    expect(routeDecisions).toBeGreaterThanOrEqual(uniqueTurns.size); // route decisions plus tool/cache decisions
    const rs = JSON.parse(s.u(['rollout', 'status', '--json']).stdout) as { candidate: string | null };
    expect(rs.candidate).not.toBeNull();
    expect(existsSync(join(s.data, 'shadow_models', rs.candidate!, 'manifest.json'))).toBe(true);
    expect(first).toMatch(/^cand-/);
  }, 180_000);
});
