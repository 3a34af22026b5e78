/**
 * Activities of scheduled retraining (workflows/scheduled-retrain.ts): find what
 * arrived in the watch location since the schedule's last run, import it as one
 * split, record a run. The schedule's state is the JSON document
 * `schedules/<id>/state.json` in the artifact store; only a schedule's rounds
 * write it, one at a time, and each write checks the generation its round read.
 */
import type { CommitScheduleRunInput } from '../contracts/activities.js';
import { InvalidInputError } from '../contracts/errors.js';
import { checkSameSchema, concatDatasets, relabel, type Dataset } from '../ml/data/dataset.js';
import { sha256Hex } from '../storage/hash.js';
import { openStore } from '../storage/open.js';
import { listWatch, readWatched } from '../storage/watch.js';
import { RUN_LOG_LIMIT, scheduleStateKey, type ConsumedObject, type ImportedData, type ScheduleScan, type ScheduleState, type WatchedObject } from '../contracts/schedule-state.js';
import type { Ref } from '../contracts/types.js';
import { splitSchema } from './splits.js';
import { confineSource, conformTo, datasetOf, putSplit } from './sources.js';
import { readDataSource } from '../ml/data/read-source.js';
import { parseCifarBatch } from '../ml/data/cifar.js';
import { extensionOf, type DataFiles } from '../ml/data/files.js';

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

/** A group of fresh objects read together: one bundle, table or `.npz` file, the images below one folder of class folders, an `x.npy` + `y.npy` pair, a CIFAR batch. */
interface Unit {
  kind: 'bundle' | 'file' | 'images' | 'npy' | 'cifar';
  /** Folder of the group relative to the watch location (`''` or ending in `/`); a file's own name for single files. */
  root: string;
  objects: WatchedObject[];
}

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

/** Groups objects into units (see Unit); an image outside any class folder is refused, naming it. */
function unitsOf(objects: WatchedObject[]): Unit[] {
  const units = new Map<string, Unit>();
  const add = (kind: Unit['kind'], root: string, o: WatchedObject) => {
    const key = `${kind}\n${root}`;
    const u = units.get(key) ?? { kind, root, objects: [] };
    u.objects.push(o);
    units.set(key, u);
  };
  for (const o of objects) {
    const ext = extensionOf(o.name);
    const parts = o.name.split('/');
    const dir = parts.slice(0, -1).join('/');
    if (IMAGE_EXTENSIONS.includes(ext)) {
      if (parts.length < 2) throw new InvalidInputError(`${o.uri}: an image outside any class folder (new images arrive as <class>/<image>, below any folder of the watch location)`);
      add('images', parts.length > 2 ? `${parts.slice(0, -2).join('/')}/` : '', o);
    } else if (ext === '.npy') add('npy', dir ? `${dir}/` : '', o);
    else if (ext === '.lpb') add('bundle', o.name, o);
    else if (ext === '.bin') add('cifar', o.name, o);
    else add('file', o.name, o);
  }
  return [...units.values()];
}

/** The objects of a unit as a reader's DataFiles, from bytes already read (names relative to the unit's root). */
function unitFiles(u: Unit, bytes: Map<string, Uint8Array>): DataFiles {
  const single = u.kind === 'file';
  const rel = (o: WatchedObject) => (single ? o.name.slice(o.name.lastIndexOf('/') + 1) : o.name.slice(u.root.length));
  const byRel = new Map(u.objects.map((o) => [rel(o), o]));
  return {
    location: single ? u.objects[0]!.uri : `${u.objects[0]!.uri.slice(0, u.objects[0]!.uri.length - rel(u.objects[0]!).length)}`,
    single,
    list: async () => ({ files: u.objects.map((o) => ({ name: rel(o), bytes: o.bytes, version: o.version })).sort((a, b) => (a.name < b.name ? -1 : 1)), emptyDirs: [] }),
    // A copy: readers take whole buffers (a Node Buffer may be a view into a shared pool).
    read: async (name) => new Uint8Array(bytes.get((single ? u.objects[0] : byRel.get(name))!.uri)!),
    describe: (name) => (single ? u.objects[0]!.uri : (byRel.get(name)?.uri ?? name)),
  };
}

