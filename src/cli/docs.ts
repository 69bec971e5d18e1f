/** The CLI reference, rendered from each command's own help so the docs cannot drift. */
import { helpTexts } from './program.js';

export function renderCliDocs(): string {
  const parts = [
    '# CLI reference',
    '',
    'Generated from `umbra <command> --help` by `npm run docs:cli`; a test fails when it differs from the code.',
    'Every command accepts the global options `--data-dir DIR` (default `$UMBRA_HOME` or `./.umbra`),',
    '`--json` (one JSON object on standard output) and `--config FILE`.',
    'Errors go to standard error as `umbra: E_CODE: message` (with `--json`: `{"error":{"code","message"}}`)',
    'and the exit status names the error class (see docs/errors.md).',
    '',
  ];
  for (const { path, help } of helpTexts()) {
    parts.push(`## ${path}`, '', '```text', help.trimEnd(), '```', '');
  }
  return parts.join('\n');
}
