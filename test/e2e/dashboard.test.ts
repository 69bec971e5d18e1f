/**
 * The dashboard page in a real browser (Debian's Chromium via playwright-core) against the fixture
 * server: it loads cleanly, every chart paints, pushed snapshots show up without a reload, the
 * polling fallback works, admin actions carry the bearer token, and empty data renders as
 * "no data yet". Writes test-artifacts/dashboard.png.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { DashboardSnapshotSchema, type DashboardSnapshot } from '../../src/core/dashboard.js';
import { KPI_NAMES, SEED_BASELINE, SEED_TARGET, type KpiName } from '../../src/core/events.js';
import { Rng } from '../../src/core/rng.js';
import { collectPageProblems, hasChromium, launchBrowser, paintedPixels, type PageProblems } from '../helpers/browser.js';
import { startFixtureDashboardServer, type FixtureDashboardServer } from '../helpers/fixture-dashboard-server.js';
import { projectRoot } from '../helpers/shared-data.js';

const SEED = 20_260_302;
const TOKEN = 'test-admin-token';
const ARTIFACTS = join(projectRoot, 'test-artifacts');
/** 1 value chart + 5 KPI sparklines + 1 bar chart. */
const CHART_CANVASES = 7;

const iso = (unixS: number): string => new Date(unixS * 1000).toISOString();
const round = (x: number, d = 4): number => Math.round(x * 10 ** d) / 10 ** d;

/**
 * A realistic mid-canary snapshot: two days of hourly value estimates (the shadow candidate starts
 * six hours in, so its first points are null), KPI trends drifting from the seed's baseline, four
 * traffic slices, some quarantined lines and alerts of each severity.
 */
