/**
 * What `--telemetry PATH` names: one file, a directory of telemetry files (searched recursively;
 * Alice writes `<date>/events_<date>.jsonl` and flat `events_<date>.jsonl`), or a glob with `*`,
 * `?` and `**`. Files are returned in name order so that a run is reproducible.
 */
import { readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';

/** File names a directory scan picks up: JSON lines (also rotated `.1`, `.2`, ...) and JSON arrays. */
export const TELEMETRY_FILE_RE = /\.(jsonl|ndjson|log|json)(\.\d+)?$/;

/** How a PATH was understood. */
export interface Sources {
  kind: 'file' | 'dir' | 'glob';
  /** Absolute file paths in name order. */
  files: string[];
}

/** True when the path holds glob characters. */
export function isGlob(p: string): boolean {
  return /[*?[]/.test(p);
}

/** A glob pattern (`*`, `?`, `**`, `[...]`) as a regular expression over `/`-separated paths. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:[^/]*/)*';
        } else {
          re += '.*';
        }
      } else {
        re += '[^/]*';
      }
    } else if (c === '?') {
      re += '[^/]';
    } else if (c === '[') {
      const close = glob.indexOf(']', i + 1);
      if (close === -1) re += '\\[';
      else {
        const body = glob.slice(i + 1, close).replace(/\\/g, '\\\\');
        re += `[${body.startsWith('!') ? `^${body.slice(1)}` : body}]`;
        i = close;
      }
    } else {
      re += c.replace(/[.+^${}()|\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

function walk(dir: string, out: string[]): void {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Resolve PATH into files; undefined when nothing exists there (yet). */
export function resolveSources(path: string, cwd = process.cwd()): Sources | undefined {
  const abs = isAbsolute(path) ? path : resolve(cwd, path);
  if (isGlob(path)) {
    const parts = abs.split(sep);
    const firstGlob = parts.findIndex(isGlob);
    const base = parts.slice(0, firstGlob).join(sep) || sep;
    const re = globToRegExp(parts.slice(firstGlob).join('/'));
    const all: string[] = [];
    walk(base, all);
    const files = all.filter((f) => re.test(relative(base, f).split(sep).join('/'))).sort(byName);
    return files.length > 0 ? { kind: 'glob', files } : undefined;
  }
  let st;
  try {
    st = statSync(abs);
  } catch {
    return undefined;
  }
  if (st.isDirectory()) {
    const all: string[] = [];
    walk(abs, all);
    return { kind: 'dir', files: all.filter((f) => TELEMETRY_FILE_RE.test(f)).sort(byName) };
  }
  return { kind: 'file', files: [abs] };
}
