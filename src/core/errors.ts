/**
 * Typed errors with stable codes. Every failure a user can see carries one of these codes; the CLI
 * and the HTTP server map codes to exit and HTTP statuses here, in one place.
 */
import { z } from 'zod';
import { redactSecrets } from './redact.js';

/** Stable error codes. Never rename one: scripts and other programs match on them. */
export const ErrorCode = {
  USAGE: 'E_USAGE',
  CONFIG_INVALID: 'E_CONFIG_INVALID',
  SCHEMA: 'E_SCHEMA',
  INPUT_NOT_FOUND: 'E_INPUT_NOT_FOUND',
  INPUT_UNREADABLE: 'E_INPUT_UNREADABLE',
  POLICY_NOT_FOUND: 'E_POLICY_NOT_FOUND',
  ARTIFACT_INVALID: 'E_ARTIFACT_INVALID',
  ARTIFACT_MISMATCH: 'E_ARTIFACT_MISMATCH',
  NO_DATA: 'E_NO_DATA',
  UNIDENTIFIED: 'E_UNIDENTIFIED',
  GATE_FAILED: 'E_GATE_FAILED',
  TRANSITION_INVALID: 'E_TRANSITION_INVALID',
  LOCKED: 'E_LOCKED',
  NOT_RUNNING: 'E_NOT_RUNNING',
  STORE: 'E_STORE',
  AUDIT_TAMPERED: 'E_AUDIT_TAMPERED',
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  NOT_FOUND: 'E_NOT_FOUND',
  TIMEOUT: 'E_TIMEOUT',
  OVERLOADED: 'E_OVERLOADED',
  OUTPUT_UNWRITABLE: 'E_OUTPUT_UNWRITABLE',
  NO_STORE: 'E_NO_STORE',
  LISTEN: 'E_LISTEN',
  UNKNOWN_POINT: 'E_UNKNOWN_POINT',
  TOO_LARGE: 'E_TOO_LARGE',
  UNSUPPORTED_MEDIA: 'E_UNSUPPORTED_MEDIA',
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Process exit status per code (0 is success; 1 is reserved for unexpected crashes). */
export const EXIT_STATUS: Readonly<Record<ErrorCode, number>> = {
  E_USAGE: 2,
  E_CONFIG_INVALID: 3,
  E_SCHEMA: 4,
  E_INPUT_NOT_FOUND: 5,
  E_INPUT_UNREADABLE: 5,
  E_POLICY_NOT_FOUND: 6,
  E_ARTIFACT_INVALID: 7,
  E_ARTIFACT_MISMATCH: 7,
  E_NO_DATA: 8,
  E_UNIDENTIFIED: 8,
  E_GATE_FAILED: 9,
  E_TRANSITION_INVALID: 10,
  E_LOCKED: 11,
  E_NOT_RUNNING: 12,
  E_STORE: 13,
  E_AUDIT_TAMPERED: 14,
  E_UNAUTHORIZED: 15,
  E_NOT_FOUND: 16,
  E_TIMEOUT: 17,
  E_OVERLOADED: 18,
  E_OUTPUT_UNWRITABLE: 5,
  E_NO_STORE: 19,
  E_LISTEN: 20,
  E_UNKNOWN_POINT: 4,
  E_TOO_LARGE: 4,
  E_UNSUPPORTED_MEDIA: 4,
  E_INTERNAL: 1,
};

/** HTTP status per code, for the decision service and its admin endpoints. */
export const HTTP_STATUS: Readonly<Record<ErrorCode, number>> = {
  E_USAGE: 400,
  E_CONFIG_INVALID: 400,
  E_SCHEMA: 400,
  E_INPUT_NOT_FOUND: 404,
  E_INPUT_UNREADABLE: 400,
  E_POLICY_NOT_FOUND: 404,
  E_ARTIFACT_INVALID: 422,
  E_ARTIFACT_MISMATCH: 422,
  E_NO_DATA: 422,
  E_UNIDENTIFIED: 422,
  E_GATE_FAILED: 409,
  E_TRANSITION_INVALID: 409,
  E_LOCKED: 409,
  E_NOT_RUNNING: 409,
  E_STORE: 503,
  E_AUDIT_TAMPERED: 500,
  E_UNAUTHORIZED: 401,
  E_NOT_FOUND: 404,
  E_TIMEOUT: 504,
  E_OVERLOADED: 503,
  E_OUTPUT_UNWRITABLE: 500,
  E_NO_STORE: 404,
  E_LISTEN: 500,
  E_UNKNOWN_POINT: 422,
  E_TOO_LARGE: 413,
  E_UNSUPPORTED_MEDIA: 415,
  E_INTERNAL: 500,
};

/** What each code means, in a few words (the HTTP contract's documentation shows these). */
export const ERROR_MEANING: Readonly<Record<ErrorCode, string>> = {
  E_USAGE: 'a command or parameter used wrongly (bad flag value, missing reason)',
  E_CONFIG_INVALID: 'the configuration does not validate',
  E_SCHEMA: 'the input does not match its schema (the message names the path)',
  E_INPUT_NOT_FOUND: 'an input file does not exist',
  E_INPUT_UNREADABLE: 'an input file cannot be read or parsed',
  E_POLICY_NOT_FOUND: 'no such policy or bundle',
  E_ARTIFACT_INVALID: 'an artifact is damaged or not an Umbra artifact',
  E_ARTIFACT_MISMATCH: 'an artifact was built for another feature map, reward or config',
  E_NO_DATA: 'not enough data to do what was asked',
  E_UNIDENTIFIED: 'the log gives no support for the policy being evaluated',
  E_GATE_FAILED: 'a promotion gate did not pass (force it with a reason to override)',
  E_TRANSITION_INVALID: 'the rollout cannot make this move from its current stage',
  E_LOCKED: 'another process holds the lock or changed the state meanwhile; try again',
  E_NOT_RUNNING: 'the process to act on is not running',
  E_STORE: 'the store failed or is unavailable',
  E_AUDIT_TAMPERED: 'the audit log hash chain is broken',
  E_UNAUTHORIZED: 'missing or wrong admin bearer token, or admin endpoints disabled',
  E_NOT_FOUND: 'no such route or resource',
  E_TIMEOUT: 'an operation ran out of time',
  E_OVERLOADED: 'too busy to take the request; try again later',
  E_OUTPUT_UNWRITABLE: 'an output file cannot be written',
  E_NO_STORE: 'the data directory holds no store (a typo in --data-dir?); the message says how to create one',
  E_LISTEN: 'the service cannot listen on the address (port in use, unknown host, not permitted)',
  E_UNKNOWN_POINT: 'the decision point is not one the service answers for (server.points or a loaded policy)',
  E_TOO_LARGE: 'the request body is larger than server.body_limit_bytes',
  E_UNSUPPORTED_MEDIA: 'the request body is not sent as application/json',
  E_INTERNAL: 'a bug: please report it with the message',
};

/**
 * The JSON body of an HTTP error (`UmbraError.toJSON`), with `error.code` limited to `codes`
 * (every code by default). The OpenAPI document uses one per documented error status.
 */
export function errorResponseSchema(codes: readonly ErrorCode[] = Object.values(ErrorCode)): z.ZodType<{ error: { code: ErrorCode; message: string; details?: unknown } }> {
  return z.object({
    error: z.object({
      code: z.enum(codes as [ErrorCode, ...ErrorCode[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  });
}

/** An error a user may see: a stable code, a sentence, and optional structured details. */
export class UmbraError extends Error {
  readonly code: ErrorCode;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown, options?: { cause?: unknown }) {
    // A connection URL quoted in a message never carries its password out (logs, stderr, HTTP).
    super(redactSecrets(message), options);
    this.name = 'UmbraError';
    this.code = code;
    this.details = details;
  }

  /** The JSON shape used on stderr (CLI) and in HTTP error bodies. */
  toJSON(): { error: { code: ErrorCode; message: string; details?: unknown } } {
    return {
      error: {
        code: this.code,
        message: this.message,
        ...(this.details === undefined ? {} : { details: this.details }),
      },
    };
  }
}

/** True when `e` is an UmbraError (optionally with the given code). */
export function isUmbraError(e: unknown, code?: ErrorCode): e is UmbraError {
  return e instanceof UmbraError && (code === undefined || e.code === code);
}

/** Wrap anything thrown into an UmbraError, keeping UmbraErrors as they are. */
export function toUmbraError(e: unknown): UmbraError {
  if (e instanceof UmbraError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new UmbraError(ErrorCode.INTERNAL, message, undefined, { cause: e });
}

/** The first problem a schema found, as `path: message` (the path left out at the root). */
export function firstIssue(error: z.ZodError): string {
  const i = error.issues[0];
  const where = i !== undefined && i.path.length > 0 ? `${i.path.map(String).join('.')}: ` : '';
  return `${where}${i?.message ?? 'invalid'}`;
}
