/** /v1/runs: start a pipeline, list and describe runs, their progress, cancel and resume. */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { LightpathClient } from '../../client/connect.js';
import { confineToDataRoots } from '../confine.js';
import { ApiError, toApiError } from '../errors.js';
import { CancelRequested, errors, ListQuery, PipelineConfigBody, ProgressSchema, ResumeBody, RunInfoSchema, RunParams, RunStarted, RunSummarySchema } from '../schemas.js';
import { requireStatus, runUrl } from './run-state.js';

/** The run routes, on `lp`. */
export const runRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  app.post(
    '/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'start a pipeline run',
        description: 'The body is a pipeline config (every field optional; unknown fields are errors), validated like `lightpath run` validates its YAML.',
        body: PipelineConfigBody,
        response: { 202: RunStarted, ...errors(400, 401, 503) },
      },
    },
    async (req, reply) => {
      await confineToDataRoots({ field: 'data.source', value: req.body.data?.source }, { field: 'execution.store', value: req.body.execution?.store });
      const { runId } = await lp.startPipeline(req.body);
      reply.code(202).header('location', runUrl(runId));
      return { runId };
    },
  );

  app.get(
    '/runs',
    {
      schema: {
        tags: ['runs'],
        summary: 'lightpath runs, newest first',
        querystring: ListQuery,
        response: { 200: RunSummarySchema.array(), ...errors(400, 401, 503) },
      },
    },
    async (req) => lp.listRuns(req.query),
  );

  app.get(
    '/runs/:id',
    {
      schema: {
        tags: ['runs'],
        summary: "a run's status, live progress, result or failure",
        params: RunParams,
        response: { 200: RunInfoSchema, ...errors(401, 404, 503) },
      },
    },
    async (req) => lp.getRun(req.params.id),
  );

  app.get(
    '/runs/:id/progress',
    {
      schema: {
        tags: ['runs'],
        summary: "a pipeline's live stage, epoch and latest metrics",
        params: RunParams,
        response: { 200: ProgressSchema, ...errors(401, 404, 503) },
      },
    },
    async (req) => {
      try {
        return await lp.progress(req.params.id);
      } catch (e) {
        if ((e as Error).name === 'QueryNotRegisteredError')
          throw new ApiError(404, 'not_found', `${req.params.id} is not a pipeline run; it has no progress (GET /v1/runs/${req.params.id} describes it)`);
        throw e;
      }
    },
  );

  app.post(
    '/runs/:id/cancel',
    {
      schema: {
        tags: ['runs'],
        summary: 'request cancellation of a running run',
        description: 'Training stops within a batch and the manifest records it; POST /v1/runs/{id}/resume continues it.',
        params: RunParams,
        response: { 202: CancelRequested, ...errors(401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      await requireStatus(lp, req.params.id, 'RUNNING', 'cancelled');
      await lp.cancelRun(req.params.id);
      reply.code(202);
      return { runId: req.params.id, cancelRequested: true as const };
    },
  );

  app.post(
    '/runs/:id/resume',
    {
      schema: {
        tags: ['runs'],
        summary: 'continue a failed, cancelled or terminated pipeline run',
        description:
          'Starts a new run that reuses every finished stage and continues training from its last checkpoint; `fromStage` reruns that stage and what follows. 409 when the run is still running, completed without `fromStage`, or not a pipeline.',
        params: RunParams,
        body: ResumeBody,
        response: { 202: RunStarted, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      const { runId } = await lp.resumeRun(req.params.id, { fromStage: req.body?.fromStage }).catch((e: unknown) => {
        throw toApiError(e, 409);
      });
      reply.code(202).header('location', runUrl(runId));
      return { runId, resumedFrom: req.params.id };
    },
  );
};
