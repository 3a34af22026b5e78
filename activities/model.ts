/** Model activities: initialize a model, evaluate a trained one. */
import { buildMlp } from '../ml/models/mlp.js';
import { modelFromParts, modelToParts } from '../ml/models/io.js';
import { accuracy } from '../ml/train/evaluate.js';
import { selectBackend } from '../ml/backend/select.js';
import { openStore } from '../storage/open.js';
import type { EvaluateInput, EvaluateResult, InitializeInput, InitializeResult } from '../workflows/types.js';
import { readModel, readSplit, writeModel } from './artifacts.js';
import { badInputIsFinal } from './failures.js';

/** Builds the MLP with the configured initializer (Sinusoidal by default, METHODS.md §1) and stores it. */
export function initializeModel(input: InitializeInput): Promise<InitializeResult> {
  return badInputIsFinal(async () => {
    await selectBackend();
    const model = buildMlp({ inputDim: input.inputDim, hidden: input.hidden, classes: input.classes, initializer: input.initializer, seed: input.seed });
    try {
      const parts = await modelToParts(model);
      return { model: await writeModel(openStore(input.store), parts), parameters: model.countParams() };
    } finally {
      model.dispose();
    }
  });
}

/** Test accuracy of a stored model on a stored split. */
export function evaluateModel(input: EvaluateInput): Promise<EvaluateResult> {
  return badInputIsFinal(async () => {
    const backend = await selectBackend();
    const [parts, split] = await Promise.all([readModel(input.model), readSplit(input.test)]);
    const model = await modelFromParts(parts);
    try {
      const x = new Float32Array(split.images.length);
      for (let i = 0; i < x.length; i++) x[i] = split.images[i]! / 255;
      const acc = await accuracy(model, { x, y: Int32Array.from(split.labels), count: split.count, dim: split.dim, classes: split.classes });
      return { testAccuracy: acc, count: split.count, backend: backend.name };
    } finally {
      model.dispose();
    }
  });
}
