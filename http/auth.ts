/**
 * Who may call the API: with a token, every /v1 request carries it as a bearer
 * token (compared in constant time); without one, the server binds to loopback
 * only and answers only requests addressed to a loopback name, so a web page
 * cannot reach it through DNS rebinding.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Whether `host` (a bind address or a Host header's name) is the loopback interface: 127.0.0.0/8, ::1 or localhost. */
export function isLoopback(host: string): boolean {
  const h = host
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/^::ffff:/, '');
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

/** Why the API must not be served on `host` with `token` (one line saying what to do), or null when it may. */
export function refuseToServe(host: string, token: string | undefined): string | null {
  if (token || isLoopback(host)) return null;
  return `--host ${host} is not a loopback address and LIGHTPATH_API_TOKEN is not set: set it to a secret (e.g. \`export LIGHTPATH_API_TOKEN=$(openssl rand -hex 32)\`) that clients send as \`Authorization: Bearer <token>\`, or bind to 127.0.0.1`;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * An onRequest hook guarding the /v1 routes: with `token`, a missing or malformed
 * Authorization header and a wrong token are 401 (with `WWW-Authenticate`);
 * without one, requests whose Host is not a loopback name are 403.
 */
export function bearerAuth(token: string | undefined): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const expected = token ? digest(token) : null;
  return async (req, reply) => {
    if (!expected) {
      if (!isLoopback(req.hostname ?? ''))
        throw new ApiError(403, 'forbidden', `Host ${JSON.stringify(req.hostname)} is not a loopback name; without LIGHTPATH_API_TOKEN the API answers only requests to 127.0.0.1, ::1 or localhost`);
      return;
    }
    const header = req.headers.authorization;
    if (!header) {
      reply.header('www-authenticate', 'Bearer realm="lightpath"');
      throw new ApiError(401, 'unauthorized', "missing bearer token: send `Authorization: Bearer <token>` with the server's LIGHTPATH_API_TOKEN");
    }
    const given = /^Bearer +(\S+) *$/i.exec(header)?.[1];
    // Hashing first makes the comparison constant-time whatever the lengths.
    if (!given || !timingSafeEqual(digest(given), expected)) {
      reply.header('www-authenticate', 'Bearer realm="lightpath", error="invalid_token"');
      throw new ApiError(401, 'invalid_token', given ? 'the bearer token is not valid' : 'the Authorization header is not `Bearer <token>`');
    }
  };
}
