/**
 * Policy artifacts on disk: written atomically under a content-addressed name, read back with
 * every check a caller needs before trusting one (present, well-formed, and trained under the same
 * feature map and reward function as the caller's). The pure schema and conversions live in
 * src/core/policies/artifact.ts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Context } from '../../core/events.js';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import {
  type Compatibility,
  type Policy,
  type PolicyArtifact,
  artifactFileName,
  checkCompatibility,
  parseArtifact,
  policyFromArtifact,
} from '../../core/policies/index.js';
import { writeJsonAtomic } from '../../platform/fs.js';

/** A policy loaded from an artifact file. */
export interface LoadedPolicyArtifact {
  /** The live policy (identical probabilities to the one that was saved). */
  policy: Policy;
  artifact: PolicyArtifact;
  /** Version string for logs and the decision API: the file name without `.json`. */
  version: string;
  path: string;
}

/** Write an artifact under its content-addressed name in `dir`; returns the file name and path. */
export function writePolicyArtifact(dir: string, artifact: PolicyArtifact): { file: string; path: string } {
  const file = artifactFileName(artifact);
  const path = join(dir, file);
  writeJsonAtomic(path, artifact);
  return { file, path };
}

/**
 * Read and validate an artifact file. Missing → E_POLICY_NOT_FOUND; not JSON or not an artifact →
 * E_ARTIFACT_INVALID; hashes different from `expected` → E_ARTIFACT_MISMATCH naming each one.
 */
export function readPolicyArtifact(path: string, expected: Compatibility = {}): PolicyArtifact {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `policy artifact not found: ${path}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new UmbraError(ErrorCode.ARTIFACT_INVALID, `policy artifact ${path} is not readable JSON: ${(e as Error).message}`);
  }
  const artifact = parseArtifact(raw, `policy artifact ${basename(path)}`);
  checkCompatibility(artifact, expected, `policy artifact ${basename(path)}`);
  return artifact;
}

/** Read, check and instantiate a policy artifact (see `readPolicyArtifact` for the errors). */
export function loadPolicyArtifact(path: string, expected: Compatibility = {}): LoadedPolicyArtifact {
  const artifact = readPolicyArtifact(path, expected);
  return { policy: policyFromArtifact(artifact), artifact, version: basename(path).replace(/\.json$/, ''), path };
}

/**
 * The loader contract of the policy host (`loadPolicy(path)` → `{ version, decide }`): a thin view
 * of `loadPolicyArtifact` for worker threads.
 */
export function loadPolicy(path: string): {
  version: string;
  decide(id: string, context: Context, actions: readonly string[], baseline?: string): { action: string; propensity: number; probs: number[] };
} {
  const { policy, version } = loadPolicyArtifact(path);
  return {
    version,
    decide: (id, context, actions, baseline) => {
      const d = policy.decide(id, context, actions, baseline);
      return { action: d.action, propensity: d.propensity, probs: d.probs };
    },
  };
}