function fixtureSnapshot(nowS: number, seed = SEED): DashboardSnapshot {
  const rng = new Rng(seed);
  const hours = 48;
  const t = Array.from({ length: hours }, (_, i) => nowS - (hours - 1 - i) * 3600);
  const value = { t, production: [] as (number | null)[], productionLo: [] as (number | null)[], productionHi: [] as (number | null)[], shadow: [] as (number | null)[], shadowLo: [] as (number | null)[], shadowHi: [] as (number | null)[] };
  for (let i = 0; i < hours; i++) {
    const p = 0.655 + 0.006 * rng.normal();
    value.production.push(round(p));
    value.productionLo.push(round(p - 0.017));
    value.productionHi.push(round(p + 0.017));
    if (i < 6) {
      value.shadow.push(null);
      value.shadowLo.push(null);
      value.shadowHi.push(null);
      continue;
    }
    const s = 0.62 + 0.095 * (1 - Math.exp(-(i - 6) / 10)) + 0.006 * rng.normal();
    const half = 0.09 / Math.sqrt(i - 5) + 0.012;
    value.shadow.push(round(s));
    value.shadowLo.push(round(s - half));
    value.shadowHi.push(round(s + half));
  }
  const now: Record<KpiName, number> = { toolPrecision: 0.712, successRate: 0.874, p95LatencyMs: 1840, cacheHitRate: 0.618, policyValue: 0.709 };
  const kpis = KPI_NAMES.map((name) => {
    const base = SEED_BASELINE[name];
    const trend = Array.from({ length: 24 }, (_, i): [number, number] => {
      const f = (i + 1) / 24;
      const v = base + (now[name] - base) * Math.sqrt(f) + (name === 'p95LatencyMs' ? 120 : 0.008) * rng.normal();
      return [nowS - (23 - i) * 7200, round(v)];
    });
    return { name, baseline: base, now: now[name], target: SEED_TARGET[name], trend };
  });
  const start = nowS - 50 * 3600;
  return DashboardSnapshotSchema.parse({
    ts: iso(nowS),
    status: { stage: 'canary', champion: null, candidate: 'route-linucb-3f9a2c1e', canaryWeight: 0.05, uptimeS: 3 * 86400 + 4 * 3600 + 17 * 60, candidateInFlight: true, production: { health: 'healthy', reason: 'rules serving production' } },
    kpis,
    value,
    slices: {
      production: { micro: 3811, planner: 4930, deep: 2544 },
      canary: { micro: 212, planner: 301, deep: 96 },
      control: { micro: 188, planner: 262, deep: 151 },
      shadow: { micro: 3902, planner: 5633, deep: 2360 },
    },
    agreement: 0.781,
    diagnostics: { ess: 2184.6, supportDeficit: 0.031, maxWeight: 18.4, n: 11895 },
    counts: {
      decisions: 12495,
      quarantined: { total: 57, byReason: { torn_line: 31, schema: 14, duplicate_conflict: 8, future_timestamp: 4 } },
      shadowScored: 11895,
      shadowDropped: 23,
      fallbacks: 41,
    },
    history: [
      { seq: 1, ts: iso(start), event: 'register', from: null, to: 'registered', actor: 'trainer', reason: null, policy: 'route-linucb-3f9a2c1e' },
      { seq: 2, ts: iso(start + 60), event: 'auto', from: 'registered', to: 'shadow', actor: 'system', reason: 'artifact valid, feature map compatible', policy: 'route-linucb-3f9a2c1e' },
      { seq: 3, ts: iso(nowS - 20 * 3600), event: 'promote', from: 'shadow', to: 'canary', actor: 'cli:ops', reason: 'offline gates passed', policy: 'route-linucb-3f9a2c1e' },
    ],
    alerts: [
      { ts: iso(nowS - 20 * 3600), kind: 'stage_change', severity: 'info', message: 'shadow → canary (route-linucb-3f9a2c1e)' },
      { ts: iso(nowS - 5 * 3600), kind: 'ingest_errors', severity: 'warning', message: 'quarantine rate 0.6% over the last hour (threshold 0.5%)' },
      { ts: iso(nowS - 3600), kind: 'guardrail', severity: 'critical', message: 'p95 latency guardrail: canary 2,310 ms vs control 1,790 ms (n = 609)' },
    ],
    selection: {
      version: 'route-linucb-3f9a2c1e',
      points: {
        route: {
          chosen: 'sparse',
          candidates: [
            { name: 'configured', algorithm: 'linucb', value: 0.704, lower: 0.657 },
            { name: 'sparse', algorithm: 'sparse', value: 0.729, lower: 0.685 },
            { name: 'constant-best', algorithm: 'constant', value: 0.639, lower: 0.6 },
            { name: 'rules', algorithm: 'constant', value: 0.666, lower: 0.655 },
          ],
        },
      },
    },
    offline: null,
  });
}

/** A snapshot with nothing measured yet: every series empty, every estimate null. */
function emptySnapshot(nowS: number): DashboardSnapshot {
  return DashboardSnapshotSchema.parse({
    ts: iso(nowS),
    status: { stage: 'shadow', champion: null, candidate: null, canaryWeight: 0.05, uptimeS: 12, candidateInFlight: false, production: { health: 'healthy', reason: 'rules serving production' } },
    kpis: KPI_NAMES.map((name) => ({ name, baseline: SEED_BASELINE[name], now: null, target: SEED_TARGET[name], trend: [] })),
    value: { t: [], production: [], productionLo: [], productionHi: [], shadow: [], shadowLo: [], shadowHi: [] },
    slices: {},
    agreement: null,
    diagnostics: { ess: null, supportDeficit: null, maxWeight: null, n: null },
    counts: { decisions: 0, quarantined: { total: 0, byReason: {} }, shadowScored: 0, shadowDropped: 0, fallbacks: 0 },
    history: [],
    alerts: [],
    selection: null,
    offline: null,
  });
}

/** The snapshot after a promotion to production: a new history row, p95 now under its target. */
function promoted(s: DashboardSnapshot, nowS: number): DashboardSnapshot {
  const seq = Math.max(...s.history.map((r) => r.seq)) + 1;
  return {
    ...s,
    ts: iso(nowS),
    status: { ...s.status, stage: 'production', champion: s.status.candidate, canaryWeight: 1, candidateInFlight: false },
    kpis: s.kpis.map((k) => (k.name === 'p95LatencyMs' ? { ...k, now: 450 } : k)),
    history: [...s.history, { seq, ts: iso(nowS), event: 'promote', from: 'canary', to: 'production', actor: 'cli:ops', reason: 'guardrails green for 24 h', policy: s.status.candidate }],
  };
}

