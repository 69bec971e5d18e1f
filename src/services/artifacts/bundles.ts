/**
 * Candidate bundles: the unit the rollout promotes. A bundle is one policy artifact per decision
 * point (route, tool, cache, ...) plus the evaluation that justified it, kept in its own directory
 * `<data-dir>/<shadow_models_dir>/<version>/` so a champion, its predecessors and the candidate
 * never share a file (the original's canary and production shared one). The version is a content
 * hash of the artifacts, so the same policies always get the same id.
 *
 * With a shared store that keeps bundles (PostgreSQL), `publish` puts a bundle there too and
 * `ensure` fetches one this host has not got, so replicas on several hosts serve every version
 * without a shared directory.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, isAbsolute, join, dirname } from 'node:path';
import type { Config } from '../../core/config/index.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { contentHash, sha256Hex } from '../../core/hash.js';
import { writeFileAtomic, writeJsonAtomic } from '../../platform/fs.js';
import type { BundleArchive } from '../../store/port.js';

const MANIFEST = 'manifest.json';
/** A file name inside a bundle directory: no separators, no `..`. */
const SAFE_FILE = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,200}$/;

/** The manifest of a bundle. */
export interface BundleManifest {
  version: string;
  createdAt: string;
  /** Point → artifact file name inside the bundle directory. */
  policies: Record<string, string>;
  /** Offline evaluation and gate report that justified it (free-form JSON). */
  evaluation?: unknown;
  /** Where it came from (`pipeline`, `shadow`, ...). */
  origin?: string;
}

/** Directory holding every bundle of a data directory (`shadow_mode.shadow_models_dir`, relative to it). */
export function bundlesRoot(dataDir: string, config: Pick<Config, 'shadow_mode'>): string {
  const d = config.shadow_mode.shadow_models_dir;
  return isAbsolute(d) ? d : join(dataDir, d);
}

/** What a new bundle may carry besides its artifacts. */
export interface BundleExtra {
  evaluation?: unknown;
  origin?: string;
  /** Version prefix. @default "cand" */
  prefix?: string;
}

/**
 * The bundles of one data directory: the registry the rollout promotes from. Opened once by the
 * composition root and handed to the services that read or write bundles.
 */
export class Bundles {
  /** Directory holding every bundle. */
  readonly root: string;
  private readonly archive: BundleArchive | undefined;

  constructor(root: string, archive?: BundleArchive) {
    this.root = root;
    this.archive = archive;
  }

  /** The bundles of a data directory under its config (and in the shared store's archive, when given). */
  static of(dataDir: string, config: Pick<Config, 'shadow_mode'>, archive?: BundleArchive): Bundles {
    return new Bundles(bundlesRoot(dataDir, config), archive);
  }

  /** Put a bundle of this directory into the shared archive, when there is one (idempotent). */
  async publish(version: string): Promise<void> {
    if (this.archive === undefined) return;
    const m = this.read(version);
    const dir = this.dir(version);
    const files: Record<string, string> = { [MANIFEST]: readFileSync(join(dir, MANIFEST), 'utf8') };
    for (const f of Object.values(m.policies)) files[f] = readFileSync(join(dir, f), 'utf8');
    await this.archive.putBundle(version, files);
  }

