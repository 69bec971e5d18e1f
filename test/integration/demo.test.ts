/**
 * `umbra demo --quick` as a newcomer runs it (a child process), checked from what it left behind:
 * the bootstrap data, the audit log (register, shadow → canary → production by the judge, the bad
 * candidate's forced canary and automatic rollback) and the decision log (canary and control
 * slices served), never from printed text.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSettings, wire } from '../../src/app/context.js';
import { parseServedTag } from '../../src/services/rollout/served-tag.js';
import { buildSnapshot } from '../../src/services/monitoring/status.js';
import { CLI, umbra } from '../helpers/cli.js';
import { tempDir } from '../helpers/tmp.js';

function runDemo(dataDir: string | null, o: { tmp?: string; interruptAt?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const args = [CLI, ...(dataDir === null ? [] : ['--data-dir', dataDir]), '--json', 'demo', '--quick', '--seed', '7'];
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(o.tmp === undefined ? {} : { TMPDIR: o.tmp }) } });
    let stdout = '';
    let stderr = '';
    let interrupted = false;
    c.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (o.interruptAt !== undefined && !interrupted && stderr.includes(o.interruptAt)) {
        interrupted = true;
        c.kill('SIGINT');
      }
    });
    c.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('umbra demo --quick', () => {
  it('refuses a data directory that is not empty', () => {
    const dir = tempDir('umbra-demo-busy-');
    writeFileSync(join(dir, 'keep.txt'), 'someone else\'s data\n');
    const r = umbra(['--data-dir', dir, 'demo', '--quick']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('E_USAGE');
    expect(r.stderr).toContain('not empty');
    expect(readFileSync(join(dir, 'keep.txt'), 'utf8')).toBe("someone else's data\n");
  });

  it('runs every phase: bootstrap, candidate, shadow → canary → production by the judge, a bad candidate rolled back', async () => {
    const dataDir = join(tempDir('umbra-demo-'), 'data');
    const r = await runDemo(dataDir);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const summary = JSON.parse(r.stdout) as { dataDir: string; candidate: { version: string }; bad: { version: string } | null; dataDirKept: boolean; dataDirBytes: number; serviceRunning: boolean };
    expect(summary.dataDir).toBe(dataDir);
    // a data directory of the user's own is kept, its size stated; the service has stopped
    expect(summary.dataDirKept).toBe(true);
    expect(summary.dataDirBytes).toBeGreaterThan(1_000_000);
    expect(summary.serviceRunning).toBe(false);

    // bootstrap data exists
    const boot = join(dataDir, 'bootstrap.jsonl');
    expect(existsSync(boot)).toBe(true);
    expect(readFileSync(boot, 'utf8').split('\n').filter(Boolean).length).toBeGreaterThan(1000);

    const settings = loadSettings({ dataDir });
    const config = settings.config;
    const w = wire({ settings, dataDir });
    const { store, rollout } = w;
    try {
      expect((await rollout.verify()).ok).toBe(true);
      const hist = await rollout.history();
      const good = summary.candidate.version;
      const moves = (v: string): string[] => hist.filter((h) => h.version === v).map((h) => `${h.event}:${h.from ?? '-'}→${h.to ?? '-'}:${h.actor}:${h.trigger}`);
      const g = moves(good);
      expect(g.some((m) => m.startsWith('register:'))).toBe(true);
      expect(g, JSON.stringify(g)).toContain('promote:shadow→canary:judge:auto');
      expect(g, JSON.stringify(g)).toContain('promote:canary→production:judge:auto');
      expect(bundleExists(dataDir, good)).toBe(true);

      expect(summary.bad).not.toBeNull();
      const bad = summary.bad!.version;
      const b = moves(bad);
      const forced = hist.find((h) => h.version === bad && h.event === 'promote' && h.to === 'canary');
      expect(forced?.trigger).toBe('manual');
      expect(forced?.reason).toMatch(/rollback/);
      expect(b, JSON.stringify(b)).toContain('rollback:canary→rolled_back:judge:auto');
      // the learned champion is still in production after the bad one was rolled back
      expect((await rollout.state()).champion).toBe(good);

      // decisions served by the canary and control slices of the learned candidate are in the store
      let canary = 0;
      let control = 0;
      let production = 0;
      for await (const d of store.decisions({ point: 'route' })) {
        const t = parseServedTag(d.event.policy);
        if (t === undefined) continue;
        if (t.slice === 'canary' && t.version === good) canary++;
        else if (t.slice === 'control') control++;
        else if (t.slice === 'production' && t.version === good) production++;
      }
      expect(canary).toBeGreaterThanOrEqual(config.rollout.canary_min_decisions_per_slice);
      expect(control).toBeGreaterThanOrEqual(config.rollout.canary_min_decisions_per_slice);
      expect(production).toBeGreaterThan(0);

      // The dashboard after the demo: production healthy under the learned champion, the bad
      // candidate's rollback shown as history, the champion's offline estimates and diagnostics.
      const snap = await buildSnapshot({ store, rollout, settings, bundles: w.bundles });
      expect(snap.status.production.health).toBe('healthy');
      expect(snap.status.stage).toBe('rolled_back');
      expect(snap.status.candidateInFlight).toBe(false);
      expect(snap.offline?.version).toBe(good);
      expect(snap.offline?.of).toBe('champion');
      expect(snap.offline?.points.route?.estimates.dr?.value).toBeTypeOf('number');
      expect(snap.offline?.points.route?.diagnostics?.ess).toBeTypeOf('number');
    } finally {
      await w.close();
    }
  }, 600_000); // the whole demo: about a minute on a quiet machine; its phases stretch (to a cap) on a loaded one

  it('without --data-dir: its temporary data directory is removed at the end, even when interrupted', async () => {
    const tmp = tempDir('umbra-demo-tmp-');
    const r = await runDemo(null, { tmp, interruptAt: '[3/6]' });
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const summary = JSON.parse(r.stdout) as { dataDir: string; dataDirKept: boolean; serviceRunning: boolean };
    expect(summary.dataDir.startsWith(tmp)).toBe(true);
    expect(summary.dataDirKept).toBe(false);
    expect(summary.serviceRunning).toBe(false);
    expect(readdirSync(tmp)).toEqual([]);
  }, 150_000);
});

function bundleExists(dataDir: string, version: string): boolean {
  return existsSync(join(dataDir, 'shadow_models', version, 'manifest.json'));
}
