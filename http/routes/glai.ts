/** /v1/retrains and /v1/merges: GLAI incremental retrains and merges of completed runs' estimators. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LightpathClient } from '../../client/connect.js';
import { confineToDataRoots } from '../confine.js';
import { errors, MergeBody, RetrainBody, RunStarted } from '../schemas.js';
import { requireStatus, runUrl } from './run-state.js';

/** The GLAI routes, on `lp`. The runs they read must have completed (409 otherwise), so a request never waits for one. */
export const glaiRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  app.post(
    '/retrains',
    {
      schema: {
        tags: ['glai'],
        summary: "update a run's GLAI estimator with new data only",
        description: 'Reads only the new samples; the structure is kept. `from` must be a COMPLETED pipeline with GLAI, retrain or merge.',
        body: RetrainBody,
        response: { 202: RunStarted, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      await confineToDataRoots({ field: 'data', value: req.body.data }, { field: 'store', value: req.body.store });
      await requireStatus(lp, req.body.from, 'COMPLETED', 'retrained');
      const { workflowId } = await lp.startRetrain({ from: req.body.from, source: req.body.data, store: req.body.store });
      reply.code(202).header('location', runUrl(workflowId));
      return { runId: workflowId };
    },
  );

  app.post(
    '/merges',
    {
      schema: {
        tags: ['glai'],
        summary: 'merge the estimators of runs and of federated sites (exact: their statistics are summed)',
        description: 'Give `from` (COMPLETED runs with GLAI estimators) and/or `sites` (with `structureFrom` when there is no `from`).',
        body: MergeBody,
        response: { 202: RunStarted, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      await confineToDataRoots({ field: 'store', value: req.body.store });
      const { from = [], structureFrom } = req.body;
      for (const id of new Set([...from, ...(structureFrom ? [structureFrom] : [])])) await requireStatus(lp, id, 'COMPLETED', 'merged');
      const { workflowId } = await lp.startMerge(req.body);
      reply.code(202).header('location', runUrl(workflowId));
      return { runId: workflowId };
    },
  );
};
