/**
 * The state of a retraining schedule (data only, shared by the workflow, its
 * activities and the client): one JSON document per schedule in the artifact
 * store, `schedules/<scheduleId>/state.json`, holding the current estimator and
 * its test accuracy, every object the schedule has consumed, and the run log.
 */
import type { EstimatorRef, Ref } from './types.js';
import type { Contribution } from './forget.js';

/** Schedule ids: letters, digits, `.`, `-` and `_` (they name a folder of the store). */
export const SCHEDULE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** Runs the state's log keeps (the oldest are dropped; `generation` still counts every run). */
export const RUN_LOG_LIMIT = 1000;

/** Key of a schedule's state document, relative to the store root. */
export function scheduleStateKey(scheduleId: string): string {
  return `schedules/${scheduleId}/state.json`;
}

/** An object listed in a watch location: `version` is a file's mtime or an S3 object's ETag. */
export interface WatchedObject {
  /** Path relative to the watch location. */
  name: string;
  uri: string;
  bytes: number;
  version: string;
}

/** An object a run has read: never read again while its URI, size and version stay, never used twice by content. */
export interface ConsumedObject extends WatchedObject {
  sha256: string;
  /** Samples it added (0 for a duplicate). */
  samples: number;
  /** The run that read it. */
  run: string;
  /** Name of the consumed object with the same content, when this one is a copy (its samples are not used again). */
  duplicateOf: string | null;
}

/** An estimator with its accuracy on the schedule's test split. */
export interface ScoredEstimator {
  estimator: EstimatorRef;
  accuracy: number;
}

/** The estimator a schedule holds as current, and the run that made it current (the `--from` run at first). */
export interface CurrentEstimator extends ScoredEstimator {
  since: string;
}

/** What a run did: `no-new-data`, or an update that was `promoted` to current or `rejected`. */
export type RunOutcome = 'no-new-data' | 'promoted' | 'rejected';

/** One run in the schedule's log. */
export interface ScheduleRun {
  /** The `scheduledRetrain` workflow id (triggers within one second share it) and its run id. */
  run: string;
  runId: string;
  /** When the run recorded its outcome. */
  at: string;
  outcome: RunOutcome;
  /** Names of the objects it consumed (copies of consumed content included). */
  objects: string[];
  /** Samples the update read. */
  added: number;
  /** Largest test-accuracy drop that still promotes. */
  threshold: number;
  /** The current estimator before the run. */
  previous: CurrentEstimator;
  /** The updated estimator (previous + the new data, less what left the window), when there was new data. */
  candidate: ScoredEstimator | null;
  /** Sliding-window schedules: the contributions this round's update subtracted (they left the window). */
  expired?: Contribution[];
}

/** The state document. */
export interface ScheduleState {
  format: 1;
  scheduleId: string;
  /** The structure every estimator of the schedule is fitted on. */
  structureId: string;
  /** Runs recorded so far; every write checks the generation it read and writes the next. */
  generation: number;
  updatedAt: string;
  current: CurrentEstimator;
  consumed: ConsumedObject[];
  /** The last `RUN_LOG_LIMIT` runs, oldest first. */
  runs: ScheduleRun[];
  /** Sliding-window schedules: the contributions the current estimator sums — the arrivals in its window (absent before its first windowed update). */
  window?: Contribution[];
}

/** What a round starts from: the state's generation, the current estimator, and the watched objects not yet consumed. */
export interface ScheduleScan {
  generation: number;
  /** Accuracy null: the starting estimator was never scored (the round scores it). */
  current: Omit<CurrentEstimator, 'accuracy'> & { accuracy: number | null };
  fresh: WatchedObject[];
}

/** The new data of a round: one split (null when nothing new remained), and every object read. */
export interface ImportedData {
  data: Ref | null;
  samples: number;
  consumed: ConsumedObject[];
}
