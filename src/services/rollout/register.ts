/**
 * Registering a candidate: the one way a trained policy enters the rollout, whoever trained it.
 * `umbra rollout register`, `POST /v1/admin/rollout/register`, the dashboard's register form, the
 * shadow controller after a retraining and the demo all come through `registerCandidate`, so every
 * candidate gets the same checks and the same two audit records (`register`, then `start_shadow`
 * whose gate report carries the offline evaluation the artifact was judged by).
 *
 * The checks, in order: each artifact parses as a policy artifact, its own feature hash matches its
 * feature definition, its content still matches its content-addressed file name (no edit since it
 * was written), and its feature-map and reward hashes are the ones of the running configuration
 * (E_ARTIFACT_INVALID / E_ARTIFACT_MISMATCH otherwise). Only then is a bundle saved and the
 * rollout told; a refused transition (a candidate in canary, a version already known) leaves the
 * rollout unchanged.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { storedOfflineGates, type GateReport } from '../../core/gates/index.js';
import { artifactFileName, type PolicyArtifact } from '../../core/policies/index.js';
import type { Settings } from '../../core/settings.js';
import { readPolicyArtifact } from '../artifacts/artifacts.js';
import type { BundleManifest, Bundles } from '../artifacts/bundles.js';
import type { Applied, RolloutService } from './state.js';

/** Who registers and why (recorded in both audit records). */
export interface RegisterWho {
  actor: string;
  reason: string;
  /** `auto` for the service's own registrations (the shadow controller). @default "manual" */
  trigger?: 'auto' | 'manual';
}

export interface RegisterDeps {
  rollout: RolloutService;
  bundles: Bundles;
  settings: Settings;
}

/** What a registration did. */
export interface Registered {
  version: string;
  points: string[];
  /** The offline verdict the bundle carries (null when it carries none). */
  offline: GateReport | null;
  /** Where the artifacts came from (a file, a manifest, a bundle). */
  source: string;
  applied: Applied;
}

/** The artifacts named by `--artifact`: one artifact file, or a manifest (pipeline or bundle) narrowed to `point`. */
export interface ResolvedArtifacts {
  policies: Record<string, string>;
  evaluation: unknown;
  source: string;
}

/** Read a JSON file given by a person: missing → E_INPUT_NOT_FOUND; unreadable → E_INPUT_UNREADABLE. */
function readJson(path: string): unknown {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.INPUT_NOT_FOUND, `no such file: ${path}`);
  if (statSync(path).isDirectory()) {
    const m = join(path, 'manifest.json');
    if (existsSync(m)) return readJson(m);
    throw new UmbraError(ErrorCode.INPUT_UNREADABLE, `${path} is a directory without a manifest.json; give an artifact file or a pipeline manifest.json`);
  }
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  } catch (e) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${path} is not readable JSON: ${(e as Error).message}`);
  }
}

/**
 * Resolve `--artifact FILE|manifest.json [--point P]`: a single artifact (its own point; `point`,
 * when given, must be it) or a manifest's policies (all of them, or only `point`). The offline
 * evaluation comes from the manifest, else from the artifact's own metrics.
 */
export function resolveArtifacts(path: string, point?: string): ResolvedArtifacts {
  const raw = readJson(path);
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'manifest.json') : path;
  const manifest = raw as { policies?: unknown; evaluation?: unknown; format?: unknown };
  if (typeof manifest === 'object' && manifest !== null && typeof manifest.policies === 'object' && manifest.policies !== null && !Array.isArray(manifest.policies)) {
    const all = manifest.policies as Record<string, unknown>;
    const names = Object.keys(all);
    const chosen = point === undefined ? names : [point];
    if (chosen.length === 0) throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `the manifest ${file} names no policies`);
    const policies: Record<string, string> = {};
    for (const p of chosen) {
      const f = all[p];
      if (typeof f !== 'string') throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `the manifest ${file} has no policy for point ${p} (it has ${names.join(', ') || 'none'})`);
      policies[p] = isAbsolute(f) ? f : join(dirname(file), f);
    }
    const ev = manifest.evaluation;
    const evaluation = typeof ev === 'object' && ev !== null && !Array.isArray(ev) && point !== undefined && (ev as Record<string, unknown>)[point] !== undefined ? { [point]: (ev as Record<string, unknown>)[point] } : ev;
    return { policies, evaluation, source: file };
  }
  const a = raw as { point?: unknown; metrics?: { evaluation?: unknown } };
  const own = typeof a === 'object' && a !== null && typeof a.point === 'string' ? a.point : undefined;
  if (own === undefined) throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${file} is neither a policy artifact nor a manifest with policies`);
  if (point !== undefined && point !== own) throw new UmbraError(ErrorCode.ARTIFACT_MISMATCH, `${basename(file)} is a policy for point ${own}, not ${point}`);
  const ev = a.metrics?.evaluation;
  return { policies: { [own]: file }, evaluation: ev === undefined ? undefined : { [own]: ev }, source: file };
}

