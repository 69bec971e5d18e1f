/**
 * A policy's exact action distribution for each of a file's contexts (`umbra policy score`): the
 * distributions it samples from, so they are valid `umbra ope --target` input.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, UmbraError, firstIssue } from '../../core/errors.js';
import { ScoreInputSchema, type PolicyScore } from '../../core/events.js';
import { fastScoreInput } from '../../core/events-fast.js';
import { eachRecord } from '../../platform/fs.js';
import { loadPolicyArtifact } from '../artifacts/artifacts.js';

/** Resolve `--policy`: an artifact file, or a pipeline manifest plus `--point`. */
export function resolvePolicyPath(path: string, point: string | undefined): string {
  if (!existsSync(path)) throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `policy not found: ${path}`);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    return path; // the artifact loader reports the exact problem
  }
  const policies = (raw as { policies?: unknown }).policies;
  if (typeof policies !== 'object' || policies === null) return path;
  const map = policies as Record<string, unknown>;
  const names = Object.keys(map);
  const chosen = point ?? (names.length === 1 ? names[0] : undefined);
  if (chosen === undefined) throw new UmbraError(ErrorCode.USAGE, `${path} is a pipeline manifest with policies for ${names.join(', ')}: choose one with --point`);
  const file = map[chosen];
  if (typeof file !== 'string') throw new UmbraError(ErrorCode.POLICY_NOT_FOUND, `the manifest ${path} has no policy for point ${chosen} (it has ${names.join(', ') || 'none'})`);
  return join(dirname(path), file);
}

/**
 * Score every line of `contexts` (JSONL or a .json array of `{id, context, actions, baseline?}`)
 * with the policy at `policy` (an artifact, or a pipeline manifest with `point`), in input order.
 * A line that is not a score input is an E_SCHEMA error naming its line.
 */
export async function scoreContexts(o: { policy: string; contexts: string; point?: string | undefined }): Promise<{ version: string; point: string; scores: PolicyScore[]; otherPoints: Record<string, number> }> {
  const { policy: p, version } = loadPolicyArtifact(resolvePolicyPath(o.policy, o.point));
  const scores: PolicyScore[] = [];
  // Lines that name another decision point (a decision log holds route, tool and cache lines) are
  // not this policy's to score: they are skipped and counted, so the output holds only its point.
  const otherPoints: Record<string, number> = {};
  // The chunked reader, and a hand-written check of plainly valid lines before the schema (which
  // decides, with its own message, whatever the fast check is not sure of).
  eachRecord(o.contexts, (rec) => {
    if (rec.error !== undefined) throw new UmbraError(ErrorCode.SCHEMA, `${o.contexts} line ${rec.line} is not JSON: ${rec.error}`, { line: rec.line });
    const linePoint = typeof rec.value === 'object' && rec.value !== null ? (rec.value as { point?: unknown }).point : undefined;
    if (typeof linePoint === 'string' && linePoint !== p.point) {
      otherPoints[linePoint] = (otherPoints[linePoint] ?? 0) + 1;
      return;
    }
    let input = fastScoreInput(rec.value);
    if (input === undefined) {
      const r = ScoreInputSchema.safeParse(rec.value);
      if (!r.success) {
        throw new UmbraError(ErrorCode.SCHEMA, `${o.contexts} line ${rec.line} is not a score input: ${firstIssue(r.error)}`, { line: rec.line });
      }
      input = r.data;
    }
    const { id, context, actions, baseline } = input;
    if (new Set(actions).size !== actions.length) throw new UmbraError(ErrorCode.SCHEMA, `${o.contexts} line ${rec.line}: actions must be distinct`, { line: rec.line });
    const probs = p.probs(context, actions, baseline !== undefined && actions.includes(baseline) ? baseline : undefined);
    const out: Record<string, number> = {};
    for (let i = 0; i < actions.length; i++) out[actions[i]!] = probs[i]!;
    scores.push({ id, probs: out });
  });
  return { version, point: p.point, scores, otherPoints };
}
