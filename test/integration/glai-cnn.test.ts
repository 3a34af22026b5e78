/**
 * GLAI on a CNN selector (METHODS.md §3) on a real dev server and real workers,
 * synthetic images: the pipeline with `model.kind: cnn` trains the CNN, freezes its
 * trunk with the structure, fits the estimator on the dense head and scores both;
 * an incremental retrain on a new shard reads it through the same trunk.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from '../helpers/services.js';
import { openStore } from '../../storage/open.js';
import { encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { EstimatorRef, PipelineResult } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

let first: PipelineResult;

test('trainPipeline with model.kind cnn and GLAI: the estimator over the CNN head is fitted and scored', async () => {
  const config = {
    name: 'glai-cnn',
    seed: 3,
    data: { source: 'synthetic', validationSize: 300 },
    model: { kind: 'cnn', filters: [4], dense: [16] },
    train: { epochs: 1, batchSize: 50, learningRate: 0.01 },
    glai: { enabled: true },
  };
  const { handle } = await stack.lp.startPipeline(config, { store: stack.svc.store });
  first = await handle.result();
  const g = first.glai!;
  assert.match(g.structure.id, /^[0-9a-f]{64}$/);
  assert.equal(g.estimator.structureId, g.structure.id);
  assert.equal(g.estimator.dim, 17 * 17, 'D = (n + 1)² for a head with one hidden layer of 16');
  assert.ok(g.selectorAccuracy! > 0.3, `the CNN selector learned something: ${g.selectorAccuracy}`);
  assert.ok(g.estimatorAccuracy! >= g.selectorAccuracy! - 0.02, `estimator ${g.estimatorAccuracy} vs selector ${g.selectorAccuracy}`);
});

test('incremental retrain of the CNN estimator reads the new shard through the frozen trunk', async () => {
  const g = first.glai!;
  const { train } = syntheticImages(99, 400, 10);
  const data = await openStore(stack.svc.store).put(
    encodeBundle({
      meta: { kind: 'image-set', split: 'shard', source: 'test', count: 400, height: 8, width: 8, classes: 10 },
      arrays: { images: train.images, labels: train.labels },
    }),
  );
  const r = (await stack.lp.client.workflow.execute('incrementalRetrain', {
    taskQueue: 'lightpath',
    workflowId: `glai-cnn-retrain-${Math.random().toString(36).slice(2)}`,
    args: [{ store: stack.svc.store, structure: g.structure, previous: g.estimator, data, test: g.test }],
  })) as { estimator: EstimatorRef; estimatorAccuracy: number | null; selectorAccuracy: number | null };
  assert.equal(r.estimator.count, g.estimator.count + 400);
  assert.equal(r.estimator.structureId, g.structure.id);
  assert.equal(r.selectorAccuracy, g.selectorAccuracy, 'the structure is unchanged');
  assert.ok(r.estimatorAccuracy! >= g.estimatorAccuracy! - 0.05, `after the update ${r.estimatorAccuracy} vs before ${g.estimatorAccuracy}`);
});
