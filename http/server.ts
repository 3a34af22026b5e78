/**
 * The HTTP API: the client API (cli/client.ts) as JSON endpoints, built as a
 * Fastify app around a connected LightpathClient (so tests can inject requests
 * and `lightpath serve` can listen). Requests are validated with zod; every error
 * is `{ error: { code, message } }`.
 */
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { LightpathClient } from '../client/connect.js';
import { bearerAuth } from './auth.js';
import { ApiError, toApiError } from './errors.js';
import { registerOpenApi } from './openapi.js';
import { eventRoutes } from './routes/events.js';
import { glaiRoutes } from './routes/glai.js';
import { forgetRoutes } from './routes/forgets.js';
import { healthRoutes } from './routes/health.js';
import { runRoutes } from './routes/runs.js';
import { scheduleRoutes } from './routes/schedules.js';

/** The largest request body, in bytes (1 MiB); a larger one is a 413 `payload_too_large`. */
export const BODY_LIMIT = 1024 * 1024;

/** How buildServer guards and logs. */
export interface ServerOptions {
  /** The bearer token every /v1 request must carry; without one, only requests to a loopback name are answered. */
  token?: string;
  /** Fastify's logger option (see loggerOptions); default: no logging. */
  logger?: FastifyServerOptions['logger'];
}

/** Builds the API on `lp` (not yet listening; `inject` works at once). The caller closes `lp` after the app. */
export async function buildServer(lp: LightpathClient, opts: ServerOptions = {}): Promise<FastifyInstance> {
  // Bodies over 1 MiB are refused with 413 before they are parsed (no request of this API needs more).
  const app = Fastify({ logger: opts.logger ?? false, forceCloseConnections: 'idle', bodyLimit: BODY_LIMIT }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API; responses are sent as they are (a field added to a run's description must not turn into a 500).
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // JSON bodies only (a browser cannot send one cross-origin without a preflight this server never grants);
  // an empty one is no body, as for a POST without one (`curl -X POST -H 'content-type: application/json' …/cancel`).
  const json = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => (body.length === 0 ? done(null, undefined) : json(req, body.toString(), done)));

  app.setErrorHandler((e, req, reply) => {
    const err = toApiError(e);
    if (err.status >= 500) req.log.error({ err: e }, err.message);
    reply.code(err.status).send(err.body());
  });
  app.setNotFoundHandler((req, reply) => {
    const err = new ApiError(404, 'not_found', `no route ${req.method} ${req.url.split('?')[0]}; GET /openapi.json lists the routes`);
    reply.code(404).send(err.body());
  });

  await registerOpenApi(app);
  await app.register(healthRoutes, { lp });
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', bearerAuth(opts.token));
      await v1.register(runRoutes, { lp });
      await v1.register(eventRoutes, { lp });
      await v1.register(glaiRoutes, { lp });
      await v1.register(forgetRoutes, { lp });
      await v1.register(scheduleRoutes, { lp });
    },
    { prefix: '/v1' },
  );
  return app;
}
