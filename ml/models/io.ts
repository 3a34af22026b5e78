/** Converting models to and from TF.js's model.json + weights.bin parts (no files, no network). */
import * as tf from '@tensorflow/tfjs';
import '../init/registry.js';

/** The parts of a saved model: topology JSON, weight specs and the concatenated weight bytes. */
export interface ModelParts {
  modelTopology: unknown;
  weightSpecs: unknown[];
  weightData: Uint8Array;
}

/** Serializes a layers model (topology + weights). */
export async function modelToParts(model: tf.LayersModel): Promise<ModelParts> {
  let parts: ModelParts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = a.weightData instanceof ArrayBuffer ? a.weightData : tf.io.concatenateArrayBuffers(a.weightData as ArrayBuffer[]);
      parts = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs ?? [], weightData: new Uint8Array(data) };
      return { modelArtifactsInfo: { dateSaved: new Date(0), modelTopologyType: 'JSON' } };
    }),
  );
  return parts!;
}

/** Rebuilds a layers model from its parts with `tf.loadLayersModel`. */
export async function modelFromParts(parts: ModelParts): Promise<tf.LayersModel> {
  const w = parts.weightData;
  const weightData = w.buffer.slice(w.byteOffset, w.byteOffset + w.byteLength) as ArrayBuffer;
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: parts.modelTopology as object, weightSpecs: parts.weightSpecs as tf.io.WeightsManifestEntry[], weightData }));
}
