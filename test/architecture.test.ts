/**
 * The shape of src/, read from the import statements: layers only import the layers below them,
 * no module imports itself through a loop, and no file grows past 500 lines without saying why on
 * its first line. docs/architecture.md draws the same picture; this keeps it true.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'src');

/** What each layer (the first folder under src/, or a top-level file) may import besides itself. */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  platform: ['core'],
  client: ['core'],
  store: ['core', 'platform'],
  ingest: ['core', 'platform', 'store'],
  services: ['core', 'platform', 'store', 'ingest', 'client'],
  server: ['core', 'platform', 'store', 'services'],
  app: ['core', 'platform', 'store', 'ingest', 'services', 'server', 'client'],
  cli: ['core', 'platform', 'services', 'app'],
  'index.ts': ['core', 'store', 'ingest', 'services', 'app'],
  'version.ts': [],
};

/** Importable from anywhere: the version constant. */
const EVERYWHERE: readonly string[] = ['version.ts'];

/** Longest a file may be without a reason on its first line. */
const MAX_LINES = 500;
/** The first line of a longer file: `// Long file: <why>`. */
const LONG_FILE_REASON = /^\/\/ Long file: \S.{10,}/;

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const files = walk(SRC);
const sources = files.filter((f) => !f.endsWith('.test.ts') && !f.endsWith('.contract.ts'));

/** Relative imports of a file (static, dynamic and re-exports), resolved to .ts paths under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\b[^'";]*?\bfrom\s*['"](\.{1,2}\/[^'"]+)['"]|\bimport\s*\(\s*['"](\.{1,2}\/[^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"](\.{1,2}\/[^'"]+)['"]/g;
  for (const m of text.matchAll(re)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (spec !== undefined) out.push(resolve(dirname(file), spec).replace(/\.js$/, '.ts'));
  }
  return out;
}

/** The layer of a path under src/: its first folder, or the file name for top-level files. */
function layerOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0]!;
  return rel.includes('/') ? first : first;
}

describe('architecture of src/', () => {
  it('every layer imports only the layers below it', () => {
    const wrong: string[] = [];
    for (const f of sources) {
      const from = layerOf(f);
      const allowed = ALLOWED[from];
      if (allowed === undefined) {
        wrong.push(`${relative(SRC, f)}: layer "${from}" is not in the architecture (add it to ALLOWED and docs/architecture.md)`);
        continue;
      }
      for (const target of importsOf(f)) {
        const to = layerOf(target);
        if (to !== from && !allowed.includes(to) && !EVERYWHERE.includes(to)) wrong.push(`${relative(SRC, f)} → ${relative(SRC, target)} (${from} may not import ${to})`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it('has no import loop', () => {
    const graph = new Map(sources.map((f) => [f, importsOf(f).filter((t) => sources.includes(t))]));
    const loops: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string): void => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        const s = state.get(t);
        if (s === 'open') loops.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(SRC, x)).join(' → '));
        else if (s === undefined) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of sources) if (!state.has(f)) visit(f);
    expect(loops).toEqual([]);
  });

  it(`keeps files under ${MAX_LINES} lines unless the first line says why`, () => {
    const long: string[] = [];
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      const lines = text.split('\n').length;
      if (lines > MAX_LINES && !LONG_FILE_REASON.test(text)) long.push(`${relative(SRC, f)}: ${lines} lines`);
    }
    expect(long).toEqual([]);
  });

  it('sees the imports it checks (the reader is not blind)', () => {
    const engine = sources.find((f) => f.endsWith(join('sim', 'engine.ts')));
    expect(engine).toBeDefined();
    expect(importsOf(engine!).map((t) => relative(SRC, t))).toContain(join('core', 'sim', 'world.ts'));
    expect(layerOf(join(SRC, 'core', 'x.ts'))).toBe('core');
  });
});
