/** GET /v1/runs/:id/events: a run's progress as Server-Sent Events until it closes. */
import type { ServerResponse } from 'node:http';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { LightpathClient } from '../../client/connect.js';
import { toApiError } from '../errors.js';
import { errors, RunParams } from '../schemas.js';

/** Comment lines that keep proxies from closing a quiet stream. */
const KEEP_ALIVE_MS = 15_000;

const sse = (event: string, data: unknown) => `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;

/** The events route, on `lp`. Open streams end when the server closes. */
export const eventRoutes: FastifyPluginAsyncZod<{ lp: LightpathClient }> = async (app, { lp }) => {
  const open = new Set<ServerResponse>();
  app.addHook('preClose', async () => {
    for (const res of open) res.end();
  });

  app.get(
    '/runs/:id/events',
    {
      schema: {
        tags: ['runs'],
        summary: 'follow a run: its progress as Server-Sent Events until it closes',
        description:
          "`event: progress` (data: Progress) whenever a pipeline's progress changes, then one `event: end` (data: RunInfo) when the run has closed, and the stream ends. " +
          '`event: error` (data: Error) if following it fails. A comment line is sent every 15 s.',
        params: RunParams,
        response: { 200: { description: 'the event stream', content: { 'text/event-stream': { schema: z.string() } } }, ...errors(401, 404, 503) },
      },
    },
    async (req, reply) => {
      const watch = lp.watchRun(req.params.id);
      let next = await watch.next();
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      open.add(res);
      let closed = false;
      res.on('close', () => {
        closed = true;
        open.delete(res);
      });
      const gone = () => closed || res.writableEnded;
      const keepAlive = setInterval(() => gone() || res.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
      try {
        for (;;) {
          res.write(sse(next.done ? 'end' : 'progress', next.value));
          if (next.done) break;
          next = await watch.next();
          if (gone()) break;
        }
      } catch (e) {
        req.log.error({ err: e }, 'following the run failed');
        if (!gone()) res.write(sse('error', toApiError(e).body()));
      } finally {
        clearInterval(keepAlive);
        res.end();
      }
    },
  );
};
