/** Writes docs/cli.md from the commands' own help (run with `npm run docs:cli`; a test pins it). */
import { join } from 'node:path';
import { renderCliDocs } from '../src/cli/docs.js';
import { writeFileAtomic } from '../src/platform/fs.js';

writeFileAtomic(join(process.cwd(), 'docs', 'cli.md'), renderCliDocs());
process.stderr.write('wrote docs/cli.md\n');
