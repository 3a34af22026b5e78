/**
 * Activities of scheduled retraining (workflows/scheduled-retrain.ts): find what
 * arrived in the watch location since the schedule's last run, import it as one
 * split, record a run. The schedule's state is the JSON document
 * `schedules/<id>/state.json` in the artifact store; only a schedule's rounds
 * write it, one at a time, and each write checks the generation its round read.
 */
import { InvalidInputError } from '../contracts/errors.js';
import { checkSameSchema, concatDatasets, relabel, type Dataset } from '../ml/data/dataset.js';
import { sha256Hex } from '../storage/hash.js';
import { openStore } from '../storage/open.js';
import { listWatch, readWatched } from '../storage/watch.js';
import { RUN_LOG_LIMIT, scheduleStateKey, type ConsumedObject, type ImportedData, type ScheduleRun, type ScheduleScan, type ScheduleState, type WatchedObject } from '../contracts/schedule-state.js';
import type { Ref } from '../contracts/types.js';
import { readDataset } from './artifacts.js';
import { confineSource, datasetOf, putSplit } from './sources.js';

/** A state write that found another generation than its round read: someone else wrote the state. */
class StateConflictError extends Error {
  readonly nonRetryable = true;
  constructor(scheduleId: string, read: number, found: number) {
    super(`schedule ${scheduleId}: its state moved from generation ${read} to ${found} during this run (another writer); the run is not recorded and its data stays new`);
    this.name = 'StateConflictError';
  }
}

async function readState(store: string, scheduleId: string): Promise<ScheduleState | null> {
  const bytes = await openStore(store).getNamed(scheduleStateKey(scheduleId));
  return bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as ScheduleState) : null;
}

/** Identity of a listed object: a new name, size or version makes it new. */
const listingKey = (o: WatchedObject) => `${o.uri}\n${o.bytes}\n${o.version}`;

/**
 * Reads the schedule's state (none yet: `start` is current, generation 0) and
 * lists the watch location; refuses a state of another structure.
 */
export async function scanSchedule(input: { store: string; scheduleId: string; structureId: string; watch: string; start: ScheduleScan['current'] }): Promise<ScheduleScan> {
  const state = await readState(input.store, input.scheduleId);
  if (state && state.structureId !== input.structureId) {
    throw new InvalidInputError(`schedule ${input.scheduleId}: its state (${scheduleStateKey(input.scheduleId)}) is for structure ${state.structureId}, this run's is ${input.structureId}`);
  }
  await confineSource(input.watch, input.store, 'watch');
  const consumed = new Set(state?.consumed.map(listingKey));
  const fresh = (await listWatch(input.watch)).filter((o) => !consumed.has(listingKey(o)));
  return { generation: state?.generation ?? 0, current: state?.current ?? input.start, fresh };
}

/**
 * Reads each object once and stores the new samples as one split. An object whose
 * content the schedule already consumed (a copy, a rewrite) is recorded as a
 * duplicate and not used; one that vanished since the listing is left out; a
 * malformed one, or one whose images differ from the test split's, fails the run.
 */
export async function importWatched(input: { store: string; scheduleId: string; run: string; test: Ref; objects: WatchedObject[] }): Promise<ImportedData> {
  const test = await readDataset(input.test);
  const seen = new Map((await readState(input.store, input.scheduleId))?.consumed.map((c) => [c.sha256, c.name]));
  const sets: Dataset[] = [];
  const consumed: ConsumedObject[] = [];
  for (const o of input.objects) {
    const read = await readWatched(o.uri);
    if (!read) continue;
    const sha256 = sha256Hex(read.data);
    const object = { ...o, bytes: read.data.length, version: read.version, sha256, run: input.run };
    const duplicateOf = seen.get(sha256) ?? null;
    if (duplicateOf !== null) {
      consumed.push({ ...object, samples: 0, duplicateOf });
      continue;
    }
    const set = checked(datasetOf(read.data, o.uri, 'watched data'), o.uri, test);
    seen.set(sha256, o.name);
    sets.push(set);
    consumed.push({ ...object, samples: set.count, duplicateOf: null });
  }
  const samples = sets.reduce((n, s) => n + s.count, 0);
  const data = samples > 0 ? await putSplit(openStore(input.store), concatDatasets(sets), 'scheduled', `schedule ${input.scheduleId}`) : null;
  return { data, samples, consumed };
}

/** `set`, checked against the test split: same sample shape and kind, classes among its classes (labels renumbered to them). */
function checked(set: Dataset, uri: string, test: Dataset): Dataset {
  checkSameSchema(set, test, uri);
  return relabel(set, test.classNames);
}

/**
 * Records a run: appends it to the log, adds its consumed objects, makes the
 * candidate current when promoted, and writes generation + 1. Refuses when the
 * state is no longer at `generation`; a retry of a write that already landed
 * finds its own run and succeeds.
 */
export async function commitScheduleRun(input: {
  store: string;
  scheduleId: string;
  structureId: string;
  generation: number;
  run: ScheduleRun;
  consumed: ConsumedObject[];
}): Promise<{ generation: number; uri: string }> {
  const store = openStore(input.store);
  const key = scheduleStateKey(input.scheduleId);
  const state = await readState(input.store, input.scheduleId);
  const found = state?.generation ?? 0;
  if (found === input.generation + 1 && state?.runs.at(-1)?.runId === input.run.runId) return { generation: found, uri: `${store.root}${key}` };
  if (found !== input.generation) throw new StateConflictError(input.scheduleId, input.generation, found);
  const { run } = input;
  const next: ScheduleState = {
    format: 1,
    scheduleId: input.scheduleId,
    structureId: input.structureId,
    generation: found + 1,
    updatedAt: new Date().toISOString(),
    current: run.outcome === 'promoted' && run.candidate ? { ...run.candidate, since: run.run } : run.previous,
    consumed: [...(state?.consumed ?? []), ...input.consumed],
    runs: [...(state?.runs ?? []), run].slice(-RUN_LOG_LIMIT),
  };
  return { generation: next.generation, uri: await store.putNamed(key, new TextEncoder().encode(`${JSON.stringify(next, null, 1)}\n`)) };
}
