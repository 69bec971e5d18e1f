/**
 * The shell blocks of a Markdown page as a script that runs them in order, the way a reader would
 * type them, and reports each command's exit status and time.
 *
 * The conventions, documented in docs/README.md:
 * - every ```sh (or ```bash) block runs, line by line, in one shell per page, in a fresh empty
 *   directory; a line ending in `\` continues on the next;
 * - `npx umbra` and plain `umbra` both run the CLI built in `dist/` (on a fresh clone that is what
 *   `npx umbra` after `npm run build`, or `umbra` after `npm link`, runs);
 * - `<!-- doc-test: skip: REASON -->` on the line before a block keeps it from running (commands
 *   that install, run for minutes, or need production paths or other services);
 * - `<!-- doc-test: setup` … `-->` holds commands the page assumes were run before (hidden from the
 *   reader, run first);
 * - a command is expected to exit 0, unless its comment says `(exit N)`;
 * - port 8787 is replaced by a free port, so the blocks do not collide with a running service.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CLI } from './cli.js';

/** One command of a page. */
export interface DocCommand {
  /** Line of the page where it starts. */
  line: number;
  text: string;
  /** Expected exit status (0 unless the comment says `(exit N)`). */
  expect: number;
  /** From a hidden setup comment. */
  setup: boolean;
}

/** A shell block that is not run, and why. */
export interface SkippedBlock {
  line: number;
  reason: string;
}

/** The commands of a page, in order, and the blocks it marks as not runnable. */
export function docCommands(markdown: string): { commands: DocCommand[]; skipped: SkippedBlock[] } {
  const lines = markdown.split('\n');
  const commands: DocCommand[] = [];
  const setup: DocCommand[] = [];
  const skipped: SkippedBlock[] = [];
  let i = 0;
  const push = (into: DocCommand[], body: { line: number; text: string }[], isSetup: boolean): void => {
    let cur: { line: number; text: string } | undefined;
    for (const l of body) {
      const t = l.text.replace(/\s+$/, '');
      if (cur === undefined) {
        if (t.trim() === '' || t.trim().startsWith('#')) continue;
        cur = { line: l.line, text: t };
      } else cur.text += `\n${t}`;
      if (!t.endsWith('\\')) {
        const m = /#[^\n]*\(exit (\d+)\)/.exec(cur.text);
        into.push({ line: cur.line, text: cur.text, expect: m ? Number(m[1]) : 0, setup: isSetup });
        cur = undefined;
      }
    }
  };
  while (i < lines.length) {
    const line = lines[i]!;
    if (/^<!--\s*doc-test:\s*setup\s*$/.test(line.trim())) {
      const body: { line: number; text: string }[] = [];
      i++;
      while (i < lines.length && lines[i]!.trim() !== '-->') body.push({ line: i + 1, text: lines[i++]! });
      push(setup, body, true);
      i++;
      continue;
    }
    const fence = /^```(\w*)\s*$/.exec(line);
    if (fence) {
      const start = i + 1;
      const body: { line: number; text: string }[] = [];
      i++;
      while (i < lines.length && !lines[i]!.startsWith('```')) body.push({ line: i + 1, text: lines[i++]! });
      i++;
      if (fence[1] !== 'sh' && fence[1] !== 'bash') continue;
      let p = start - 2;
      while (p >= 0 && lines[p]!.trim() === '') p--;
      const skip = p >= 0 ? /^<!--\s*doc-test:\s*skip:\s*(.*?)\s*-->$/.exec(lines[p]!.trim()) : null;
      if (skip) skipped.push({ line: start, reason: skip[1]! });
      else push(commands, body, false);
      continue;
    }
    i++;
  }
  return { commands: [...setup, ...commands], skipped };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = typeof a === 'object' && a !== null ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** What one command did. */
export interface CommandRun extends DocCommand {
  status: number | null;
  ms: number | null;
}

/**
 * Run the commands in `dir` (one bash, stopping at the first unexpected exit status), with a
 * private temporary directory, time-boxed: on the deadline the whole process group is killed.
 */
export async function runDocCommands(commands: DocCommand[], o: { dir: string; tmp: string; port: number; timeoutMs: number; env?: Record<string, string> }): Promise<{ runs: CommandRun[]; output: string; timedOut: boolean }> {
  const results = join(o.dir, '.doc-test-results');
  const cli = JSON.stringify(CLI);
  // `umbra` on the PATH, as after `npm link`: a shim that execs the built CLI (so `kill %1` stops it).
  const bin = join(o.dir, '.doc-test-bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'umbra'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${cli} "$@"\n`, { mode: 0o755 });
  const script: string[] = [
    'set -u',
    `export PATH=${JSON.stringify(bin)}:"$PATH"`,
    `__cleanup() { kill $(jobs -p) 2>/dev/null; umbra shadow stop >/dev/null 2>&1; wait 2>/dev/null; }`,
    'trap __cleanup EXIT',
  ];
  commands.forEach((c, k) => {
    const text = c.text.replace(/\bnpx umbra\b/g, 'umbra').replace(/\b8787\b/g, String(o.port));
    script.push(`__t=$(date +%s%N)`, text, `__rc=$?`, `echo "${k} $__rc $(( ($(date +%s%N) - __t) / 1000000 ))" >> ${JSON.stringify(results)}`, `[ "$__rc" -eq ${c.expect} ] || exit 97`);
  });
  const scriptPath = join(o.dir, '.doc-test.sh');
  writeFileSync(scriptPath, `${script.join('\n')}\n`);
  writeFileSync(results, '');
  mkdirSync(o.tmp, { recursive: true });
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: o.tmp, ...o.env };
  delete env.UMBRA_HOME; // the pages' commands use the default data directory, ./.umbra
  const child = spawn('bash', [scriptPath], { cwd: o.dir, detached: true, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr.on('data', (b: Buffer) => (output += b.toString()));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, o.timeoutMs);
  await new Promise<void>((r) => child.on('close', () => r()));
  clearTimeout(timer);
  const done = new Map<number, { status: number; ms: number }>();
  for (const l of readFileSync(results, 'utf8').split('\n').filter(Boolean)) {
    const [k, rc, ms] = l.split(' ').map(Number);
    done.set(k!, { status: rc!, ms: ms! });
  }
  return { runs: commands.map((c, k) => ({ ...c, status: done.get(k)?.status ?? null, ms: done.get(k)?.ms ?? null })), output, timedOut };
}

/** The walk-through as a table: each command, its exit status and time. */
export function walkthrough(page: string, runs: CommandRun[]): string {
  const rows = runs.map((r) => `${r.setup ? '(setup) ' : ''}${r.text.split('\n')[0]!.replace(/\s+#.*$/, '')}\n    exit ${r.status ?? 'not run'}${r.status !== null && r.status !== r.expect ? ` (expected ${r.expect})` : ''}, ${r.ms === null ? '-' : `${(r.ms / 1000).toFixed(1)} s`}`);
  return `${page}\n${rows.join('\n')}\n`;
}
