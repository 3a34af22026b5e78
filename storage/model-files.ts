/**
 * Model weights in TensorFlow.js's own format: a `model.json` whose weights
 * manifest points at a sibling `weights.bin`. Both are content-addressed blobs in
 * the same folder, so the manifest's relative path is the weights blob's SHA-256 and
 * `tf.loadLayersModel` can read the pair from the store (or over HTTP from S3).
 */
import type { ArtifactRef, ArtifactStore } from './artifact-store.js';

/** The parts of TF.js `ModelArtifacts` lightpath stores (plain JSON + bytes, no tfjs import). */
export interface ModelFiles {
  modelTopology: unknown;
  weightSpecs: unknown[];
  weightData: Uint8Array;
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
}

/** References to a stored model: `model` is the model.json, `weights` the weights.bin. */
export interface ModelRef {
  model: ArtifactRef;
  weights: ArtifactRef;
}

/** Stores a model as model.json + weights.bin blobs. */
export async function putModel(store: ArtifactStore, files: ModelFiles): Promise<ModelRef> {
  const weights = await store.put(files.weightData);
  const modelJson = {
    format: files.format ?? 'layers-model',
    generatedBy: files.generatedBy ?? 'lightpath',
    convertedBy: files.convertedBy ?? null,
    modelTopology: files.modelTopology,
    weightsManifest: [{ paths: [weights.sha256], weights: files.weightSpecs }],
  };
  const model = await store.put(new TextEncoder().encode(JSON.stringify(modelJson)));
  return { model, weights };
}

/** Reads a stored model back (both blobs verified). */
export async function getModel(store: ArtifactStore, ref: ModelRef): Promise<ModelFiles> {
  const json = JSON.parse(new TextDecoder().decode(await store.get(ref.model))) as {
    modelTopology: unknown;
    weightsManifest: { paths: string[]; weights: unknown[] }[];
    format?: string;
    generatedBy?: string;
  };
  const weightData = await store.get(ref.weights);
  return {
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((g) => g.weights),
    weightData,
    format: json.format,
    generatedBy: json.generatedBy,
  };
}
