/**
 * Browser tests drive the system's Chromium (Debian's `chromium` package) through playwright-core;
 * a downloaded browser is never used. Under CI a missing Chromium fails loudly, elsewhere the
 * browser tests may skip.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Flags for a quiet, offline, headless Chromium in a container. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
] as const;

/** The Chromium executable: `$CHROMIUM_PATH`, else Debian's `/usr/bin/chromium`. */
export function chromiumPath(): string {
  return process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
}

/** True when `CI` says this is a CI run (`true`, `1`, `yes`, any value but empty, `0`, `false` or `no`). */
export function isCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== '0' && v !== 'false' && v !== 'no';
}

/**
 * Whether the browser tests can run: true when Chromium is at `path`. Under CI a missing browser
 * throws (the test file fails to load, so the run fails) instead of answering false, which lets
 * the browser tests skip only on a developer's machine.
 */
export function requireChromium(path: string, exists: (p: string) => boolean = existsSync, env: NodeJS.ProcessEnv = process.env): boolean {
  if (exists(path)) return true;
  if (isCi(env)) throw new Error(`chromium not found at ${path} and CI is set: the browser tests must run in CI. Install Debian's chromium package (.ci/run does) or set CHROMIUM_PATH`);
  return false;
}

/** True when Chromium is installed; under CI a missing browser throws at import time (see requireChromium). */
export const hasChromium: boolean = requireChromium(chromiumPath());

/** Launch the system Chromium headless. */
export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath(), args: [...CHROMIUM_ARGS] });
}

/** What went wrong in a page: console errors and uncaught exceptions, in order. */
export interface PageProblems {
  readonly errors: string[];
}

/** Start collecting console errors and uncaught page errors of `page`. */
export function collectPageProblems(page: Page): PageProblems {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console: ${msg.text()}`);
  });
  page.on('pageerror', (err) => errors.push(`pageerror: ${err.message}`));
  return { errors };
}

/** The bits of the DOM the pixel probe touches (tests compile without the DOM library). */
interface ProbeCanvas {
  readonly tagName: string;
  readonly width: number;
  readonly height: number;
  getContext(kind: '2d'): { getImageData(x: number, y: number, w: number, h: number): { data: ArrayLike<number> } } | null;
}

/**
 * Count the non-transparent pixels of every canvas under `selector`, one number per canvas, in
 * document order (a chart that drew nothing reports 0).
 */
export async function paintedPixels(page: Page, selector: string): Promise<number[]> {
  return page.evaluate((sel) => {
    const doc = (globalThis as unknown as { document: { querySelectorAll(s: string): ArrayLike<ProbeCanvas> } }).document;
    const out: number[] = [];
    for (const node of Array.from(doc.querySelectorAll(sel))) {
      const ctx = node.tagName === 'CANVAS' && node.width > 0 && node.height > 0 ? node.getContext('2d') : null;
      if (!ctx) {
        out.push(0);
        continue;
      }
      const px = ctx.getImageData(0, 0, node.width, node.height).data;
      let n = 0;
      for (let i = 3; i < px.length; i += 4) if ((px[i] ?? 0) > 0) n++;
      out.push(n);
    }
    return out;
  }, selector);
}
