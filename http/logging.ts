/**
 * Logging of the API server (Fastify's pino, JSON lines): requests are recorded
 * as method, URL and peer only, never their headers, and any Authorization or
 * Cookie header that reaches a log line anyway is redacted.
 */
import type { FastifyServerOptions } from 'fastify';

/** Logger options for buildServer; `stream` defaults to stdout. */
export function loggerOptions(stream?: { write(line: string): void }): FastifyServerOptions['logger'] {
  return {
    level: 'info',
    ...(stream ? { stream } : {}),
    serializers: { req: (req) => ({ method: req.method, url: req.url, remoteAddress: req.ip }) },
    redact: { paths: ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', 'headers.cookie'], censor: '[redacted]' },
  };
}
