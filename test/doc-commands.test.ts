/**
 * The documentation's commands run as written, so they cannot go stale: every shell block of the
 * README's set-up and tour, docs/alice-integration.md and docs/operations.md, in order, in a fresh
 * empty directory, each command with the exit status it promises (conventions in
 * test/helpers/doc-commands.ts and docs/README.md). Each page writes its walk-through (command,
 * exit status, seconds) to test-artifacts/. Also: the README names every locked package whose
 * engines exclude Node 20 (npm ci warns about them), and nothing is left in the temporary directory.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { docCommands, freePort, runDocCommands, walkthrough } from './helpers/doc-commands.js';
import { projectRoot } from './helpers/shared-data.js';

const ARTIFACTS = join(projectRoot, 'test-artifacts');
const PAGES = [
  { page: 'README.md', timeoutMs: 240_000 },
  { page: 'docs/alice-integration.md', timeoutMs: 120_000 },
  { page: 'docs/operations.md', timeoutMs: 120_000 },
];

describe('the documentation’s commands run as written', () => {
  it('finds the blocks, the skip markers and their reasons', () => {
    const { commands, skipped } = docCommands(['<!-- doc-test: setup', 'umbra x', '-->', '```sh', 'npx umbra a  # (exit 9)', 'umbra b \\', '  --c', '```', '<!-- doc-test: skip: needs a cluster -->', '', '```sh', 'umbra never', '```', '```text', 'not a command', '```'].join('\n'));
    expect(commands.map((c) => [c.text, c.expect, c.setup])).toEqual([
      ['umbra x', 0, true],
      ['npx umbra a  # (exit 9)', 9, false],
      ['umbra b \\\n  --c', 0, false],
    ]);
    expect(skipped).toEqual([{ line: 11, reason: 'needs a cluster' }]);
  });

  for (const { page, timeoutMs } of PAGES) {
    it(`${page}: every command runs in order with the exit status it promises`, async () => {
      const { commands, skipped } = docCommands(readFileSync(join(projectRoot, page), 'utf8'));
      expect(commands.filter((c) => !c.setup).length, `${page} has commands to run`).toBeGreaterThan(0);
      for (const s of skipped) expect(s.reason.length, `${page}:${s.line} says why it is skipped`).toBeGreaterThan(5);
      const dir = mkdtempSync(join(tmpdir(), 'umbra-doc-'));
      const tmp = join(dir, '.tmp');
      try {
        const work = join(dir, 'work');
        mkdirSync(work);
        const { runs, output, timedOut } = await runDocCommands(commands, { dir: work, tmp, port: await freePort(), timeoutMs });
        mkdirSync(ARTIFACTS, { recursive: true });
        const name = page.replace(/[/.]/g, '-');
        writeFileSync(join(ARTIFACTS, `doc-commands-${name}.txt`), walkthrough(page, runs));
        const bad = runs.find((r) => r.status !== r.expect);
        expect(timedOut, `${page} ran past ${timeoutMs / 1000} s:\n${output.slice(-3000)}`).toBe(false);
        expect(bad, bad === undefined ? '' : `${page}:${bad.line} \`${bad.text}\` exited ${bad.status ?? 'never ran'} (expected ${bad.expect}):\n${output.slice(-4000)}`).toBeUndefined();
        // Nothing the commands ran left files in the temporary directory.
        expect(readdirSync(tmp)).toEqual([]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }, timeoutMs + 30_000);
  }
});
