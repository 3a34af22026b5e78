/**
 * Errors of the HTTP API: every failure is `{ error: { code, message } }` with a
 * status that says whose fault it is (bad request, unknown run, a run in the
 * wrong state, Temporal unreachable).
 */
import type { FastifyError } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import { ConfigError } from '../contracts/errors.js';

/** A field that failed validation, as ConfigError names it (`model.hidden.0`). */
export interface FieldIssue {
  path: string;
  message: string;
}

/** The JSON body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: FieldIssue[] };
}

/** An error with its HTTP status and a stable machine-readable code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly issues?: FieldIssue[],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The response body. */
  body(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.issues ? { issues: this.issues } : {}) } };
  }
}

/** Codes of the statuses that ConfigErrors and Fastify's own client errors map to. */
const CODES: Record<number, string> = {
  400: 'invalid_request',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
};

/** gRPC status codes that mean the Temporal frontend cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED). */
const UNREACHABLE = new Set([14, 4]);

/** Whether `e` (or one of its causes) says Temporal cannot be reached. */
function unreachable(e: unknown): boolean {
  for (let err: unknown = e; err instanceof Error; err = err.cause) {
    const code = (err as { code?: unknown }).code;
    if ((typeof code === 'number' && UNREACHABLE.has(code)) || /ECONNREFUSED|Failed to connect|TransportError/i.test(err.message)) return true;
  }
  return false;
}

/** The first line of a message (Temporal's messages carry details below it). */
const firstLine = (m: string) => m.split('\n')[0]!;

/**
 * Maps any error to an ApiError: request validation → 400 naming each field,
 * ConfigError → 400 (or `configStatus`, e.g. 409 where it means the run's state
 * forbids the operation), unknown run → 404, Temporal unreachable → 503,
 * Fastify's own 4xx as they are, everything else → 500.
 */
export function toApiError(e: unknown, configStatus = 400): ApiError {
  if (e instanceof ApiError) return e;
  if (hasZodFastifySchemaValidationErrors(e)) {
    const issues = e.validation.map((v) => ({ path: v.instancePath.slice(1).replaceAll('/', '.') || '(root)', message: v.message ?? 'invalid' }));
    const where = (e as FastifyError).validationContext ?? 'request';
    return new ApiError(400, 'invalid_request', `invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
  }
  if (e instanceof ConfigError) return new ApiError(configStatus, CODES[configStatus] ?? 'invalid_request', e.message, e.issues.length ? e.issues : undefined);
  const err = e as FastifyError;
  if (err?.name === 'WorkflowNotFoundError') return new ApiError(404, 'not_found', `no such run: ${firstLine(err.message)}`);
  if (unreachable(e)) return new ApiError(503, 'temporal_unavailable', `cannot reach Temporal (${firstLine(err.message)})`);
  if (err?.statusCode === 415) return new ApiError(415, CODES[415]!, `unsupported Content-Type; send the body as JSON (Content-Type: application/json)`);
  if (typeof err?.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
    return new ApiError(err.statusCode, CODES[err.statusCode] ?? 'invalid_request', firstLine(err.message));
  }
  return new ApiError(500, 'internal', firstLine(err?.message ?? String(e)));
}
