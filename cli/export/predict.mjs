/**
 * Prediction with an exported GLAI estimator: plain JavaScript, no dependencies
 * (written next to the files by `lightpath export --format glai`).
 *
 *   import { loadGlai } from './predict.mjs';
 *   const glai = await loadGlai(new URL('.', import.meta.url));  // the export folder (Node)
 *   const logits = glai.logits(x, n);   // Float32Array [n, classes]
 *   const labels = glai.predict(x, n);  // Int32Array [n]
 *
 * `x` holds n inputs of `glai.inputDim` values each, row-major, preprocessed as in
 * training: image pixels / 255, flattened h × w × c. In a browser, fetch the four
 * files yourself and call `glaiFromFiles`.
 *
 * The estimator is linear in gated features of the frozen selector (model.json):
 *   φ(x) = [ReLU(W₁x + b₁); 1] ⊗ [m_g(x); 1]     (row-major, value index major)
 *   logits = φ(x) · W                              (W: glai-estimator.bin, [D, classes])
 * where ReLU(W₁x + b₁) is hidden layer `valueLayer` of the selector and m_g(x) the
 * 0/1 on-mask of hidden layer `gateLayer` (glai-estimator.json, `featureSpec`), or the
 * masks of the layers `gateLayers` stacked when the spec names several.
 */

/** Little-endian float32 array from bytes (an ArrayBuffer or a typed-array view of one). */
function float32(bytes, offset = 0, length = (bytes.byteLength - offset) / 4) {
  const view = new DataView(bytes.buffer ?? bytes, bytes.byteOffset ?? 0, bytes.byteLength);
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) out[i] = view.getFloat32(offset + 4 * i, true);
  return out;
}

/** The dense layers of a TF.js LayersModel (model.json + weights.bin) in order: { kernel, bias, inputs, units }. */
function denseLayers(modelJson, weights) {
  const topology = modelJson.modelTopology;
  const layers = (topology.config.layers ?? topology.model_config?.config.layers).filter((l) => l.class_name === 'Dense');
  const byName = new Map();
  let offset = 0;
  for (const spec of modelJson.weightsManifest.flatMap((g) => g.weights)) {
    if (spec.dtype !== 'float32') throw new Error(`weight ${spec.name}: ${spec.dtype}, expected float32`);
    const size = spec.shape.reduce((a, b) => a * b, 1);
    byName.set(spec.name, { shape: spec.shape, values: float32(weights, offset, size) });
    offset += 4 * size;
  }
  return layers.map((l) => {
    const kernel = byName.get(`${l.config.name}/kernel`);
    const bias = byName.get(`${l.config.name}/bias`);
    if (!kernel || !bias) throw new Error(`layer ${l.config.name}: kernel or bias missing from the weights manifest`);
    return { kernel: kernel.values, bias: bias.values, inputs: kernel.shape[0], units: kernel.shape[1] };
  });
}

/**
 * The estimator from the export's file contents: `modelJson` and `estimatorJson`
 * parsed, `weights` (weights.bin) and `estimatorWeights` (glai-estimator.bin) as bytes.
 */
export function glaiFromFiles({ modelJson, weights, estimatorJson, estimatorWeights }) {
  const { valueLayer, gateLayer, gateLayers } = estimatorJson.featureSpec;
  const gates = gateLayers ?? [gateLayer];
  const { dim, classes } = estimatorJson;
  const layers = denseLayers(modelJson, weights).slice(0, Math.max(valueLayer, ...gates) + 1);
  const w = float32(estimatorWeights);
  const gateWidth = gates.reduce((n, g) => n + layers[g].units, 0) + 1;
  if ((layers[valueLayer].units + 1) * gateWidth !== dim || w.length !== dim * classes) {
    throw new Error(`estimator of dimension ${dim} × ${classes} does not fit the selector's layers ${valueLayer} and ${gates.join(', ')}`);
  }
  const inputDim = layers[0].inputs;

  /** Hidden activations of sample `s`: post-ReLU values of `valueLayer` and those of the gating layers, stacked (on-units > 0). */
  function hidden(x, s) {
    let h = x.subarray(s * inputDim, (s + 1) * inputDim);
    let value = null;
    const byLayer = new Map();
    layers.forEach((l, k) => {
      const z = Float64Array.from(l.bias);
      for (let i = 0; i < l.inputs; i++) {
        const hi = h[i];
        if (hi === 0) continue;
        const row = i * l.units;
        for (let j = 0; j < l.units; j++) z[j] += hi * l.kernel[row + j];
      }
      const post = z.map((v) => (v > 0 ? v : 0));
      if (k === valueLayer) value = post;
      if (gates.includes(k)) byLayer.set(k, post);
      h = post;
    });
    return { value, gate: Float64Array.from(gates.flatMap((g) => Array.from(byLayer.get(g)))) };
  }

  return {
    inputDim,
    classes,
    structureId: estimatorJson.structureId,
    /** Logits φ(x)·W of `n` inputs (default: as many as `x` holds) → Float32Array [n, classes]. */
    logits(x, n = x.length / inputDim) {
      const xs = x instanceof Float32Array || x instanceof Float64Array ? x : Float64Array.from(x);
      const out = new Float32Array(n * classes);
      const acc = new Float64Array(classes);
      for (let s = 0; s < n; s++) {
        const { value, gate } = hidden(xs, s);
        const on = [];
        for (let j = 0; j < gate.length; j++) if (gate[j] > 0) on.push(j);
        on.push(gate.length);
        acc.fill(0);
        for (let i = 0; i <= value.length; i++) {
          const v = i < value.length ? value[i] : 1;
          if (v === 0) continue;
          for (const j of on) {
            const row = (i * gateWidth + j) * classes;
            for (let k = 0; k < classes; k++) acc[k] += v * w[row + k];
          }
        }
        out.set(acc, s * classes);
      }
      return out;
    },
    /** The predicted class of each of `n` inputs → Int32Array [n]. */
    predict(x, n = x.length / inputDim) {
      const logits = this.logits(x, n);
      const out = new Int32Array(n);
      for (let s = 0; s < n; s++) {
        let best = 0;
        for (let k = 1; k < classes; k++) if (logits[s * classes + k] > logits[s * classes + best]) best = k;
        out[s] = best;
      }
      return out;
    },
  };
}

/** Loads the export in folder `dir` (a path or a file: URL) with Node's fs. */
export async function loadGlai(dir) {
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const root = dir instanceof URL || String(dir).startsWith('file:') ? fileURLToPath(dir) : String(dir);
  const estimatorJson = JSON.parse(await readFile(join(root, 'glai-estimator.json'), 'utf8'));
  const modelJson = JSON.parse(await readFile(join(root, estimatorJson.selector), 'utf8'));
  const shards = await Promise.all(modelJson.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(root, p))));
  return glaiFromFiles({ modelJson, weights: new Uint8Array(Buffer.concat(shards)), estimatorJson, estimatorWeights: await readFile(join(root, estimatorJson.weights.path)) });
}
