/** /v1/forgets: exact forgetting of contributions (a site, a shard, a time window) from a completed run's GLAI estimator. */
import { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LightpathClient } from '../../client/connect.js';
import { confineToDataRoots } from '../confine.js';
import { errors, RunStarted } from '../schemas.js';
import { requireStatus, runUrl } from './run-state.js';

/** Body of POST /v1/forgets: give at least one of `contributions`, `site`, `before`. */
export const ForgetBody = z
  .object({
    from: z.string().min(1).describe('the COMPLETED run (pipeline with GLAI, retrain, merge or forget) whose estimator to forget from'),
    contributions: z
      .array(z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits'))
      .min(1)
      .optional()
      .describe("contribution ids (SHA-256 of their statistics artifacts, as the estimator's manifest lists them)"),
    site: z.string().min(1).optional().describe('every contribution of this federated site'),
    before: z.iso.datetime({ offset: true }).optional().describe('every contribution that arrived before this time'),
    purge: z.boolean().optional().describe("delete the removed contributions' statistics artifacts from the store (default false)"),
    store: z.string().min(1).optional().describe("artifact store for the result (`s3://bucket/prefix` or a path); default: the server's LIGHTPATH_STORE"),
  })
  .strict();

/** The forget route, on `lp`. */
export const forgetRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  app.post(
    '/forgets',
    {
      schema: {
        tags: ['glai'],
        summary: "forget contributions of a run's GLAI estimator exactly (no data read)",
        description:
          "Subtracts the named contributions' statistics, re-solves, and proves the result against a solve on the remaining contributions summed afresh (`exactness` in the run's result). The old estimator stays. `from` must be COMPLETED.",
        body: ForgetBody,
        response: { 202: RunStarted, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      await confineToDataRoots({ field: 'store', value: req.body.store });
      await requireStatus(lp, req.body.from, 'COMPLETED', 'forgotten from');
      const { workflowId } = await lp.startForget(req.body);
      reply.code(202).header('location', runUrl(workflowId));
      return { runId: workflowId };
    },
  );
};