/** One CIFAR batch file as new data of a run trained on CIFAR-10 (1 label byte) or CIFAR-100 (2), with the run's classes. */
function cifarBatch(data: Uint8Array, uri: string, test: Dataset): Dataset {
  const b = parseCifarBatch(data, test.classNames.length === 100 ? 2 : 1, uri);
  return {
    shape: [32, 32, 3],
    count: b.count,
    x: b.x,
    labels: b.labels,
    classNames: test.classNames,
    preprocessing: { kind: 'images', size: [32, 32], color: 'rgb', scale: 1 / 255, resized: 0, skipped: 0 },
  };
}

/**
 * Reads each object once and stores the new samples as one split. Objects are read in
 * units (see Unit) with the run's preprocessing — the test split's: image size and
 * colour, table columns, categories and standardisation — and must have its schema
 * (refused naming the difference). An object whose content the schedule already
 * consumed (a copy, a rewrite) is recorded as a duplicate and not used; one that
 * vanished since the listing is left out; an `.npy` without its partner waits for
 * it (not consumed); a malformed one fails the run.
 */
export async function importWatched(input: { store: string; scheduleId: string; run: string; test: Ref; objects: WatchedObject[] }): Promise<ImportedData> {
  const test = await splitSchema(input.test);
  const seen = new Map((await readState(input.store, input.scheduleId))?.consumed.map((c) => [c.sha256, c.name]));
  const sets: Dataset[] = [];
  const consumed: ConsumedObject[] = [];
  const bytes = new Map<string, Uint8Array>();
  const fresh: ConsumedObject[] = [];
  for (const o of input.objects) {
    const read = await readWatched(o.uri);
    if (!read) continue;
    const sha256 = sha256Hex(read.data);
    const object = { ...o, bytes: read.data.length, version: read.version, sha256, run: input.run, samples: 0 };
    const duplicateOf = seen.get(sha256) ?? null;
    if (duplicateOf !== null) {
      consumed.push({ ...object, duplicateOf });
      continue;
    }
    seen.set(sha256, o.name);
    bytes.set(o.uri, read.data);
    fresh.push({ ...object, duplicateOf: null });
  }
  for (const u of unitsOf(fresh)) {
    const objects = u.objects as ConsumedObject[];
    const first = objects[0]!;
    let set: Dataset;
    if (u.kind === 'bundle') set = checked(datasetOf(bytes.get(first.uri)!, first.uri, 'watched data'), first.uri, test);
    else if (u.kind === 'cifar') set = checked(cifarBatch(bytes.get(first.uri)!, first.uri, test), first.uri, test);
    else {
      const names = new Set(objects.map((o) => o.name.slice(u.root.length)));
      if (u.kind === 'npy' && !((names.has('x.npy') && names.has('y.npy')) || (names.has('x_train.npy') && names.has('y_train.npy')))) continue;
      const files = unitFiles(u, bytes);
      const format = u.kind === 'images' ? 'images' : u.kind === 'npy' ? 'numpy' : undefined;
      const { train } = await readDataSource(files, { format, reference: test.preprocessing });
      set = conformTo(train, test, u.kind === 'file' ? first.uri : files.location);
    }
    // Samples per object: a file's rows; an image is one; an array pair's count goes to its x file.
    if (u.kind === 'images') for (const o of objects) o.samples = 1;
    else if (u.kind === 'npy') for (const o of objects) o.samples = /(^|\/)x(_train)?\.npy$/.test(o.name) ? set.count : 0;
    else first.samples = set.count;
    sets.push(set);
    consumed.push(...objects);
  }
  consumed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
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
 * candidate current (and, for sliding windows, its contributions the window) when
 * promoted, and writes generation + 1. Refuses when the
 * state is no longer at `generation`; a retry of a write that already landed
 * finds its own run and succeeds.
 */
export async function commitScheduleRun(input: CommitScheduleRunInput): Promise<{ generation: number; uri: string }> {
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
  const window = run.outcome === 'promoted' && input.window ? input.window : state?.window;
  if (window) next.window = window;
  return { generation: next.generation, uri: await store.putNamed(key, new TextEncoder().encode(`${JSON.stringify(next, null, 1)}\n`)) };
}
