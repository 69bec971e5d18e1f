/**
 * The documentation cannot rot silently: every relative link in README.md and docs/*.md resolves
 * (files, and `#anchors` to headings of Markdown files), the CLI reference equals what the
 * commands' own help renders, the configuration reference equals what the schema renders, and no
 * page names a path of the machine it was written on.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderCliDocs } from '../src/cli/docs.js';
import { renderConfigDocs } from '../scripts/config-docs.js';

const root = resolve(import.meta.dirname, '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchorsOf(markdown: string): Set<string> {
  const out = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const m = /^#{1,6}\s+(.*)$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]!);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Markdown links `[text](target)` outside code fences and inline code. */
function linksOf(markdown: string): string[] {
  const out: string[] = [];
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    if (fenced) continue;
    const text = line.replace(/`[^`]*`/g, '');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]!);
  }
  return out;
}

describe('docs', () => {
  it('has the pages the README and the index promise', () => {
    for (const p of ['README.md', 'docs/README.md', 'docs/architecture.md', 'docs/cli.md', 'docs/configuration.md', 'docs/decision-log.md', 'docs/operations.md', 'docs/benchmarks.md']) {
      expect(existsSync(join(root, p)), p).toBe(true);
    }
  });

  it('every relative link resolves, anchors included', () => {
    const broken: string[] = [];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const link of linksOf(text)) {
        if (/^[a-z]+:/i.test(link)) continue; // http(s), mailto: not checked offline
        const [path, anchor] = link.split('#') as [string, string | undefined];
        const target = path === '' ? join(root, page) : resolve(dirname(join(root, page)), decodeURIComponent(path));
        if (!existsSync(target)) {
          broken.push(`${page}: ${link} (no such file)`);
          continue;
        }
        if (anchor !== undefined && anchor !== '' && target.endsWith('.md') && statSync(target).isFile()) {
          if (!anchorsOf(readFileSync(target, 'utf8')).has(anchor)) broken.push(`${page}: ${link} (no heading #${anchor})`);
        }
      }
    }
    expect(broken).toEqual([]);
  });

  it('the link checker itself finds broken links and anchors', () => {
    expect(linksOf('see [a](docs/x.md#y) and `[b](not-a-link.md)`')).toEqual(['docs/x.md#y']);
    expect(anchorsOf('# Rollout: shadow → canary\n## `umbra pipeline`\n## Limits\n## Limits')).toEqual(new Set(['rollout-shadow--canary', 'umbra-pipeline', 'limits', 'limits-1']));
  });

  it('docs/cli.md is what the commands’ help renders (npm run docs:cli)', () => {
    expect(readFileSync(join(root, 'docs', 'cli.md'), 'utf8')).toBe(renderCliDocs());
  });

  it('docs/configuration.md is what the config schema renders (npm run docs:config)', () => {
    const schema: unknown = JSON.parse(readFileSync(join(root, 'schemas', 'config.schema.json'), 'utf8'));
    const text = readFileSync(join(root, 'docs', 'configuration.md'), 'utf8');
    expect(text).toBe(renderConfigDocs(schema, root));
    // every top-level section and a few known keys are there with their defaults
    expect(text).toContain('| `rollout.canary_weight` | number (> 0, ≤ 0.5) | `0.05` |');
    expect(text).toContain('`shadow_mode.retrain_interval_hours`');
  });

  it('no page names a path of the machine it was written on', () => {
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      expect(text, page).not.toMatch(/\/(work|home|root|tmp)\/[\w.-]+\//);
    }
  });
});
