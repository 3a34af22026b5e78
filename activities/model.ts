/** Model activities: initialize a model, evaluate a trained one. */
import * as tf from '@tensorflow/tfjs';
import { buildModel } from '../ml/models/build.js';
import { applyLsuv } from '../ml/init/lsuv.js';
import { Rng } from '../ml/rng.js';
import { modelFromParts, modelToParts } from '../ml/models/io.js';
import { accuracy } from '../ml/train/evaluate.js';
import { backendLabel, selectBackend } from '../ml/backend/select.js';
import { openStore } from '../storage/open.js';
import type { EvaluateInput, EvaluateResult, InitializeInput, InitializeResult, Ref } from '../contracts/types.js';
import { readModel, readSplit, writeModel } from './artifacts.js';
import { rawSplitToData } from '../ml/train/thread-protocol.js';
import { splitData } from './splits.js';

const LSUV_BATCH = 512;

/** LSUV's data-dependent step on a seeded batch of the training split. */
async function lsuvOnTrainingBatch(model: tf.LayersModel, data: Ref, seed: number): Promise<void> {
  const split = await readSplit(data);
  const rows = Rng.fromSeed(seed)
    .shuffle(Int32Array.from({ length: split.count }, (_, i) => i))
    .subarray(0, Math.min(LSUV_BATCH, split.count));
  const all = rawSplitToData(split);
  const x = new Float32Array(rows.length * split.dim);
  rows.forEach((r, k) => x.set(all.x.subarray(r * split.dim, (r + 1) * split.dim), k * split.dim));
  const batch = tf.tensor(x, [rows.length, ...(model.inputs[0]!.shape.slice(1) as number[])]);
  await applyLsuv(model, batch);
  batch.dispose();
}

/** Builds the configured model with its initializer (Sinusoidal by default, METHODS.md §1) and stores it. */
export async function initializeModel(input: InitializeInput): Promise<InitializeResult> {
  await selectBackend();
  const model = buildModel(input.model, input.inputShape, input.classes, input.seed);
  try {
    if (input.model.initializer === 'lsuv') await lsuvOnTrainingBatch(model, input.data, input.seed);
    const parts = await modelToParts(model);
    return { model: await writeModel(openStore(input.store), parts), parameters: model.countParams() };
  } finally {
    model.dispose();
  }
}

/** Test accuracy of a stored model on a stored split. */
export async function evaluateModel(input: EvaluateInput): Promise<EvaluateResult> {
  const backend = await selectBackend();
  const [parts, split] = await Promise.all([readModel(input.model), splitData(input.test)]);
  const model = await modelFromParts(parts);
  try {
    const acc = await accuracy(model, split);
    return { testAccuracy: acc, count: split.count, backend: backendLabel(backend) };
  } finally {
    model.dispose();
  }
}
