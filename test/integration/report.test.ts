/**
 * Report, metrics and export on a real dev server, real MinIO and real workers: a
 * tiny synthetic pipeline with a two-candidate weight-decay grid and GLAI, plus a
 * GLAI retrain, then the CLI as a subprocess: `report` writes one self-contained
 * HTML page with every section; `metrics` writes one JSONL line per epoch and
 * TensorBoard event files; `export` writes a model a stock TF.js loads and that
 * predicts as the run's model, and a GLAI export whose predict.mjs reproduces the
 * estimator's logits and accuracy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useStack } from '../helpers/services.js';
import { cli } from '../helpers/cli.js';
import { storeForUri } from '../../storage/open.js';
import { decodeBundle } from '../../storage/bundle.js';
import { getModel } from '../../storage/model-files.js';
import { modelFromParts } from '../../ml/models/io.js';
import { selectorWeights } from '../../ml/glai/selector.js';
import { linearLogits } from '../../ml/glai/estimator.js';
import { rawSplitToData } from '../../ml/train/thread-protocol.js';
import type { LabelledData } from '../../ml/train/data.js';
import { EventType, readTfRecords } from '../../cli/metrics/tfevents.js';
import type { MetricsRow } from '../../cli/metrics/rows.js';
import { readRun } from '../../client/run-record.js';
import type { EstimatorRef, PipelineResult, Ref } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

const config = {
  name: 'report',
  seed: 5,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 3, batchSize: 50, learningRate: 0.01 },
  search: { mode: 'grid', candidates: [1e-4, 1e-2] },
  glai: { enabled: true },
};

async function ok(args: string[]): Promise<string> {
  const r = await cli(args);
  assert.equal(r.status, 0, `lightpath ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function split(ref: Ref): Promise<LabelledData> {
  const b = decodeBundle(await storeForUri(ref.uri).get(ref), ref.uri);
  const m = b.meta as { count: number; height: number; width: number; classes: number };
  return rawSplitToData({ images: b.arrays.images as Uint8Array, labels: b.arrays.labels as Uint8Array, count: m.count, dim: m.height * m.width, classes: m.classes });
}

let run: PipelineResult;
let retrainId: string;
let tmp: string;

test('a pipeline with a weight-decay grid and GLAI, and a GLAI retrain of it', async () => {
  tmp = await mkdtemp(join(tmpdir(), 'lightpath-report-'));
  run = await (await stack.lp.startPipeline(config, { store: stack.svc.store })).handle.result();
  assert.equal(run.search?.mode, 'grid');
  assert.ok(run.glai);
  retrainId = `report-retrain-${Math.random().toString(36).slice(2)}`;
  const { manifest } = await readRun(run.runId, stack.svc.store);
  const val = manifest.artifacts.find((a) => a.name === 'dataset-val')!.ref;
  await stack.lp.client.workflow.execute('incrementalRetrain', {
    taskQueue: 'lightpath',
    workflowId: retrainId,
    args: [{ store: stack.svc.store, structure: run.glai.structure, previous: run.glai.estimator, data: val, test: run.glai.test }],
  });
});

test('report: one self-contained HTML page with every section, its charts and the retrain', async () => {
  const out = join(tmp, 'report.html');
  const summary = JSON.parse(await ok(['report', run.runId, '--out', out, '--with', retrainId, '--json'])) as { out: string; sections: string[]; charts: number; workflowStatus: string };
  assert.equal(summary.out, out);
  assert.deepEqual(summary.sections, ['summary', 'training', 'wd-search', 'stabilization', 'glai', 'contributions', 'artifacts', 'config']);
  assert.equal(summary.charts, 6, 'loss, accuracy, OUI, candidates, stabilization, GLAI');
  assert.equal(summary.workflowStatus, 'COMPLETED');
  const html = await readFile(out, 'utf8');
  for (const s of summary.sections) assert.match(html, new RegExp(`<section id="${s}"`));
  assert.equal(html.match(/<svg[\s>]/g)?.length, summary.charts);
  assert.doesNotMatch(html, /<script|<link|<iframe|<img|@import|src=|url\(\s*['"]?https?:|href="https?:/i, 'nothing external, no scripts');
  for (const c of ['wd0-1.00e-4', 'wd1-1.00e-2']) assert.ok(html.includes(c), `candidate ${c}`);
  assert.ok(html.includes(retrainId), 'the retrain is listed');
  assert.ok(html.includes(run.glai!.structure.id), 'the structure id');
  assert.ok(html.includes(run.model.weights.sha256), 'the artifacts with their hashes');
  assert.match(html, /Decision log/);

  const elsewhere = JSON.parse(await ok(['report', run.runId, '--out', join(tmp, 'elsewhere.html'), '--store', join(tmp, 'empty-store'), '--json'])) as { sections: string[] };
  assert.deepEqual(elsewhere.sections, summary.sections, 'not in the given store: read where the run result says');

  const offline = join(tmp, 'offline.html');
  await ok(['report', run.runId, '--out', offline, '--no-temporal']);
  assert.match(await readFile(offline, 'utf8'), /not asked \(--no-temporal\)/);
  const missing = await cli(['report', 'no-such-run', '--out', join(tmp, 'x.html'), '--no-temporal']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /no-such-run: no manifest at s3:\/\//);
});

test('metrics: one JSONL line per epoch (training, then each candidate); TensorBoard event files', async () => {
  const file = join(tmp, 'metrics.jsonl');
  await ok(['metrics', run.runId, '--out', file]);
  const rows = (await readFile(file, 'utf8'))
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as MetricsRow);
  const train = rows.filter((r) => r.tag === 'train');
  assert.deepEqual(
    train.map((r) => r.epoch),
    [1, 2, 3],
  );
  assert.deepEqual(
    train.map((r) => r.tag === 'train' && r.loss),
    run.history.map((h) => h.loss),
  );
  const candidates = rows.filter((r) => r.tag === 'candidate');
  assert.deepEqual(
    candidates.map((r) => `${r.tag === 'candidate' && r.candidate}@${r.epoch}`),
    ['wd0-1.00e-4@1', 'wd0-1.00e-4@2', 'wd0-1.00e-4@3', 'wd1-1.00e-2@1', 'wd1-1.00e-2@2', 'wd1-1.00e-2@3'],
  );
  assert.deepEqual([...new Set(candidates.map((r) => r.weightDecay))], [1e-4, 1e-2]);

  const files = (await ok(['metrics', run.runId, '--format', 'tensorboard', '--out', join(tmp, 'tb')])).trim().split('\n');
  assert.deepEqual(
    files.map((f) => f.split('/').at(-2)),
    ['train', 'wd0-1.00e-4', 'wd1-1.00e-2'],
  );
  const events = readTfRecords(new Uint8Array(await readFile(files[0]!))).map(
    (r) => EventType.toObject(EventType.decode(r), { longs: Number }) as { fileVersion?: string; step?: number; summary?: { value: { tag: string; simpleValue: number }[] } },
  );
  assert.equal(events[0]!.fileVersion, 'brain.Event:2');
  assert.deepEqual(
    events.slice(1).map((e) => e.step),
    [1, 2, 3],
  );
  const loss = events.slice(1).map((e) => e.summary!.value.find((v) => v.tag === 'loss')!.simpleValue);
  loss.forEach((l, k) => assert.ok(Math.abs(l - run.history[k]!.loss) < 1e-6 * Math.max(1, run.history[k]!.loss)));
});

/** Loads model.json in a fresh Node with nothing but a stock @tensorflow/tfjs (a file:// loader as tfjs-node has) and predicts `x`. */
async function stockPredict(modelJson: string, x: Float32Array, dim: number): Promise<number[]> {
  const input = join(tmp, 'x.json');
  await writeFile(input, JSON.stringify(Array.from(x)));
  const script = `
    import * as tf from '@tensorflow/tfjs';
    import { readFile } from 'node:fs/promises';
    import { dirname, join } from 'node:path';
    import { fileURLToPath } from 'node:url';
    tf.io.registerLoadRouter((url) => typeof url === 'string' && url.startsWith('file://') ? {
      async load() {
        const path = fileURLToPath(url);
        const json = JSON.parse(await readFile(path, 'utf8'));
        return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
          const parts = await Promise.all(manifest.flatMap((g) => g.paths).map((p) => readFile(join(dirname(path), p))));
          const all = Buffer.concat(parts);
          return [manifest.flatMap((g) => g.weights), all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength)];
        });
      },
    } : null);
    const model = await tf.loadLayersModel(process.argv[1]);
    const x = JSON.parse(await readFile(process.argv[2], 'utf8'));
    process.stdout.write(JSON.stringify(Array.from(await model.predict(tf.tensor2d(x, [x.length / ${dim}, ${dim}])).data())));
  `;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, pathToFileURL(modelJson).href, input], { encoding: 'utf8' });
  return JSON.parse(stdout) as number[];
}

