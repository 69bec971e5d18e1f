/** Writes docs/configuration.md from schemas/config.schema.json (run with `npm run docs:config`; a test pins it). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../src/platform/fs.js';
import { renderConfigDocs } from './config-docs.js';

const root = process.cwd();
const schema: unknown = JSON.parse(readFileSync(join(root, 'schemas', 'config.schema.json'), 'utf8'));
writeFileAtomic(join(root, 'docs', 'configuration.md'), renderConfigDocs(schema, root));
process.stderr.write('wrote docs/configuration.md\n');
