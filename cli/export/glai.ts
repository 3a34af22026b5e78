/**
 * A GLAI estimator exported with its selector: the selector as a TF.js
 * LayersModel (model.json + weights.bin), the estimator's solved weights W
 * ([D, classes] float32, little-endian, row-major) in glai-estimator.bin, its
 * feature spec, dimensions and structure id in glai-estimator.json, and
 * predict.mjs, a dependency-free implementation of logits = φ(x)·W.
 */
import { readFile } from 'node:fs/promises';
import { structureId } from '../../ml/glai/selector.js';
import type { EstimatorMeta } from '../../ml/glai/estimator-meta.js';
import { decodeBundle } from '../../storage/bundle.js';
import type { ModelFiles } from '../../storage/model-files.js';
import { ConfigError } from '../../contracts/errors.js';
import { writeExported, writeLayersModel, type ExportedFile } from './tfjs.js';

/**
 * Writes the GLAI export of `estimator` (the stored bundle's bytes) on `selector`
 * into `dir`; refuses an estimator whose structure id is not the selector's.
 */
export async function writeGlaiExport(dir: string, selector: ModelFiles, estimator: { bytes: Uint8Array; uri: string }, metadata: Record<string, unknown>): Promise<ExportedFile[]> {
  const bundle = decodeBundle(estimator.bytes, estimator.uri);
  const meta = bundle.meta as EstimatorMeta;
  if (meta.kind !== 'glai-estimator') throw new ConfigError(`${estimator.uri} is a ${meta.kind}, not a GLAI estimator`, []);
  const id = structureId(selector);
  if (id !== meta.structureId) throw new ConfigError(`${estimator.uri} was fitted on structure ${meta.structureId}, not on this selector (${id})`, []);
  const w = bundle.arrays.w as Float32Array;
  const le = new Uint8Array(w.length * 4);
  const view = new DataView(le.buffer);
  w.forEach((v, i) => view.setFloat32(4 * i, v, true));
  const spec = {
    format: 'lightpath-glai-estimator',
    version: 1,
    structureId: meta.structureId,
    featureSpec: meta.spec,
    dim: meta.dim,
    classes: meta.classes,
    count: meta.count,
    lambda: meta.lambda,
    selector: 'model.json',
    weights: { path: 'glai-estimator.bin', dtype: 'float32', shape: [meta.dim, meta.classes], layout: 'row-major, little-endian' },
    input: 'image pixels / 255, flattened h × w × c (as in training)',
    features: 'φ(x) = [ReLU(W₁x + b₁); 1] ⊗ [m_g(x); 1] over the selector hidden layers featureSpec.valueLayer and featureSpec.gateLayer; logits = φ(x)·W (see predict.mjs)',
  };
  return [
    ...(await writeLayersModel(dir, selector, { ...metadata, structureId: meta.structureId })),
    await writeExported(dir, 'glai-estimator.json', JSON.stringify(spec, null, 2)),
    await writeExported(dir, 'glai-estimator.bin', le),
    await writeExported(dir, 'predict.mjs', await readFile(new URL('./predict.mjs', import.meta.url))),
  ];
}
