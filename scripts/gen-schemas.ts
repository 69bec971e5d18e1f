/** Writes the generated JSON Schemas into schemas/ (run with `npm run schemas`). */
import { join } from 'node:path';
import { generateSchemas } from '../src/core/schemas.js';
import { writeFileAtomic } from '../src/platform/fs.js';

const out = join(process.cwd(), 'schemas');
for (const [name, schema] of Object.entries(generateSchemas())) {
  writeFileAtomic(join(out, name), `${JSON.stringify(schema, null, 2)}\n`);
  process.stderr.write(`wrote schemas/${name}\n`);
}
