/**
 * The dashboard page against the real decision service (not a fixture): simulated Alice traffic
 * through `/v1/decide`, a learned candidate in shadow, the page open in Debian's Chromium; it loads
 * without console errors, its charts paint from real data, and a promotion and a pause done with
 * the CLI in another process appear on the open page without a reload. Writes
 * test-artifacts/dashboard-live.png.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { copyFileSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { runSimulate } from '../../src/services/jobs/simulate.js';
import type { ConfigInput } from '../../src/core/config/index.js';
import type { RunningServer } from '../../src/app/serve.js';
import { chromiumPath, collectPageProblems, hasChromium, launchBrowser, paintedPixels } from '../helpers/browser.js';
import { umbra } from '../helpers/cli.js';
import { bundlesModule, configModule, startTestServer } from '../helpers/server.js';
import { projectRoot } from '../helpers/shared-data.js';
import { tempDir } from '../helpers/tmp.js';

const ARTIFACTS = join(projectRoot, 'test-artifacts');
const run = promisify(execFile);
const TOKEN = 'live-admin-token';
const CFG: ConfigInput = { server: { decision_deadline_ms: 200, request_deadline_ms: 500, log_flush_ms: 20, exploration_floor: 0.1, admin_token: TOKEN }, shadow_mode: { time_budget_ms: 100 } };

describe.skipIf(!hasChromium)('dashboard against the live server', () => {
  let browser: Browser;
  let server: (RunningServer & { dataDir: string }) | undefined;
  let version = '';
  let manifest = '';

  beforeAll(async () => {
    const dir = tempDir('umbra-dash-live-');
    const boot = join(dir, 'boot.jsonl');
    expect(umbra(['bootstrap', '--episodes', '2000', '--seed', '4', '--format', 'decisions', '--exploration', '0.2', '--out', boot]).status).toBe(0);
    expect(umbra(['pipeline', '--telemetry', boot, '--out', join(dir, 'pipe')]).status).toBe(0);
    server = await startTestServer(CFG, { checkIntervalMs: 500 });
    manifest = join(dir, 'pipe', 'manifest.json');
    version = bundlesModule.Bundles.of(server.dataDir, configModule.compileConfig(CFG)).saveFromPipeline(manifest).version;
    const pass = { passed: true, summary: 'test gates' };
    await server.rollout.apply({ type: 'register', id: version, actor: 'test' });
    await server.rollout.apply({ type: 'start_shadow', gates: pass, actor: 'test' });
    await server.engine.refresh();
    await runSimulate({ telemetry: join(dir, 'sim.jsonl'), server: server.url, rate: 2000, durationS: 0.6, seed: 9, timeoutMs: 1000, maxInFlight: 16 });
    await server.engine.flush();
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('loads cleanly, paints real data, and follows CLI actions without a reload', async () => {
    const s = server!;
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    const foreign: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(`${s.url}/`) && !req.url().startsWith('data:')) foreign.push(req.url());
    });
    await page.goto(s.url, { waitUntil: 'load' });
    await page.locator('#live[data-state="live"]').waitFor({ timeout: 10_000 });
    await expect.poll(() => page.locator('#stage').textContent(), { timeout: 10_000 }).toBe('shadow');
    expect(await page.locator('#candidate').textContent()).toBe(version);
    expect(foreign).toEqual([]);

    // Charts paint from the server's own snapshot: the KPI trends and the action bars at least.
    await expect.poll(async () => (await paintedPixels(page, '[data-chart] canvas')).filter((n) => n > 50).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(6);
    const decisions = Number((await page.locator('#count-decisions').textContent())?.replace(/[^0-9]/g, '') || '0');
    expect(decisions).toBeGreaterThanOrEqual(1000);

    await page.evaluate(() => {
      (globalThis as unknown as { umbraProbe: string }).umbraProbe = 'same-page';
    });
    const cli = (args: string[]): void => {
      const r = umbra(['--data-dir', s.dataDir, 'rollout', ...args]);
      expect(r.status, r.stderr).toBe(0);
    };
    cli(['promote', '--force', '--reason', 'live dashboard test', '--weight', '0.1']);
    await page.locator('#stage', { hasText: 'canary' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#canary-weight').textContent()).toBe('10%');
    cli(['pause', '--reason', 'looking at the page']);
    await page.locator('#stage', { hasText: 'paused' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#history tbody tr').first().textContent()).toContain('looking at the page');
    expect(await page.evaluate(() => (globalThis as unknown as { umbraProbe?: string }).umbraProbe)).toBe('same-page');

    // The candidate's offline estimates (from its pipeline manifest) are in the Evaluation panel.
    expect(await page.locator('#offline-box').isVisible()).toBe(true);
    expect(await page.locator('#offline tbody tr').count()).toBeGreaterThanOrEqual(1);

    // Rolled back: production is still healthy (green), the candidate's fate is dimmed history.
    cli(['rollback', '--reason', 'looked worse than production']);
    await page.locator('#stage[data-inflight="false"]', { hasText: 'rolled back' }).waitFor({ timeout: 10_000 });
    expect(await page.locator('#production-health').textContent()).toBe('healthy');
    expect(await page.locator('#production-health').getAttribute('data-health')).toBe('healthy');

    // The dashboard's register action: the trained route policy into the shadow, through the
    // admin endpoint and the same checks as `umbra rollout register`.
    await page.click('#btn-register');
    await page.fill('#admin-token', TOKEN);
    await page.fill('#admin-artifact', manifest);
    await page.fill('#admin-point', 'route');
    await page.fill('#admin-reason', 'registered from the dashboard');
    await page.click('#admin-submit');
    await page.locator('.toast', { hasText: 'registered → shadow' }).waitFor({ timeout: 10_000 });
    await page.locator('#stage[data-inflight="true"]', { hasText: 'shadow' }).waitFor({ timeout: 10_000 });
    const registered = await page.locator('#candidate').textContent();
    expect(registered).not.toBe(version);
    expect((await s.rollout.history()).filter((r) => r.version === registered).map((r) => `${r.event}:${r.actor}`)).toEqual(['register:http:admin', 'start_shadow:http:admin']);
    expect(await page.locator('#history tbody tr').first().textContent()).toContain('http:admin');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-live.png'), fullPage: true });
    expect(problems.errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('a plain `chromium --headless --screenshot` (no waiting, no script of ours) shows data: the page carries its snapshot', async () => {
    const s = server!;
    const dir = tempDir('umbra-shot-');
    const png = join(dir, 'plain.png');
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--window-size=1280,900'];
    // Asynchronously: the service answering the browser runs in this process.
    await run(chromiumPath(), [...args, `--screenshot=${png}`, `${s.url}/`], { timeout: 60_000 });
    expect(statSync(png).size).toBeGreaterThan(20_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    copyFileSync(png, join(ARTIFACTS, 'dashboard-plain-screenshot.png'));
    // The same load, as the DOM the screenshot was taken of: data, not "connecting" placeholders.
    const dom = await run(chromiumPath(), [...args, '--dump-dom', `${s.url}/`], { timeout: 60_000, maxBuffer: 32 << 20 });
    const text = (id: string): string => new RegExp(`id="${id}"[^>]*>([^<]*)<`).exec(dom.stdout)?.[1] ?? '';
    expect(text('candidate')).toMatch(/^cand-/);
    expect(text('production-health')).toBe('healthy');
    expect(text('count-decisions').replace(/[^0-9]/g, '').length).toBeGreaterThan(3);
    expect(dom.stdout).toMatch(/data-kpi="successRate"/);
  }, 90_000);
});
