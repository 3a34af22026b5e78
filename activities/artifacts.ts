/** Reading and writing the artifacts activities exchange (splits, models, checkpoints). */
import { storeForUri } from '../storage/open.js';
import { decodeBundle, encodeBundle, type Bundle } from '../storage/bundle.js';
import { getModel, putModel } from '../storage/model-files.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { ModelParts } from '../ml/models/io.js';
import type { RawSplit } from '../ml/train/thread-protocol.js';
import type { Dataset } from '../ml/data/dataset.js';
import { readSplitDataset } from './splits.js';
import type { TrainCheckpoint } from '../ml/train/trainer.js';
import type { ModelRefs, Ref } from '../contracts/types.js';

/** Reads a bundle artifact, verified. */
export async function readBundle(ref: Ref): Promise<Bundle> {
  return decodeBundle(await storeForUri(ref.uri).get(ref), ref.uri);
}

/** Reads a split as the training thread takes it: uint8 pixels (`images`) or float samples (`values`), labels. */
export async function readSplit(ref: Ref): Promise<RawSplit> {
  const d = await readDataset(ref);
  const dim = d.shape.reduce((a, b) => a * b, 1);
  return d.x instanceof Uint8Array
    ? { images: d.x, labels: d.labels, count: d.count, dim, classes: d.classNames.length }
    : { images: new Uint8Array(0), values: d.x, labels: d.labels, count: d.count, dim, classes: d.classNames.length };
}

/** Reads a split bundle (any version; a sharded split's shards concatenated) as a Dataset: samples, labels, class names and the preprocessing recorded with it. */
export async function readDataset(ref: Ref): Promise<Dataset> {
  return readSplitDataset(ref);
}

/** Stores model parts as model.json + weights.bin. */
export function writeModel(store: ArtifactStore, parts: ModelParts): Promise<ModelRefs> {
  return putModel(store, parts);
}

/** Reads model parts back. */
export async function readModel(ref: ModelRefs): Promise<ModelParts> {
  const files = await getModel(storeForUri(ref.model.uri), ref);
  return { modelTopology: files.modelTopology, weightSpecs: files.weightSpecs, weightData: files.weightData };
}

/** Stores a training checkpoint as a bundle (weights and optimizer slots as arrays). */
export function writeCheckpoint(store: ArtifactStore, c: TrainCheckpoint): Promise<Ref> {
  const arrays: Bundle['arrays'] = {};
  c.weights.forEach((w, k) => (arrays[`w${k}`] = w));
  c.optimizer.slots.forEach((s, k) => (arrays[`s${k}`] = s));
  const meta = {
    kind: 'train-checkpoint',
    epoch: c.epoch,
    rng: c.rng,
    ...(c.augmentRng ? { augmentRng: c.augmentRng } : {}),
    oui: c.oui,
    step: c.optimizer.step,
    history: c.history,
    weights: c.weights.length,
    slots: c.optimizer.slots.length,
  };
  return store.put(encodeBundle({ meta, arrays }));
}

/** Reads a training checkpoint written by `writeCheckpoint`. */
export async function readCheckpoint(ref: Ref): Promise<TrainCheckpoint> {
  const b = await readBundle(ref);
  const m = b.meta as {
    epoch: number;
    rng: TrainCheckpoint['rng'];
    augmentRng?: TrainCheckpoint['rng'];
    oui: TrainCheckpoint['oui'];
    step: number;
    history: TrainCheckpoint['history'];
    weights: number;
    slots: number;
  };
  return {
    epoch: m.epoch,
    rng: m.rng,
    ...(m.augmentRng ? { augmentRng: m.augmentRng } : {}),
    oui: m.oui,
    history: m.history,
    weights: Array.from({ length: m.weights }, (_, k) => b.arrays[`w${k}`] as Float32Array),
    optimizer: { step: m.step, slots: Array.from({ length: m.slots }, (_, k) => b.arrays[`s${k}`] as Float32Array) },
  };
}
