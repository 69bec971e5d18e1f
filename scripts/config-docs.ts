/**
 * The configuration reference, rendered from the generated JSON Schema (types, bounds, defaults)
 * and the JSDoc comments of the zod sections (descriptions), so docs/configuration.md cannot
 * drift from the code: `npm run docs:config` writes it and a test compares it with this renderer.
 */
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The slice of JSON Schema the renderer reads. */
interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minLength?: number;
  minItems?: number;
}

const MAX_SAFE = 9007199254740991;

/** Key → first JSDoc text in a source file (tags such as `@default` removed). */
function jsdocByKey(source: string): Map<string, string> {
  const out = new Map<string, string>();
  // The comment body may not contain `*/`, so a header comment never swallows the next one.
  const re = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*\n\s*['"]?(\$?[A-Za-z_][\w]*)['"]?\s*:/g;
  for (const m of source.matchAll(re)) {
    const text = m[1]!
      .split('\n')
      .map((l) => l.replace(/^\s*\*\s?/, '').trim())
      .join(' ')
      .replace(/@default[\s\S]*$/, '')
      .replace(/\s+/g, ' ')
      .trim();
    if (text !== '' && !out.has(m[2]!)) out.set(m[2]!, text);
  }
  return out;
}

/** Section name → JSDoc map of the file that defines it (from the config composition modules). */
export function sectionDocs(root: string): Map<string, Map<string, string>> {
  const configDir = join(root, 'src', 'core', 'config');
  const out = new Map<string, Map<string, string>>();
  for (const composer of ['index.ts', 'modules.ts']) {
    const path = join(configDir, composer);
    const text = readFileSync(path, 'utf8');
    const imports = new Map<string, string>();
    for (const m of text.matchAll(/import \{([^}]*)\} from '(\.[^']+)\.js';/g)) {
      for (const name of m[1]!.split(',').map((s) => s.trim().replace(/^type\s+/, ''))) if (name !== '') imports.set(name, resolve(dirname(path), `${m[2]!}.ts`));
    }
    for (const m of text.matchAll(/^\s*(\w+):\s*(\w+)\.prefault\(/gm)) {
      const file = imports.get(m[2]!);
      if (file !== undefined) out.set(m[1]!, jsdocByKey(readFileSync(file, 'utf8')));
    }
  }
  return out;
}

function bounds(n: SchemaNode): string {
  const parts: string[] = [];
  if (n.minimum !== undefined && n.minimum !== -MAX_SAFE) parts.push(`≥ ${n.minimum}`);
  if (n.exclusiveMinimum !== undefined) parts.push(`> ${n.exclusiveMinimum}`);
  if (n.maximum !== undefined && n.maximum !== MAX_SAFE) parts.push(`≤ ${n.maximum}`);
  if (n.exclusiveMaximum !== undefined) parts.push(`< ${n.exclusiveMaximum}`);
  if (n.minLength !== undefined && n.minLength > 0) parts.push(`non-empty`);
  if (n.minItems !== undefined && n.minItems > 0) parts.push(`≥ ${n.minItems} item${n.minItems === 1 ? '' : 's'}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

function typeOf(n: SchemaNode): string {
  if (n.enum !== undefined) return n.enum.map((v) => JSON.stringify(v)).join(' | ');
  if (n.const !== undefined) return JSON.stringify(n.const);
  const alts = n.anyOf ?? n.oneOf;
  if (alts !== undefined) return alts.map(typeOf).join(' | ');
  const t = Array.isArray(n.type) ? n.type.join(' | ') : (n.type ?? 'any');
  if (t === 'array' && n.items !== undefined) return `array of ${typeOf(n.items)}${bounds(n)}`;
  if (t === 'object' && n.properties === undefined && typeof n.additionalProperties === 'object') return `map of ${typeOf(n.additionalProperties)}`;
  return `${t}${bounds(n)}`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function defaultText(v: unknown): string {
  if (v === undefined) return '';
  const s = JSON.stringify(v);
  return `\`${s.length > 80 ? `${s.slice(0, 77)}...` : s}\``;
}

function rows(prefix: string, node: SchemaNode, docs: Map<string, string> | undefined, out: string[]): void {
  for (const [key, child] of Object.entries(node.properties ?? {})) {
    const path = prefix === '' ? key : `${prefix}.${key}`;
    const desc = child.description ?? docs?.get(key) ?? '';
    const leaf = child.properties === undefined;
    out.push(`| \`${path}\` | ${cell(leaf ? typeOf(child) : 'object')} | ${leaf ? cell(defaultText(child.default)) : ''} | ${cell(desc)} |`);
    if (!leaf) rows(path, child, docs, out);
  }
}

/** Render docs/configuration.md from the config JSON Schema and the repository's config sources. */
export function renderConfigDocs(schema: unknown, root: string): string {
  const s = schema as SchemaNode;
  const docs = sectionDocs(root);
  const parts = [
    '# Configuration reference',
    '',
    'Generated from `schemas/config.schema.json` and the comments of the config sections in `src/core/config/`',
    'by `npm run docs:config`; a test fails when this file differs from the code.',
    '',
    'Umbra reads one JSON file: `--config FILE`, else `<data-dir>/config.json` when present, else the defaults.',
    'Every key is optional; unknown keys are refused with the path, what was expected and what was found.',
    'Check a file with `umbra config check FILE`; print the effective config with `umbra config print`.',
    'Editors validate against the schema when the file starts with `"$schema": "../schemas/config.schema.json"` (adjust the path).',
    'Examples: `examples/config.json`, `examples/config_conservative.json`.',
    '',
    '## Sections',
    '',
  ];
  const sections = Object.entries(s.properties ?? {}).filter(([k]) => k !== '$schema');
  for (const [name] of sections) parts.push(`- [\`${name}\`](#${name.replace(/_/g, '_')})`);
  parts.push('');
  for (const [name, node] of sections) {
    parts.push(`## ${name}`, '', '| key | type | default | description |', '| --- | --- | --- | --- |');
    const out: string[] = [];
    rows(name, node, docs.get(name), out);
    parts.push(...out, '');
  }
  return `${parts.join('\n').trimEnd()}\n`;
}
