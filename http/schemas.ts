/**
 * Request and response schemas of the HTTP API (zod; Fastify validates requests
 * with them and the OpenAPI document is generated from them). Responses that are
 * the client's types use contracts/' schemas, so the two never drift. Request bodies are
 * strict: an unknown field is a 400 naming it, as in pipeline configs.
 */
import { z } from 'zod';
import { PipelineConfigSchema } from '../contracts/config.js';
import { SITE_NAME } from '../contracts/queues.js';
import { ProgressSchema as ProgressContract, RUN_KINDS, RunInfoSchema as RunInfoContract, RunSummarySchema as RunSummaryContract, STAGES } from '../contracts/runs.js';

/** A schema the OpenAPI document emits once, under `components.schemas.<id>` (a registered copy; `schema` itself is untouched). */
export function named<T extends z.ZodType>(id: string, schema: T): T {
  return schema.meta({ id });
}

/** Temporal's execution statuses: as the API reports them (`RUNNING`) → as list filters name them (`Running`). */
const STATUSES = { RUNNING: 'Running', COMPLETED: 'Completed', FAILED: 'Failed', CANCELLED: 'Canceled', TERMINATED: 'Terminated', CONTINUED_AS_NEW: 'ContinuedAsNew', TIMED_OUT: 'TimedOut' } as const;
type ReportedStatus = keyof typeof STATUSES;
const statusNames = [...Object.keys(STATUSES), ...Object.values(STATUSES)] as [string, ...string[]];

export const ErrorSchema = named(
  'Error',
  z.object({
    error: z.object({
      code: z
        .string()
        .describe('machine-readable: invalid_request, unauthorized, invalid_token, forbidden, not_found, conflict, payload_too_large, unsupported_media_type, temporal_unavailable, internal'),
      message: z.string().describe('one line; names the field, run or state at fault'),
      issues: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .describe('each invalid field, dotted (`model.hidden.0`)'),
    }),
  }),
);

/** Error responses of a route, by status. */
export function errors<S extends number>(...statuses: S[]): Record<S, typeof ErrorSchema> {
  return Object.fromEntries(statuses.map((s) => [s, ErrorSchema])) as Record<S, typeof ErrorSchema>;
}

export const PipelineConfigBody = named('PipelineConfig', PipelineConfigSchema);

export const RunParams = z.object({
  id: z
    .string()
    .min(1)
    .max(255)
    .refine(
      (id) => id !== '.' && id !== '..' && ![...id].some((c) => '/\\%'.includes(c) || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
      'not a run id (no /, \\, %, control characters, . or ..)',
    )
    .describe('run (workflow) id'),
});

export const ListQuery = z.object({
  kind: z.enum(Object.values(RUN_KINDS)).optional(),
  status: z
    .enum(statusNames)
    .transform((s) => STATUSES[s as ReportedStatus] ?? s)
    .optional()
    .describe('Temporal execution status, as runs report it (RUNNING) or as Temporal names it (Running)'),
  limit: z.coerce.number().int().min(1).max(1000).default(20),
});

export const ResumeBody = z
  .object({ fromStage: z.enum(STAGES).optional().describe('rerun this stage and everything after it (allowed on completed runs too)') })
  .strict()
  .nullish();

const storeField = z.string().min(1).optional().describe("artifact store for the result (`s3://bucket/prefix` or a path); default: the server's LIGHTPATH_STORE");

export const RetrainBody = z
  .object({
    from: z.string().min(1).describe('the run (pipeline with GLAI, retrain or merge) whose estimator to update'),
    data: z.string().min(1).describe('new data, read by a worker: fashion-mnist, synthetic, an IDX folder or an image-set bundle file, optionally #k/n for a shard'),
    store: storeField,
  })
  .strict();

export const MergeBody = z
  .object({
    from: z.array(z.string().min(1)).min(1).optional().describe('runs whose estimators to merge'),
    sites: z.array(z.string().regex(SITE_NAME, 'letters, digits, - and _')).min(1).optional().describe('federated sites, each served by `lightpath worker --role site:<name>`'),
    structureFrom: z.string().min(1).optional().describe('run whose structure and test split to use (default: the first of `from`)'),
    maxFailedSites: z.number().int().nonnegative().optional().describe('sites that may fail while the merge still completes (default 0)'),
    siteTimeoutSeconds: z.number().int().positive().optional().describe('time each site has, including waiting for its worker (default 3600)'),
    store: storeField,
  })
  .strict();

export const RunStarted = named(
  'RunStarted',
  z.object({
    runId: z.string().describe('the new run; GET /v1/runs/{id} describes it (also in the Location header)'),
    resumedFrom: z.string().optional(),
  }),
);

export const CancelRequested = z.object({ runId: z.string(), cancelRequested: z.literal(true) });

export const RunSummarySchema = named('RunSummary', RunSummaryContract);

export const ProgressSchema = named('Progress', ProgressContract);

export const RunInfoSchema = named('RunInfo', RunInfoContract);

export const HealthSchema = z.object({ status: z.literal('ok'), temporal: z.literal('serving') });