  /**
   * Make sure a bundle is in this directory, fetching it from the shared archive when only the
   * archive has it (artifacts first, the manifest last, each written atomically). False when
   * neither has it. A store error propagates (E_STORE): the caller decides to retry.
   */
  async ensure(version: string): Promise<boolean> {
    const dir = this.dir(version);
    if (existsSync(join(dir, MANIFEST))) return true;
    if (this.archive === undefined) return false;
    const files = await this.archive.getBundle(version);
    const manifest = files?.[MANIFEST];
    if (files === undefined || manifest === undefined) return false;
    mkdirSync(dir, { recursive: true });
    for (const [name, text] of Object.entries(files)) {
      if (name === MANIFEST) continue;
      if (!SAFE_FILE.test(name)) throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `bundle ${version} in the store names a file that is not a plain file name: ${JSON.stringify(name)}`);
      writeFileAtomic(join(dir, name), text);
    }
    writeFileAtomic(join(dir, MANIFEST), manifest);
    return true;
  }

  /** Directory of one bundle. */
  dir(version: string): string {
    if (!/^[A-Za-z0-9._-]{1,128}$/.test(version)) throw new UmbraError(ErrorCode.USAGE, `not a valid policy version: ${JSON.stringify(version)}`);
    return join(this.root, version);
  }

  /**
   * Store a bundle from artifact files (point → path). Copies the artifacts into the bundle's own
   * directory and writes its manifest last and atomically, so a crash never leaves a manifest that
   * names a missing file. Returns the manifest (idempotent: the same artifacts give the same version).
   */
  save(policies: Record<string, string>, extra: BundleExtra = {}): BundleManifest {
    const points = Object.keys(policies).sort();
    if (points.length === 0) throw new UmbraError(ErrorCode.NO_DATA, 'a bundle needs at least one policy artifact');
    const hashes: Record<string, string> = {};
    for (const p of points) {
      const path = policies[p]!;
      if (!existsSync(path)) throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `policy artifact not found: ${path}`);
      hashes[p] = sha256Hex(readFileSync(path, 'utf8'));
    }
    const version = `${extra.prefix ?? 'cand'}-${contentHash(hashes, 12)}`;
    const dir = this.dir(version);
    const manifestPath = join(dir, 'manifest.json');
    if (existsSync(manifestPath)) return this.read(version);
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {};
    for (const p of points) {
      const file = basename(policies[p]!);
      copyFileSync(policies[p]!, join(dir, file));
      files[p] = file;
    }
    const manifest: BundleManifest = {
      version,
      createdAt: new Date().toISOString(),
      policies: files,
      ...(extra.evaluation === undefined ? {} : { evaluation: extra.evaluation }),
      ...(extra.origin === undefined ? {} : { origin: extra.origin }),
    };
    writeJsonAtomic(manifestPath, manifest);
    return manifest;
  }

  /** Store a bundle from a pipeline output manifest (`DIR/manifest.json` of `umbra pipeline`). */
  saveFromPipeline(pipelineManifestPath: string, origin = 'pipeline'): BundleManifest {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(pipelineManifestPath, 'utf8'));
    } catch (e) {
      throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `cannot read pipeline manifest ${pipelineManifestPath}: ${(e as Error).message}`);
    }
    const m = raw as { policies?: Record<string, string>; evaluation?: unknown };
    if (typeof m.policies !== 'object' || m.policies === null) throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${pipelineManifestPath} names no policies`);
    const base = dirname(pipelineManifestPath);
    const policies: Record<string, string> = {};
    for (const [point, file] of Object.entries(m.policies)) policies[point] = isAbsolute(file) ? file : join(base, file);
    return this.save(policies, { evaluation: m.evaluation, origin });
  }

  /** Read a bundle's manifest (E_POLICY_NOT_FOUND when absent). */
  read(version: string): BundleManifest {
    const path = join(this.dir(version), 'manifest.json');
    if (!existsSync(path)) throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `no bundle for policy version ${version} (looked for ${basename(dirname(path))}/manifest.json)`);
    try {
      return JSON.parse(readFileSync(path, 'utf8')) as BundleManifest;
    } catch (e) {
      throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `bundle manifest of ${version} is unreadable: ${(e as Error).message}`);
    }
  }

  /** Absolute artifact paths of a bundle, point → path. */
  artifacts(version: string): Record<string, string> {
    const m = this.read(version);
    const dir = this.dir(version);
    const out: Record<string, string> = {};
    for (const [p, f] of Object.entries(m.policies)) out[p] = join(dir, f);
    return out;
  }
}
