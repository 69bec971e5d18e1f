/**
 * `umbra policy score`: the action probabilities of a policy artifact for contexts read from a
 * file, one `{id, probs}` line per input line in the same order (spec/decision-log.md). These are
 * exactly the distributions the policy samples from, so they are valid `umbra ope --target` input.
 */
import { Command } from '@commander-js/extra-typings';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ErrorCode, UmbraError } from '../../core/errors.js';
import { ScoreInputSchema, type PolicyScore } from '../../core/events.js';
import { loadPolicyArtifact } from '../../services/artifacts.js';
import { readRecords, writeFileAtomic } from '../../platform/fs.js';
import { emit, note } from '../context.js';
import { globalsOf } from '../run.js';

/** Resolve `--policy`: an artifact file, or a pipeline manifest plus `--point`. */
function resolvePolicyPath(path: string, point: string | undefined): string {
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

/** Register `umbra policy`. */
export function registerPolicy(program: Command): void {
  const policy = new Command('policy').description('inspect and use policy artifacts');
  policy
    .command('score')
    .description('write {id, probs} JSONL: the policy’s exact action distribution for each input context')
    .requiredOption('--policy <file>', 'policy artifact (or a pipeline manifest.json with --point)')
    .requiredOption('--contexts <file>', 'JSONL (or .json array) of {id, context, actions, baseline?}')
    .option('--point <point>', 'decision point to take from a manifest')
    .option('--out <file>', 'write the JSONL here (atomically) instead of standard output')
    .action(async (opts, cmd) => {
      const g = globalsOf(cmd);
      const { policy: p, version } = loadPolicyArtifact(resolvePolicyPath(opts.policy, opts.point));
      const lines: string[] = [];
      const scores: PolicyScore[] = [];
      for await (const rec of readRecords(opts.contexts)) {
        if (rec.error !== undefined) throw new UmbraError(ErrorCode.SCHEMA, `${opts.contexts} line ${rec.line} is not JSON: ${rec.error}`, { line: rec.line });
        const r = ScoreInputSchema.safeParse(rec.value);
        if (!r.success) {
          const i = r.error.issues[0];
          const where = i !== undefined && i.path.length > 0 ? `${i.path.map(String).join('.')}: ` : '';
          throw new UmbraError(ErrorCode.SCHEMA, `${opts.contexts} line ${rec.line} is not a score input: ${where}${i?.message ?? 'invalid'}`, { line: rec.line });
        }
        const { id, context, actions, baseline } = r.data;
        if (new Set(actions).size !== actions.length) throw new UmbraError(ErrorCode.SCHEMA, `${opts.contexts} line ${rec.line}: actions must be distinct`, { line: rec.line });
        const probs = p.probs(context, actions, baseline !== undefined && actions.includes(baseline) ? baseline : undefined);
        const out: PolicyScore = { id, probs: Object.fromEntries(actions.map((a, i) => [a, probs[i]!])) };
        if (g.json && opts.out === undefined) scores.push(out);
        else lines.push(JSON.stringify(out));
      }
      if (opts.out !== undefined) {
        writeFileAtomic(opts.out, lines.length > 0 ? `${lines.join('\n')}\n` : '');
        emit(g, { policy: version, n: lines.length, out: opts.out }, () => `${lines.length} score(s) written to ${opts.out}`);
        return;
      }
      if (g.json) {
        emit(g, { policy: version, n: scores.length, scores }, () => '');
        return;
      }
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      note(`${lines.length} context(s) scored with ${version}`);
    });
  program.addCommand(policy);
}
