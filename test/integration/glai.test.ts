/**
 * GLAI stages on a real dev server and real workers, synthetic data: the pipeline
 * extracts the structure and fits the estimator; `incrementalRetrain` with a new
 * shard equals fitting on the union; `mergeModels` of two sites equals central
 * fitting; estimators of different structures are refused naming both ids.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack } from '../helpers/services.js';
import { storeForUri, openStore } from '../../storage/open.js';
import { decodeBundle, encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { EstimatorRef, StructureRef } from '../../workflows/types.js';
import type { PipelineResult, Ref } from '../../workflows/types.js';

const stack = useStack(['cpu', 'gpu']);

const config = (seed: number) => ({
  name: 'glai',
  seed,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  glai: { enabled: true },
});

/** A new shard of synthetic images, stored as an image-set split. */
async function shard(from: number, to: number): Promise<Ref> {
  const { train } = syntheticImages(99, 1000, 10);
  const dim = 64;
  return openStore(stack.svc.store).put(
    encodeBundle({
      meta: { kind: 'image-set', split: 'shard', source: 'test', count: to - from, height: 8, width: 8, classes: 10 },
      arrays: { images: train.images.slice(from * dim, to * dim), labels: train.labels.slice(from, to) },
    }),
  );
}

async function weights(e: EstimatorRef): Promise<Float32Array> {
  return decodeBundle(await storeForUri(e.ref.uri).get(e.ref), e.ref.uri).arrays.w as Float32Array;
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  a.forEach((v, i) => ((d = Math.max(d, Math.abs(v - b[i]!))), (s = Math.max(s, Math.abs(b[i]!)))));
  return d / s;
}

let first: PipelineResult;

test('trainPipeline with GLAI: structure and one-pass estimator at least as accurate as the selector', async () => {
  const { handle } = await stack.lp.startPipeline(config(1), { store: stack.svc.store });
  first = await handle.result();
  const g = first.glai!;
  assert.match(g.structure.id, /^[0-9a-f]{64}$/);
  assert.equal(g.estimator.structureId, g.structure.id);
  assert.equal(g.estimator.dim, 25 * 13);
  assert.ok(g.estimatorAccuracy! >= g.selectorAccuracy! - 0.01, `estimator ${g.estimatorAccuracy} vs selector ${g.selectorAccuracy}`);
});

test('incremental retrain reads only the new shard and equals fitting on the union; merge equals central', async () => {
  const g = first.glai!;
  const structure: StructureRef = g.structure;
  const [a, b, union] = await Promise.all([shard(0, 400), shard(400, 1000), shard(0, 1000)]);
  const run = <T>(wf: string, args: unknown): Promise<T> =>
    stack.lp.client.workflow.execute(wf, { taskQueue: 'lightpath', workflowId: `${wf}-${Math.random().toString(36).slice(2)}`, args: [args] }) as Promise<T>;
  const fit = async (data: Ref) => {
    const r = await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, previous: g.estimator, data });
    return r.estimator;
  };
  const afterA = await fit(a);
  const afterAB = await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, previous: afterA, data: b });
  const direct = await fit(union);
  assert.equal(afterAB.estimator.count, g.estimator.count + 1000);
  assert.ok(maxRel(await weights(afterAB.estimator), await weights(direct)) <= 1e-4, 'two increments = one union update');

  const fresh = async (data: Ref) => (await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, data })).estimator;
  const [siteA, siteB, central] = await Promise.all([fresh(a), fresh(b), fresh(union)]);
  const merged = await run<{ estimator: EstimatorRef }>('mergeModels', { store: stack.svc.store, structure, estimators: [siteA, siteB] });
  assert.equal(merged.estimator.count, 1000);
  const mergeGap = maxRel(await weights(merged.estimator), await weights(central));
  assert.ok(mergeGap <= 1e-4, `merge of two sites = central fit on the union (gap ${mergeGap})`);

  const other = await (await stack.lp.startPipeline(config(2), { store: stack.svc.store })).handle.result();
  const err = await run('mergeModels', { store: stack.svc.store, structure, estimators: [g.estimator, other.glai!.estimator] }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  const msg = String((err.cause as Error).cause ? ((err.cause as Error).cause as Error).message : (err.cause as Error).message);
  assert.match(msg, new RegExp(`${g.structure.id}.*${other.glai!.structure.id}`));
});