describe.skipIf(!hasChromium)('dashboard page (Chromium)', () => {
  let browser: Browser;
  let server: FixtureDashboardServer | undefined;
  let context: BrowserContext | undefined;
  const nowS = Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });
  afterEach(async () => {
    await context?.close();
    context = undefined;
    await server?.close();
    server = undefined;
  });

  async function open(snapshot: DashboardSnapshot, opts: { sse?: boolean } = {}): Promise<{ page: Page; problems: PageProblems; srv: FixtureDashboardServer; foreign: string[] }> {
    server = await startFixtureDashboardServer({ snapshot, adminToken: TOKEN, ...opts });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1 });
    const page = await context.newPage();
    const problems = collectPageProblems(page);
    const origin = server.url;
    const foreign: string[] = [];
    page.on('request', (req) => {
      const u = req.url();
      if (!u.startsWith(`${origin}/`) && !u.startsWith('data:')) foreign.push(u);
    });
    await page.goto(server.url, { waitUntil: 'load' });
    await page.waitForFunction((ts) => (globalThis as unknown as { document: { documentElement: { dataset: Record<string, string> } } }).document.documentElement.dataset.snapshotTs === ts, snapshot.ts);
    return { page, problems, srv: server, foreign };
  }

  it('loads without console errors, paints every chart and writes a screenshot', async () => {
    const snap = fixtureSnapshot(nowS);
    const { page, problems, foreign } = await open(snap);
    await page.locator('#live[data-state="live"]').waitFor();

    expect(foreign, 'every asset comes from the server itself').toEqual([]);
    await expect.poll(() => paintedPixels(page, '[data-chart] canvas')).toHaveLength(CHART_CANVASES);
    const painted = await paintedPixels(page, '[data-chart] canvas');
    expect(painted.every((n) => n > 50), `painted pixels per chart canvas ${JSON.stringify(painted)} (seed ${SEED})`).toBe(true);
    expect(await page.locator('.empty:visible').count()).toBe(0);

    await expect.poll(() => page.locator('#stage').textContent()).toBe('canary');
    expect(await page.locator('#candidate').textContent()).toBe('route-linucb-3f9a2c1e');
    expect(await page.locator('#canary-weight').textContent()).toBe('5%');
    // Newest transition first.
    expect(await page.locator('#history tbody tr').first().getAttribute('data-seq')).toBe('3');
    // Rates as percentages, latency in ms; p95 misses its target (lower is better), cache hit meets it.
    const row = (k: string): ReturnType<Page['locator']> => page.locator(`#kpis tr[data-kpi="${k}"]`);
    expect(await row('successRate').locator('.now-value').textContent()).toBe('87.4%');
    expect(await row('p95LatencyMs').locator('.now-value').textContent()).toBe('1,840 ms');
    expect(await row('p95LatencyMs').locator('td.met').getAttribute('data-met')).toBe('no');
    expect(await row('cacheHitRate').locator('td.met').getAttribute('data-met')).toBe('yes');
    expect(await page.locator('#agreement').textContent()).toBe('78.1%');
    expect(await page.locator('#alerts li').first().getAttribute('data-severity')).toBe('critical');
    expect(await page.locator('#quarantine tbody tr').count()).toBe(4);
    // The model selection behind the candidate: every candidate, the chosen one marked.
    expect(await page.locator('#selection-box').isVisible()).toBe(true);
    expect(await page.locator('#selection tbody tr').count()).toBe(4);
    expect(await page.locator('#selection tbody tr.chosen td').nth(1).textContent()).toBe('★ sparse sparse');
    expect(await page.locator('#selection tbody tr').nth(3).locator('td').nth(3).textContent()).toBe('0.655');

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(problems.errors).toEqual([]);
  });

  it('shows a stage change pushed over server-sent events without reloading', async () => {
    const snap = fixtureSnapshot(nowS);
    const { page, problems, srv } = await open(snap);
    await page.locator('#live[data-state="live"]').waitFor();
    await expect.poll(() => srv.streamClients()).toBe(1);
    // Marks that a reload or a rebuilt chart would lose.
    await page.evaluate(() => {
      const g = globalThis as unknown as { umbraProbe: string; document: { querySelector(s: string): { dataset: Record<string, string> } | null } };
      g.umbraProbe = 'same-page';
      const canvas = g.document.querySelector('#chart-value canvas');
      if (canvas) canvas.dataset.probe = 'same-canvas';
    });
    const gets = srv.dashboardGets();

    srv.push(promoted(snap, nowS + 60));

    await page.locator('#stage', { hasText: 'production' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#history tbody tr').first().getAttribute('data-seq')).toBe('4');
    expect(await page.locator('#history tbody tr').first().textContent()).toContain('guardrails green for 24 h');
    expect(await page.locator('#champion').textContent()).toBe('route-linucb-3f9a2c1e');
    expect(await page.locator('#kpis tr[data-kpi="p95LatencyMs"] td.met').getAttribute('data-met')).toBe('yes');
    const marks = await page.evaluate(() => {
      const g = globalThis as unknown as { umbraProbe?: string; document: { querySelector(s: string): { dataset: Record<string, string> } | null } };
      return { page: g.umbraProbe, canvas: g.document.querySelector('#chart-value canvas')?.dataset.probe };
    });
    expect(marks).toEqual({ page: 'same-page', canvas: 'same-canvas' });
    expect(srv.dashboardGets(), 'the update came over the stream, not by polling').toBe(gets);
    expect(problems.errors).toEqual([]);
  });

  it('falls back to polling when the event stream is unavailable', async () => {
    const snap = fixtureSnapshot(nowS);
    const { page, problems, srv } = await open(snap, { sse: false });
    await page.locator('#live[data-state="polling"]').waitFor({ timeout: 5000 });
    srv.push(promoted(snap, nowS + 60));
    await page.locator('#stage', { hasText: 'production' }).waitFor({ timeout: 6000 });
    expect(srv.streamClients()).toBe(0);
    expect(srv.dashboardGets()).toBeGreaterThanOrEqual(2);
    // The refused stream is logged by the browser itself; the page's own code raised nothing.
    expect(problems.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('sends admin actions with the bearer token, asks for it once, and shows errors', async () => {
    const snap = fixtureSnapshot(nowS);
    const { page, problems, srv } = await open(snap);
    await page.locator('#live[data-state="live"]').waitFor();

    // A wrong token: the server's error code is shown and the token is asked for again.
    await page.click('#btn-promote');
    await page.fill('#admin-token', 'wrong-token');
    await page.fill('#admin-reason', 'try');
    await page.click('#admin-submit');
    await page.locator('.toast.error', { hasText: 'E_UNAUTHORIZED' }).waitFor({ timeout: 5000 });
    expect(srv.adminCalls.map((c) => [c.action, c.authorization, c.status])).toEqual([['promote', 'Bearer wrong-token', 401]]);

    await page.click('#btn-promote');
    expect(await page.locator('#admin-token').isVisible()).toBe(true);
    await page.fill('#admin-token', TOKEN);
    await page.fill('#admin-reason', 'guardrails green for 24 h');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-admin.png') });
    await page.click('#admin-submit');
    await page.locator('.toast', { hasText: 'canary → production' }).waitFor({ timeout: 5000 });
    expect(srv.adminCalls[1]).toEqual({ action: 'promote', authorization: `Bearer ${TOKEN}`, body: { reason: 'guardrails green for 24 h' }, status: 200 });
    await page.locator('#stage', { hasText: 'production' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#history tbody tr').first().textContent()).toContain('admin:web');

    // The token is kept for the session: the next action does not ask again.
    await page.click('#btn-pause');
    expect(await page.locator('#admin-token').isVisible()).toBe(false);
    await page.fill('#admin-reason', 'investigating latency');
    await page.click('#admin-submit');
    await page.locator('#stage', { hasText: 'paused' }).waitFor({ timeout: 5000 });
    expect(srv.adminCalls[2]?.authorization).toBe(`Bearer ${TOKEN}`);

    // A refused transition shows the server's code and message.
    await page.click('#btn-promote');
    await page.click('#admin-submit');
    await page.locator('.toast.error', { hasText: 'E_TRANSITION_INVALID' }).waitFor({ timeout: 5000 });

    // The browser logs the 401 and 409 answers itself; the page raised nothing.
    expect(problems.errors.filter((e) => !/status of 40[19]/.test(e))).toEqual([]);
  });

  it('shows production’s health apart from the candidate’s fate: a rolled-back candidate is dimmed history, not a red alarm', async () => {
    const base = fixtureSnapshot(nowS);
    const after: DashboardSnapshot = {
      ...base,
      status: { ...base.status, stage: 'rolled_back', champion: 'cand-learned', candidate: 'bad-1', canaryWeight: 0, candidateInFlight: false, production: { health: 'healthy', reason: 'cand-learned serving production' } },
    };
    const { page, problems, srv } = await open(after);
    expect(await page.locator('#production-health').textContent()).toBe('healthy');
    expect(await page.locator('#production-health').getAttribute('data-health')).toBe('healthy');
    const stage = page.locator('#stage');
    expect(await stage.textContent()).toBe('rolled back');
    expect(await stage.getAttribute('data-inflight')).toBe('false');
    // Not a filled red badge: transparent, outlined.
    expect(await stage.evaluate((n) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(n).backgroundColor)).toBe('rgba(0, 0, 0, 0)');
    expect(await page.locator('#production-health').evaluate((n) => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string } }).getComputedStyle(n).backgroundColor)).toBe('rgb(21, 128, 61)');
    // A candidate in flight is a filled badge; a production under suspicion says so.
    srv.push({ ...after, ts: iso(nowS + 5), status: { ...after.status, stage: 'canary', candidate: 'c2', candidateInFlight: true, production: { health: 'degraded', reason: 'drift' } } });
    await page.locator('#stage[data-inflight="true"]', { hasText: 'canary' }).waitFor({ timeout: 5000 });
    expect(await page.locator('#production-health').textContent()).toBe('degraded');
    expect(problems.errors).toEqual([]);
  });

  it('shows the offline estimates and diagnostics a bundle carries when no candidate is scored live', async () => {
    const base = fixtureSnapshot(nowS);
    const snap: DashboardSnapshot = {
      ...base,
      status: { ...base.status, stage: 'production', champion: 'cand-learned', candidate: 'cand-learned', canaryWeight: 0, candidateInFlight: false },
      value: { ...base.value, shadow: base.value.shadow.map(() => null), shadowLo: base.value.shadowLo.map(() => null), shadowHi: base.value.shadowHi.map(() => null) },
      agreement: null,
      diagnostics: { ess: null, supportDeficit: null, maxWeight: null, n: null },
      offline: {
        version: 'cand-learned',
        of: 'champion',
        points: {
          route: { n: 4000, loggerValue: 0.668, estimates: { dr: { value: 0.7686, ci: [0.7342, 0.803] }, ips: { value: 0.73, ci: [0.62, 0.84] } }, gates: { pass: true, summary: 'offline gates passed' }, diagnostics: { ess: 236.3, supportDeficit: 0, maxWeight: 38.7 } },
        },
      },
    };
    const { page, problems } = await open(snap);
    expect(await page.locator('#diag-source').textContent()).toBe('Offline diagnostics of the champion (validation window)');
    expect(await page.locator('#diag-n').textContent()).toBe('4,000');
    expect(await page.locator('#diag-ess').textContent()).toBe('236 (6% of n)');
    expect(await page.locator('#diag-maxw').textContent()).toBe('38.7');
    expect(await page.locator('#offline-box').isVisible()).toBe(true);
    const row = page.locator('#offline tbody tr').first();
    expect(await row.locator('td').nth(2).textContent()).toBe('0.769 [0.734, 0.803]');
    expect(await row.locator('td').nth(3).textContent()).toBe('pass');
    expect(await page.locator('#value-offline-key').isVisible()).toBe(true);
    expect(await page.locator('#value-offline').textContent()).toBe('0.769 [0.734, 0.803] (champion)');
    expect(problems.errors).toEqual([]);
  });

  it('keeps gaps in time as gaps: no line across hours without data', async () => {
    const base = fixtureSnapshot(nowS);
    const gap = (xs: (number | null)[]): (number | null)[] => xs.map((x, i) => (i >= 12 && i < 36 ? null : x));
    const v = base.value;
    const snap: DashboardSnapshot = { ...base, value: { ...v, production: gap(v.production), productionLo: gap(v.productionLo), productionHi: gap(v.productionHi), shadow: v.shadow.map(() => null), shadowLo: v.shadow.map(() => null), shadowHi: v.shadow.map(() => null) } };
    const { page, problems } = await open(snap);
    await expect.poll(async () => (await paintedPixels(page, '#chart-value canvas'))[0] ?? 0).toBeGreaterThan(50);
    // Strong production-blue pixels (the line and its points) per tenth of the canvas width.
    const blue = await page.evaluate(() => {
      const doc = (globalThis as unknown as { document: { querySelector(s: string): { width: number; height: number; getContext(k: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } } | null } }).document;
      const c = doc.querySelector('#chart-value canvas')!;
      const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
      const tenths = new Array<number>(10).fill(0);
      for (let y = 0; y < c.height; y++) {
        for (let x = 0; x < c.width; x++) {
          const i = (y * c.width + x) * 4;
          if (d[i + 3]! > 200 && d[i]! < 90 && d[i + 1]! > 70 && d[i + 1]! < 130 && d[i + 2]! > 200) tenths[Math.min(9, Math.floor((10 * x) / c.width))]!++;
        }
      }
      return tenths;
    });
    // Data at both ends, nothing in the middle of the plot (hours 12–35 of 48 are empty).
    expect(blue[1]! + blue[2]!, JSON.stringify(blue)).toBeGreaterThan(20);
    expect(blue[8]! + blue[9]!, JSON.stringify(blue)).toBeGreaterThan(20);
    expect(blue[5]! + blue[6]!, JSON.stringify(blue)).toBe(0);
    expect(problems.errors).toEqual([]);
  });

  it('renders a snapshot with no data yet, then its first points, without errors', async () => {
    const empty = emptySnapshot(nowS);
    const { page, problems, srv } = await open(empty);
    await expect.poll(() => page.locator('#chart-value .empty').isVisible()).toBe(true);
    expect(await page.locator('#chart-actions .empty').isVisible()).toBe(true);
    expect(await page.locator('#kpis .empty-inline:visible').count()).toBe(KPI_NAMES.length);
    expect(await page.locator('#agreement').textContent()).toBe('—');
    expect(await page.locator('#history-empty').isVisible()).toBe(true);
    expect(await page.locator('#alerts-empty').isVisible()).toBe(true);
    expect(await page.locator('#candidate').textContent()).toBe('none');
    expect(await page.locator('#selection-box').isVisible()).toBe(false);

    // The first measurements: one point per series (a degenerate range for every chart).
    const t = nowS + 60;
    srv.push({
      ...empty,
      ts: iso(t),
      kpis: empty.kpis.map((k) => ({ ...k, now: k.baseline, trend: [[t, k.baseline]] })),
      value: { t: [t], production: [0.66], productionLo: [0.6], productionHi: [0.72], shadow: [null], shadowLo: [null], shadowHi: [null] },
      slices: { production: { micro: 1 } },
    });
    await page.locator('#chart-value .empty').waitFor({ state: 'hidden', timeout: 5000 });
    expect(await page.locator('#kpis .empty-inline:visible').count()).toBe(0);
    const painted = await paintedPixels(page, '[data-chart] canvas');
    expect(painted).toHaveLength(CHART_CANVASES);
    expect(painted.every((n) => n > 0), `painted pixels ${JSON.stringify(painted)}`).toBe(true);
    expect(problems.errors).toEqual([]);
  });
});
