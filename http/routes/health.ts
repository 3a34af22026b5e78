/** GET /healthz: whether the server can reach Temporal's frontend (unauthenticated, for load balancers and probes). */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LightpathClient } from '../../client/connect.js';
import { errors, HealthSchema } from '../schemas.js';

/** How long the health check waits for Temporal's answer. */
const DEADLINE_MS = 3000;

/** The health route, on `lp`. */
export const healthRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['service'],
        summary: 'health: 200 when Temporal answers within 3 s, 503 otherwise',
        security: [],
        response: { 200: HealthSchema, ...errors(503) },
      },
    },
    async () => {
      const { connection, workflowService } = lp.client;
      await connection.withDeadline(Date.now() + DEADLINE_MS, () => workflowService.getSystemInfo({}));
      return { status: 'ok' as const, temporal: 'serving' as const };
    },
  );
};
