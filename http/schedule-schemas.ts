/** Request and response schemas of /v1/schedules (scheduled GLAI retraining, cli/schedules.ts). */
import { z } from 'zod';
import { SCHEDULE_ID } from '../contracts/schedule-state.js';
import { OVERLAP_POLICIES, type OverlapPolicy } from '../client/schedules.js';
import { named } from './schemas.js';

const overlap = z.enum(Object.keys(OVERLAP_POLICIES) as [OverlapPolicy, ...OverlapPolicy[]]);
const note = z
  .object({ note: z.string().max(1000).optional().describe('recorded with the schedule') })
  .strict()
  .nullish();

export const ScheduleParams = z.object({ id: z.string().min(1).describe('schedule id') });

export const CreateScheduleBody = z
  .object({
    scheduleId: z.string().regex(SCHEDULE_ID, 'letters, digits, ., - and _ (at most 100, starting with a letter or digit)'),
    from: z.string().min(1).describe('the COMPLETED run (pipeline with GLAI, retrain or merge) whose structure, estimator and test split the schedule starts from'),
    watch: z.string().min(1).describe('folder (as the cpu workers see it) or `s3://bucket/prefix` where new `*.lpb` image-set bundles arrive'),
    every: z.string().optional().describe('interval, e.g. `1d`, `12h`, `1h30m`; give exactly one of `every` and `cron`'),
    cron: z.string().optional().describe('cron expression (5 fields, or @daily, @hourly…)'),
    timezone: z.string().optional().describe('IANA time zone of `cron` (default UTC)'),
    promoteThreshold: z.number().optional().describe('largest test-accuracy drop that still promotes an update (default 0.005)'),
    catchupWindow: z.string().optional().describe('how late a missed run may still start (default `1d`)'),
    overlap: overlap.optional().describe('what a run due while another runs does (default skip)'),
    pauseOnFailure: z.boolean().optional().describe('pause the schedule when a run fails (default true)'),
    paused: z.boolean().optional().describe('create it paused'),
    window: z.string().optional().describe('sliding window by age, e.g. `30d`: each update also subtracts the contributions that arrived longer ago'),
    windowArrivals: z.number().int().positive().optional().describe('sliding window by count: each update keeps only the last this many arrivals'),
    store: z.string().min(1).optional().describe("artifact store for the schedule's state and estimators (default: the server's)"),
  })
  .strict();

export const PauseBody = note;

export const TriggerBody = z
  .object({ overlap: z.enum(['skip', 'allow-all']).optional().describe('default allow-all: the run always starts') })
  .strict()
  .nullish();

export const BackfillBody = z.object({ start: z.iso.datetime({ offset: true }), end: z.iso.datetime({ offset: true }), overlap: overlap.optional().describe("default: the schedule's") }).strict();

export const Triggered = z.object({
  scheduleId: z.string(),
  runId: z.string().nullable().describe('the scheduledRetrain run it started; null when the overlap policy skipped it'),
});

export const BackfillStarted = z.object({ scheduleId: z.string(), start: z.string(), end: z.string() });

/** What a schedule's list entry and description share: id, state and timing. */
const head = {
  scheduleId: z.string(),
  paused: z.boolean(),
  note: z.string().nullable(),
  every: z.string().nullable(),
  cron: z.string().nullable(),
  timezone: z.string().nullable(),
};

export const ScheduleListEntrySchema = named(
  'ScheduleListEntry',
  z.object({
    ...head,
    from: z.string(),
    watch: z.string(),
    nextRun: z.string().nullable(),
    lastRun: z.object({ workflowId: z.string(), scheduledAt: z.string() }).nullable(),
  }),
);

export const ScheduleViewSchema = named(
  'Schedule',
  z.object({
    ...head,
    overlap: z.string(),
    catchupWindow: z.string(),
    pauseOnFailure: z.boolean(),
    settings: z.unknown().describe('the scheduledRetrain input: store, watch, from, structure, start estimator, test split, threshold'),
    temporal: z.object({
      createdAt: z.string(),
      updatedAt: z.string().nullable(),
      actionsTaken: z.number(),
      skippedOverlap: z.number(),
      missedCatchupWindow: z.number(),
      running: z.array(z.string()),
      recentActions: z.array(z.object({ workflowId: z.string(), scheduledAt: z.string(), takenAt: z.string() })),
      nextRuns: z.array(z.string()),
    }),
    state: z.unknown().describe("the schedule's state in the store (current estimator, consumed objects, recent runs); null before its first run"),
  }),
);
