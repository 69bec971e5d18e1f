/**
 * Reading the OpenAPI document in tests: validate a value against any schema of the document
 * (its `#/components/schemas/...` references resolved, JSON Schema 2020-12 as OpenAPI 3.1 says),
 * and list every documented request example with the status it must be answered with.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { ErrorObject } from 'ajv';

type Json = Record<string, unknown>;

// ajv-formats is CommonJS; its default export arrives wrapped under NodeNext.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv2020) => void;

/** `#/components/schemas/X` references rewritten to ids Ajv can resolve across schemas. */
function rewriteRefs(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(rewriteRefs);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace(/^#\/components\/schemas\//, 'umbra:schemas/') : rewriteRefs(v)]),
  );
}

/** A validator of values against schemas of `doc`: null when valid, else the errors as text. */
export function schemaChecker(doc: Json): (schema: unknown, value: unknown) => string | null {
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  addFormats(ajv);
  const components = (doc.components as Json | undefined)?.schemas as Json | undefined;
  for (const [name, schema] of Object.entries(components ?? {})) ajv.addSchema({ ...(rewriteRefs(schema) as Json), $id: `umbra:schemas/${name}` });
  const cache = new Map<string, ReturnType<Ajv2020['compile']>>();
  return (schema, value) => {
    const key = JSON.stringify(schema);
    let validate = cache.get(key);
    if (!validate) {
      validate = ajv.compile(rewriteRefs(schema) as Json);
      cache.set(key, validate);
    }
    if (validate(value)) return null;
    return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '(root)'} ${e.message ?? ''} ${JSON.stringify(e.params)}`).join('; ');
  };
}

/** One request the document promises an answer to. */
export interface DocumentedCase {
  method: string;
  path: string;
  operationId: string;
  /** Example name, or `(no example)` for an operation without any. */
  name: string;
  query?: Record<string, string>;
  body?: unknown;
  /** The status the example says the server answers. */
  status: number;
  admin: boolean;
}

/** The operations of the document with their cases: every request-body and query example. */
export function documentedCases(doc: Json): { operationId: string; method: string; path: string; admin: boolean; cases: DocumentedCase[] }[] {
  const out = [];
  for (const [path, item] of Object.entries(doc.paths as Record<string, Json>)) {
    for (const [method, opRaw] of Object.entries(item)) {
      const op = opRaw as Json;
      const operationId = String(op.operationId);
      const admin = Array.isArray(op.security) && op.security.length > 0;
      const cases: DocumentedCase[] = [];
      const body = ((op.requestBody as Json | undefined)?.content as Json | undefined)?.['application/json'] as Json | undefined;
      for (const [name, ex] of Object.entries((body?.examples ?? {}) as Record<string, Json>)) {
        cases.push({ method, path, operationId, name, body: ex.value, status: Number(ex['x-status']), admin });
      }
      for (const p of (op.parameters ?? []) as Json[]) {
        for (const [name, ex] of Object.entries((p.examples ?? {}) as Record<string, Json>)) {
          cases.push({ method, path, operationId, name: `${String(p.name)}=${name}`, query: { [String(p.name)]: String(ex.value) }, status: Number(ex['x-status']), admin });
        }
      }
      if (cases.length === 0 || op.parameters !== undefined) {
        const ok = Object.keys(op.responses as Json).map(Number).find((s) => s >= 200 && s < 300) ?? 200;
        cases.unshift({ method, path, operationId, name: '(no example)', status: ok, admin });
      }
      out.push({ operationId, method, path, admin, cases });
    }
  }
  return out;
}
