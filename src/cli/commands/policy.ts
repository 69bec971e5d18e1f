/**
 * `umbra policy score`: the action probabilities of a policy artifact for contexts read from a
 * file, one `{id, probs}` line per input line in the same order (spec/decision-log.md), computed by
 * src/services/jobs/score.ts.
 */
import { Command } from '@commander-js/extra-typings';
import { writeFileAtomic } from '../../platform/fs.js';
import { scoreContexts } from '../../services/jobs/score.js';
import { emit, note } from '../context.js';
import { globalsOf } from '../run.js';

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
      const { version, point, scores, otherPoints } = await scoreContexts({ policy: opts.policy, contexts: opts.contexts, point: opts.point });
      const lines = scores.map((s) => JSON.stringify(s));
      const skipped = Object.entries(otherPoints);
      if (skipped.length > 0) note(`scored only the ${point} lines; skipped ${skipped.map(([k, n]) => `${n} ${k}`).join(', ')} line(s) of other decision points`);
      if (opts.out !== undefined) {
        writeFileAtomic(opts.out, lines.length > 0 ? `${lines.join('\n')}\n` : '');
        emit(g, { policy: version, point, n: lines.length, out: opts.out, skippedOtherPoints: otherPoints }, () => `${lines.length} score(s) written to ${opts.out}`);
        return;
      }
      if (g.json) {
        emit(g, { policy: version, point, n: scores.length, skippedOtherPoints: otherPoints, scores }, () => '');
        return;
      }
      if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
      note(`${lines.length} context(s) scored with ${version}`);
    });
  program.addCommand(policy);
}