test("export tfjs: a stock TF.js loads it with tf.loadLayersModel and predicts as the run's model", async () => {
  const out = join(tmp, 'tfjs');
  const r = JSON.parse(await ok(['export', run.runId, '--format', 'tfjs', '--out', out, '--json'])) as { format: string; files: { path: string }[] };
  assert.equal(r.format, 'tfjs');
  assert.deepEqual(
    r.files.map((f) => f.path),
    [join(out, 'model.json'), join(out, 'weights.bin')],
  );
  const json = JSON.parse(await readFile(join(out, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[] }[];
    userDefinedMetadata: { lightpath: { runId: string; initializers: Record<string, unknown> } };
  };
  assert.deepEqual(json.weightsManifest[0]!.paths, ['weights.bin']);
  assert.equal(json.userDefinedMetadata.lightpath.runId, run.runId);
  assert.deepEqual(
    Object.keys(json.userDefinedMetadata.lightpath.initializers),
    ['hidden_0.kernel_initializer', 'hidden_1.kernel_initializer', 'logits.kernel_initializer'],
    'Sinusoidal recorded, replaced',
  );

  const test = await split(run.glai!.test!);
  const x = test.x.subarray(0, 64 * test.dim);
  const model = await modelFromParts(await getModel(storeForUri(run.model.model.uri), run.model));
  const expected = Array.from(await (model.predict(tf.tensor2d(x, [64, test.dim])) as tf.Tensor).data());
  model.dispose();
  const got = await stockPredict(join(out, 'model.json'), x, test.dim);
  assert.equal(got.length, expected.length);
  got.forEach((v, i) => assert.ok(Math.abs(v - expected[i]!) <= 1e-4 * Math.max(1, Math.abs(expected[i]!)), `logit ${i}: ${v} vs ${expected[i]}`));
});

interface ExportedGlai {
  inputDim: number;
  classes: number;
  structureId: string;
  logits(x: Float32Array, n?: number): Float32Array;
  predict(x: Float32Array, n?: number): Int32Array;
}

test("export glai: predict.mjs reproduces the estimator's logits and test accuracy; a retrain exports from Temporal", async () => {
  const out = join(tmp, 'glai');
  const r = JSON.parse(await ok(['export', run.runId, '--out', out, '--json'])) as { format: string; files: { path: string }[] };
  assert.equal(r.format, 'glai', 'the default for a run with GLAI');
  assert.deepEqual(
    r.files.map((f) => f.path.slice(out.length + 1)),
    ['model.json', 'weights.bin', 'glai-estimator.json', 'glai-estimator.bin', 'predict.mjs'],
  );
  const { loadGlai } = (await import(pathToFileURL(join(out, 'predict.mjs')).href)) as { loadGlai(dir: string): Promise<ExportedGlai> };
  const glai = await loadGlai(out);
  assert.equal(glai.structureId, run.glai!.structure.id);

  const test = await split(run.glai!.test!);
  const model = await modelFromParts(await getModel(storeForUri(run.model.model.uri), run.model));
  const e = run.glai!.estimator;
  const bundle = decodeBundle(await storeForUri(e.ref.uri).get(e.ref), e.ref.uri);
  const spec = (bundle.meta as { spec: { valueLayer: number; gateLayer: number } }).spec;
  const u = tf.tensor2d(bundle.arrays.w as Float32Array, [e.dim, glai.classes]);
  const x = tf.tensor2d(test.x, [test.count, test.dim]);
  const expected = await linearLogits(selectorWeights(model), spec, u, x).data();
  tf.dispose([u, x]);
  model.dispose();
  const got = glai.logits(test.x, test.count);
  let gap = 0;
  let scale = 0;
  got.forEach((v, i) => ((gap = Math.max(gap, Math.abs(v - expected[i]!))), (scale = Math.max(scale, Math.abs(expected[i]!)))));
  assert.ok(gap <= 1e-4 * scale, `logits differ by ${gap} (scale ${scale})`);
  const labels = glai.predict(test.x, test.count);
  const accuracy = labels.reduce((n, p, i) => n + (p === test.y[i] ? 1 : 0), 0) / test.count;
  assert.ok(Math.abs(accuracy - run.glai!.estimatorAccuracy!) <= 1 / test.count, `accuracy ${accuracy} vs the run's ${run.glai!.estimatorAccuracy}`);

  const retrained = join(tmp, 'retrained');
  await ok(['export', retrainId, '--out', retrained]);
  const meta = JSON.parse(await readFile(join(retrained, 'glai-estimator.json'), 'utf8')) as { count: number; structureId: string };
  const retrain = (await stack.lp.client.workflow.getHandle(retrainId).result()) as { estimator: EstimatorRef };
  assert.equal(meta.count, retrain.estimator.count);
  assert.equal(meta.structureId, run.glai!.structure.id);
});
