/**
 * A trained model as standard TF.js LayersModel files: `model.json` (topology +
 * weights manifest whose path is the sibling `weights.bin`) and `weights.bin`,
 * loadable by any TF.js with `tf.loadLayersModel` (tfjs-node: `file://…/model.json`;
 * browsers: over HTTP). lightpath's own initializers (Sinusoidal, LSUV) are unknown
 * to a stock TF.js, so they are replaced in the topology by GlorotUniform (they only
 * matter for building a fresh model; the trained weights load as they are) and
 * recorded in `userDefinedMetadata.lightpath.initializers`.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Lsuv, Sinusoidal } from '../../ml/init/registry.js';
import type { ModelFiles } from '../../storage/model-files.js';

/** A file an export wrote. */
export interface ExportedFile {
  path: string;
  bytes: number;
  sha256: string;
}

/** Names TF.js knows lightpath's initializers by (their classes and lower-case aliases; registered by ml/init/registry). */
const CUSTOM = new Set(
  Object.entries(tf.serialization.SerializationMap.getMap().classNameMap)
    .filter(([, [cls]]) => [Sinusoidal, Lsuv].some((base) => (cls as unknown) === base || cls.prototype instanceof base))
    .map(([name]) => name),
);

/** The topology with lightpath's initializers replaced by GlorotUniform, and the replaced ones by `layer.key`. */
export function portableTopology(topology: unknown): { topology: unknown; replaced: Record<string, unknown> } {
  const replaced: Record<string, unknown> = {};
  const walk = (v: unknown, layer: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => walk(x, layer));
    if (v === null || typeof v !== 'object') return v;
    const o = v as Record<string, unknown>;
    const here = typeof o.name === 'string' ? o.name : layer;
    return Object.fromEntries(
      Object.entries(o).map(([k, x]) => {
        const cls = (x as { class_name?: unknown } | null)?.class_name;
        if (k.endsWith('_initializer') && typeof cls === 'string' && CUSTOM.has(cls)) {
          replaced[`${here}.${k}`] = x;
          return [k, { class_name: 'GlorotUniform', config: { seed: null } }];
        }
        return [k, walk(x, here)];
      }),
    );
  };
  return { topology: walk(topology, ''), replaced };
}

/** Writes `data` to `dir/name` and describes it. */
export async function writeExported(dir: string, name: string, data: Uint8Array | string): Promise<ExportedFile> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const path = join(dir, name);
  await writeFile(path, bytes);
  return { path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes `files` as `dir/model.json` + `dir/weights.bin`; `metadata` goes under `userDefinedMetadata.lightpath`. */
export async function writeLayersModel(dir: string, files: ModelFiles, metadata: Record<string, unknown>): Promise<ExportedFile[]> {
  await mkdir(dir, { recursive: true });
  const { topology, replaced } = portableTopology(files.modelTopology);
  const modelJson = {
    format: 'layers-model',
    generatedBy: files.generatedBy ?? 'lightpath',
    convertedBy: null,
    modelTopology: topology,
    weightsManifest: [{ paths: ['weights.bin'], weights: files.weightSpecs }],
    userDefinedMetadata: { lightpath: { ...metadata, initializers: replaced } },
  };
  return [await writeExported(dir, 'model.json', JSON.stringify(modelJson)), await writeExported(dir, 'weights.bin', files.weightData)];
}
