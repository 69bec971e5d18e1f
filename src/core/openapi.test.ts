/**
 * The generated OpenAPI document is valid OpenAPI 3.1 (checked by a maintained validator, which a
 * broken copy fails), its schemas are valid JSON Schema 2020-12, the examples it promises success
 * for match their schemas, and every error status lists only codes that map to that status.
 */
import { describe, expect, it } from 'vitest';
import { Validator } from '@seriousme/openapi-schema-validator';
import { generateOpenApi } from './openapi.js';
import { ErrorCode, HTTP_STATUS } from './errors.js';
import { documentedCases, schemaChecker } from '../../test/helpers/openapi.js';

type Json = Record<string, unknown>;
const doc = generateOpenApi();

/** Every operation object of the document. */
function operations(d: Json): [string, string, Json][] {
  return Object.entries(d.paths as Record<string, Json>).flatMap(([path, item]) => Object.entries(item).map(([m, op]): [string, string, Json] => [path, m, op as Json]));
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    const v = new Validator();
    const r = await v.validate(structuredClone(doc));
    expect(r.errors ?? []).toEqual([]);
    expect(r.valid).toBe(true);
    expect(v.version).toBe('3.1');
  });

  it('the validator rejects a broken copy (a response without description, an unknown field)', async () => {
    const broken = structuredClone(doc) as Json;
    const decide = (broken.paths as Record<string, Json>)['/v1/decide']!.post as Json;
    delete ((decide.responses as Json)['200'] as Json).description;
    expect((await new Validator().validate(broken)).valid).toBe(false);
    const unknown = structuredClone(doc) as Json;
    ((unknown.paths as Record<string, Json>)['/v1/status']!.get as Json).summery = 'typo';
    expect((await new Validator().validate(unknown)).valid).toBe(false);
  });

  it('documents every route of the server, with an operationId each', () => {
    const ids = operations(doc).map(([, , op]) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(Object.keys(doc.paths as Json)).toEqual(
      expect.arrayContaining(['/v1/decide', '/v1/outcome', '/v1/status', '/api/dashboard', '/api/stream', '/metrics', '/openapi.json', '/v1/admin/rollout/history', '/v1/admin/rollout/verify', '/v1/admin/rollout/promote', '/v1/admin/rollout/rollback']),
    );
  });

  it('its schemas compile as JSON Schema 2020-12, and its success examples match them', () => {
    const check = schemaChecker(doc);
    let checked = 0;
    for (const [path, method, op] of operations(doc)) {
      const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
      for (const [name, ex] of Object.entries((body?.examples ?? {}) as Record<string, Json>)) {
        const status = Number(ex['x-status']);
        expect(Number.isInteger(status), `${method} ${path} ${name} has x-status`).toBe(true);
        if (status < 300) {
          expect(check(body!.schema, ex.value), `${method} ${path} example ${name}`).toBeNull();
          checked++;
        }
      }
      for (const [status, res] of Object.entries(op.responses as Record<string, Json>)) {
        for (const media of Object.values((res.content ?? {}) as Record<string, Json>)) {
          if (media.schema !== undefined && media.example !== undefined) {
            expect(check(media.schema, media.example), `${method} ${path} ${status} example`).toBeNull();
            checked++;
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(8);
    // a value that breaks a schema is reported
    expect(check({ $ref: '#/components/schemas/DecideResponse' }, { action: 'deep' })).toMatch(/required/);
  });

  it('lists under each error status only codes that map to it, with their meaning', () => {
    const check = schemaChecker(doc);
    let errors = 0;
    for (const [path, method, op] of operations(doc)) {
      for (const [status, res] of Object.entries(op.responses as Record<string, Json>)) {
        if (Number(status) < 400) continue;
        const schema = ((res.content as Json)['application/json'] as Json).schema;
        for (const code of Object.values(ErrorCode)) {
          const allowed = check(schema, { error: { code, message: 'm' } }) === null;
          if (allowed) {
            expect(HTTP_STATUS[code], `${method} ${path} ${status} ${code}`).toBe(Number(status));
            expect(String(res.description)).toContain(code);
            errors++;
          }
        }
      }
    }
    expect(errors).toBeGreaterThan(20);
  });

  it('names the cases the contract test sends: every example, with its status', () => {
    const ops = documentedCases(doc);
    expect(ops.length).toBe(operations(doc).length);
    const decide = ops.find((o) => o.operationId === 'decide')!;
    expect(decide.cases.map((c) => c.status)).toEqual(expect.arrayContaining([200, 400]));
    const history = ops.find((o) => o.operationId === 'rolloutHistory')!;
    expect(history.cases.map((c) => c.name)).toEqual(['(no example)', 'at=iso', 'at=epochMs', 'at=notATime']);
  });
});