/**
 * Check every artifact of a candidate against the running configuration (see the module comment).
 * Returns the parsed artifacts by point.
 */
export function checkArtifacts(policies: Record<string, string>, settings: Settings): Record<string, PolicyArtifact> {
  const out: Record<string, PolicyArtifact> = {};
  for (const [point, path] of Object.entries(policies)) {
    const a = readPolicyArtifact(path, settings.fingerprint);
    if (a.point !== point) throw new UmbraError(ErrorCode.ARTIFACT_MISMATCH, `${basename(path)} is a policy for point ${a.point} but is listed for ${point}`);
    const name = basename(path);
    if (/^.+-[a-z_]+-[0-9a-f]{16,}\.json$/.test(name) && name !== artifactFileName(a)) {
      throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `${name}: its content no longer matches its content-addressed name (expected ${artifactFileName(a)}): edited after it was written`);
    }
    out[point] = a;
  }
  return out;
}

/**
 * Put a saved bundle into the shadow: `register`, then `start_shadow` with a gate report that says
 * what was checked and carries the offline evaluation. Artifacts are checked again first, so a
 * bundle edited on disk is refused here too.
 */
export async function registerBundle(d: RegisterDeps, bundle: BundleManifest, who: RegisterWho): Promise<Registered> {
  const policies = d.bundles.artifacts(bundle.version);
  checkArtifacts(policies, d.settings);
  // In the shared store before any replica can be told to serve it.
  await d.bundles.publish(bundle.version);
  const offline = storedOfflineGates(bundle.evaluation);
  const trigger = who.trigger ?? 'manual';
  const first = await d.rollout.apply({ type: 'register', id: bundle.version, artifactHash: bundle.version, actor: who.actor, trigger, reason: who.reason });
  const summary = `artifacts valid (${Object.keys(policies).sort().join(', ')}); feature-map and reward hashes match this config`;
  const gates: GateReport = { passed: true, summary, details: { offline, evaluation: bundle.evaluation ?? null, origin: bundle.origin ?? null } };
  const second = await d.rollout.apply({ type: 'start_shadow', actor: who.actor, trigger, reason: `in the shadow; offline: ${offline === null ? 'no evaluation carried' : offline.summary}`, gates });
  return { version: bundle.version, points: Object.keys(policies).sort(), offline, source: bundle.version, applied: { state: second.state, records: [...first.records, ...second.records] } };
}

/**
 * `rollout register`: resolve the artifacts, check them, save them as a bundle with their offline
 * evaluation, and put the bundle into the shadow.
 */
export async function registerCandidate(d: RegisterDeps, o: { artifact: string; point?: string | undefined } & RegisterWho): Promise<Registered> {
  if (!o.reason.trim()) throw new UmbraError(ErrorCode.USAGE, 'rollout register needs --reason TEXT');
  const r = resolveArtifacts(o.artifact, o.point);
  checkArtifacts(r.policies, d.settings);
  const bundle = d.bundles.save(r.policies, { ...(r.evaluation === undefined ? {} : { evaluation: r.evaluation }), origin: 'register', prefix: 'cand' });
  const done = await registerBundle(d, bundle, o);
  return { ...done, source: r.source };
}
