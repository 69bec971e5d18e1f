/**
 * JSON Schemas generated from the zod schemas: the decision log, outcome events, target
 * probabilities, shadow records and the config; and the OpenAPI document of the HTTP API. `npm run schemas` writes them to schemas/; a test
 * pins the committed files to what the code generates.
 */
import { z } from 'zod';
import { ConfigSchema } from './config/index.js';
import { generateOpenApi } from './openapi.js';
import { DecisionEventSchema, OutcomeEventSchema, ShadowRecordSchema, TargetProbsSchema, ScoreInputSchema } from './events.js';

/** File name → JSON Schema object (and `openapi.json`, the OpenAPI 3.1 document). */
export function generateSchemas(): Record<string, unknown> {
  const gen = (schema: z.ZodType, title: string, io: 'input' | 'output' = 'input'): unknown => ({
    ...z.toJSONSchema(schema, { io, unrepresentable: 'any' }),
    title,
  });
  return {
    'decision-event.schema.json': gen(DecisionEventSchema, 'Umbra decision event (format v1)'),
    'outcome-event.schema.json': gen(OutcomeEventSchema, 'Umbra outcome event (format v1)'),
    'target-probs.schema.json': gen(TargetProbsSchema, 'Umbra target probabilities / policy scores line'),
    'score-input.schema.json': gen(ScoreInputSchema, 'Umbra policy score input line'),
    'shadow-record.schema.json': gen(ShadowRecordSchema, 'Umbra shadow record'),
    'config.schema.json': gen(ConfigSchema, 'Umbra configuration'),
    'openapi.json': generateOpenApi(),
  };
}
