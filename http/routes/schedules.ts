/** /v1/schedules: scheduled GLAI retraining (lp.schedules): create, list, describe, pause, unpause, trigger, backfill, delete. */
import { ScheduleNotFoundError } from '@temporalio/client';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LightpathClient } from '../../client/connect.js';
import { confineToDataRoots } from '../confine.js';
import { ApiError } from '../errors.js';
import { errors } from '../schemas.js';
import { BackfillBody, BackfillStarted, CreateScheduleBody, PauseBody, ScheduleListEntrySchema, ScheduleParams, ScheduleViewSchema, TriggerBody, Triggered } from '../schedule-schemas.js';
import { requireStatus, runUrl } from './run-state.js';

/** Whether a schedule `scheduleId` exists (of any kind). */
async function scheduleExists(lp: LightpathClient, scheduleId: string): Promise<boolean> {
  try {
    await lp.client.schedule.getHandle(scheduleId).describe();
    return true;
  } catch (e) {
    if (e instanceof ScheduleNotFoundError) return false;
    throw e;
  }
}

/** Throws 404 unless schedule `scheduleId` exists. */
async function requireSchedule(lp: LightpathClient, scheduleId: string): Promise<void> {
  if (!(await scheduleExists(lp, scheduleId))) throw new ApiError(404, 'not_found', `no such schedule: ${scheduleId}; GET /v1/schedules lists them`);
}

const tags = ['schedules'];

/** The schedule routes, on `lp`. */
export const scheduleRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  app.post(
    '/schedules',
    {
      schema: {
        tags,
        summary: 'create a retraining schedule',
        description: "A Temporal Schedule whose runs update `from`'s estimator with the data arriving in `watch`, promoting an update unless its test accuracy drops by more than `promoteThreshold`.",
        body: CreateScheduleBody,
        response: { 201: ScheduleViewSchema, ...errors(400, 401, 404, 409, 503) },
      },
    },
    async (req, reply) => {
      await confineToDataRoots({ field: 'watch', value: req.body.watch }, { field: 'store', value: req.body.store });
      await requireStatus(lp, req.body.from, 'COMPLETED', 'scheduled from');
      if (await scheduleExists(lp, req.body.scheduleId)) throw new ApiError(409, 'conflict', `schedule ${req.body.scheduleId} already exists; DELETE /v1/schedules/${req.body.scheduleId} first`);
      const view = await lp.schedules.create(req.body);
      reply.code(201).header('location', `/v1/schedules/${encodeURIComponent(view.scheduleId)}`);
      return view;
    },
  );

  app.get('/schedules', { schema: { tags, summary: "lightpath's schedules", response: { 200: ScheduleListEntrySchema.array(), ...errors(401, 503) } } }, async () => lp.schedules.list());

  app.get(
    '/schedules/:id',
    { schema: { tags, summary: 'a schedule: timing, policies, Temporal actions and its state in the store', params: ScheduleParams, response: { 200: ScheduleViewSchema, ...errors(401, 404, 503) } } },
    async (req) => {
      await requireSchedule(lp, req.params.id);
      return lp.schedules.describe(req.params.id);
    },
  );

  for (const action of ['pause', 'unpause'] as const) {
    app.post(
      `/schedules/:id/${action}`,
      { schema: { tags, summary: `${action} a schedule`, params: ScheduleParams, body: PauseBody, response: { 200: ScheduleViewSchema, ...errors(400, 401, 404, 503) } } },
      async (req) => {
        await requireSchedule(lp, req.params.id);
        await lp.schedules[action](req.params.id, req.body?.note);
        return lp.schedules.describe(req.params.id);
      },
    );
  }

  app.post(
    '/schedules/:id/trigger',
    { schema: { tags, summary: 'start a run of the schedule now', params: ScheduleParams, body: TriggerBody, response: { 202: Triggered, ...errors(400, 401, 404, 503) } } },
    async (req, reply) => {
      await requireSchedule(lp, req.params.id);
      const { workflowId } = await lp.schedules.trigger(req.params.id, { overlap: req.body?.overlap });
      reply.code(202);
      if (workflowId) reply.header('location', runUrl(workflowId));
      return { scheduleId: req.params.id, runId: workflowId };
    },
  );

  app.post(
    '/schedules/:id/backfill',
    {
      schema: {
        tags,
        summary: 'take the runs that were due between `start` and `end` now',
        params: ScheduleParams,
        body: BackfillBody,
        response: { 202: BackfillStarted, ...errors(400, 401, 404, 503) },
      },
    },
    async (req, reply) => {
      await requireSchedule(lp, req.params.id);
      const { start, end, overlap } = req.body;
      await lp.schedules.backfill(req.params.id, { start: new Date(start), end: new Date(end), overlap });
      reply.code(202);
      return { scheduleId: req.params.id, start, end };
    },
  );

  app.delete(
    '/schedules/:id',
    {
      schema: {
        tags,
        summary: 'delete a schedule',
        description: 'Running runs finish; its state stays in the store (a schedule created with the same id continues it).',
        params: ScheduleParams,
        response: { 204: z.null().describe('deleted'), ...errors(401, 404, 503) },
      },
    },
    async (req, reply) => {
      await requireSchedule(lp, req.params.id);
      await lp.schedules.delete(req.params.id);
      return reply.code(204).send(null);
    },
  );
};
