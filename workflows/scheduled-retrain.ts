/**
 * Scheduled retraining: `scheduledRetrain` is the action of a lightpath schedule
 * (cli/schedules.ts). Each run updates the schedule's current GLAI estimator with
 * only the data that arrived in the watch location since the last run, scores the
 * update on the test split, and promotes it to current unless its accuracy drops
 * by more than the threshold; the decision, both accuracies and every object read
 * go into the schedule's state (workflows/schedule-state.ts). With a sliding window
 * (`window`: the last N arrivals, or those younger than an age) the update also
 * subtracts, exactly, the contributions that left the window (activities/forget.ts;
 * METHODS.md §3): no data is re-read, so a round costs the same however much arrived.
 *
 * Runs of one schedule may overlap (backfills, triggers, `allow-all`), so the work
 * happens in a child workflow, `scheduledRetrainRound`, whose id is fixed per
 * schedule: Temporal runs at most one workflow per id, so rounds of a schedule
 * never overlap, and each reads the state its predecessor wrote. A run that finds
 * a round running waits and tries again (1 s, doubling to 15 s).
 */
import { executeChild, patched, sleep, workflowInfo } from '@temporalio/workflow';
import { cpuActivities, gpuActivities } from './activities.js';
import type { ConsumedObject, ScheduleRun, ScoredEstimator } from '../contracts/schedule-state.js';
import type { Contribution, ScheduleWindow } from '../contracts/forget.js';
import type { EstimatorRef, Ref, StructureRef } from '../contracts/types.js';

const cpu = cpuActivities();
const gpu = gpuActivities();

/** Input of `scheduledRetrain`: fixed when the schedule is created. */
export interface ScheduledRetrainInput {
  scheduleId: string;
  store: string;
  /** Folder or `s3://bucket/prefix` where new data arrives as `*.lpb` image-set bundles. */
  watch: string;
  /** The run (pipeline with GLAI, retrain or merge) the schedule started from. */
  from: string;
  structure: StructureRef;
  /** The first current estimator (`from`'s) and its test accuracy, when known. */
  start: EstimatorRef;
  startAccuracy: number | null;
  test: Ref;
  /** An update is promoted unless its test accuracy is below the current one's by more than this. */
  threshold: number;
  /** Sliding window: each update also subtracts the contributions that left it (absent: keep everything). */
  window?: ScheduleWindow | null;
}

/** Id of the round workflow of a schedule: one at a time per schedule. */
function roundWorkflowId(scheduleId: string): string {
  return `lightpath-schedule-round-${scheduleId}`;
}

/** One scheduled run: waits until no other round of its schedule runs, then runs its round; returns what it recorded. */
export async function scheduledRetrain(input: ScheduledRetrainInput): Promise<ScheduleRun> {
  const { workflowId: run, runId } = workflowInfo();
  for (let wait = 1; ; wait = Math.min(2 * wait, 15)) {
    try {
      return await executeChild(scheduledRetrainRound, { workflowId: roundWorkflowId(input.scheduleId), args: [{ ...input, run, runId }] });
    } catch (e) {
      if ((e as Error).name !== 'WorkflowExecutionAlreadyStartedError') throw e; // the class is @temporalio/common's, not re-exported here
      await sleep(`${wait} seconds`);
    }
  }
}

/** Whether an update with test accuracy `candidate` replaces a current estimator with accuracy `current`. */
function promotes(candidate: number, current: number, threshold: number): boolean {
  return candidate >= current - threshold - 1e-12;
}

/**
 * One round of a schedule (never two at once): scan the watch location, read the
 * new objects once, update the current estimator with them, score, decide, record.
 */
export async function scheduledRetrainRound(input: ScheduledRetrainInput & { run: string; runId: string }): Promise<ScheduleRun> {
  const { store, scheduleId, structure, test, threshold, run, runId } = input;
  const scan = await cpu.scanSchedule({ store, scheduleId, structureId: structure.id, watch: input.watch, start: { estimator: input.start, accuracy: input.startAccuracy, since: input.from } });
  const accuracy = scan.current.accuracy ?? (await gpu.evaluateEstimator({ structure, estimator: scan.current.estimator, test })).estimatorAccuracy;
  const previous = { ...scan.current, accuracy };
  const record = async (consumed: ConsumedObject[], added: number, candidate: ScoredEstimator | null, slid?: { expired: Contribution[]; window: Contribution[] }): Promise<ScheduleRun> => {
    const outcome = !candidate ? 'no-new-data' : promotes(candidate.accuracy, accuracy, threshold) ? 'promoted' : 'rejected';
    const entry: ScheduleRun = {
      run,
      runId,
      at: new Date().toISOString(),
      outcome,
      objects: consumed.map((c) => c.name),
      added,
      threshold,
      previous,
      candidate,
      ...(slid ? { expired: slid.expired } : {}),
    };
    const window = slid ? { window: slid.window } : {};
    await cpu.commitScheduleRun({ store, scheduleId, structureId: structure.id, generation: scan.generation, run: entry, consumed, ...window });
    return entry;
  };
  if (!scan.fresh.length) return record([], 0, null);
  const imported = await cpu.importWatched({ store, scheduleId, run, test, objects: scan.fresh });
  if (!imported.data) return record(imported.consumed, 0, null);
  const origin = `schedule ${scheduleId} run ${run}`;
  const fitted = await gpu.fitEstimator({ store, structure, data: imported.data, lambda: 1e-3, previous: previous.estimator, origin }); // λ and features come from previous
  if (input.window && patched('schedule-window')) {
    // Slide the window: subtract what left it (statistics only, no data read); the time is the workflow's own.
    const slid = await cpu.forgetStatistics({ store, estimator: fitted, window: { window: input.window, now: new Date().toISOString() }, prove: false });
    const scores = await gpu.evaluateEstimator({ structure, estimator: slid.estimator, test });
    return record(imported.consumed, imported.samples, { estimator: slid.estimator, accuracy: scores.estimatorAccuracy }, { expired: slid.removed, window: slid.remaining });
  }
  const scores = await gpu.evaluateEstimator({ structure, estimator: fitted, test });
  return record(imported.consumed, imported.samples, { estimator: fitted, accuracy: scores.estimatorAccuracy });
}
