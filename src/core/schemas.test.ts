import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateSchemas } from './schemas.js';

describe('committed JSON Schemas', () => {
  it('match what the code generates (run `npm run schemas` after changing a schema)', () => {
    for (const [name, schema] of Object.entries(generateSchemas())) {
      const committed = JSON.parse(readFileSync(join(process.cwd(), 'schemas', name), 'utf8')) as unknown;
      expect(committed, name).toEqual(schema);
    }
  });
});
