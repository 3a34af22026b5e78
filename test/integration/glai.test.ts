/**
 * GLAI stages on a real dev server and real workers, synthetic data: the pipeline
 * extracts the structure and fits the estimator; `incrementalRetrain` with a new
 * shard equals fitting on the union; `mergeModels` of two sites equals central
 * fitting; estimators of different structures are refused naming both ids; the
 * CLI's retrain and merge; a federated merge over site workers (each its own
 * process with its own data) survives a killed site worker and tolerates a
 * configured number of missing sites.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack, waitForActivityPoller } from '../helpers/services.js';
import { cli, cliJson } from '../helpers/cli.js';
import { storeForUri, openStore } from '../../storage/open.js';
import { decodeBundle, encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { EstimatorRef, StructureRef } from '../../contracts/types.js';
import type { PipelineResult, Ref } from '../../contracts/types.js';

const stack = useStack(['cpu', 'gpu']);

const config = (seed: number, glai: Record<string, unknown> = {}) => ({
  name: 'glai',
  seed,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  glai: { enabled: true, ...glai },
});

/** Rows [from, to) of a seeded pool of synthetic images, as an image-set bundle. */
function shardBundle(from: number, to: number, pool = 1000): Uint8Array {
  const { train } = syntheticImages(99, pool, 10);
  const dim = 64;
  return encodeBundle({
    meta: { kind: 'image-set', split: 'shard', source: 'test', count: to - from, height: 8, width: 8, classes: 10 },
    arrays: { images: train.images.slice(from * dim, to * dim), labels: train.labels.slice(from, to) },
  });
}

/** A new shard of synthetic images, stored as an image-set split. */
function shard(from: number, to: number, pool = 1000): Promise<Ref> {
  return openStore(stack.svc.store).put(shardBundle(from, to, pool));
}

/** A shard written as a local bundle file (a site's own data, or CLI input). */
async function shardFile(name: string, from: number, to: number, pool = 1000): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'lightpath-shard-')), `${name}.lpb`);
  await writeFile(path, shardBundle(from, to, pool));
  return path;
}

const run = <T>(wf: string, args: unknown, workflowId = `${wf}-${Math.random().toString(36).slice(2)}`): Promise<T> =>
  stack.lp.client.workflow.execute(wf, { taskQueue: 'lightpath', workflowId, args: [args] }) as Promise<T>;

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
  assert.equal(g.estimator.dim, 25 * (24 + 12 + 1), 'values of layer 0, gated on every hidden layer (the default)');
  assert.ok(g.estimatorAccuracy! >= g.selectorAccuracy! - 0.01, `estimator ${g.estimatorAccuracy} vs selector ${g.selectorAccuracy}`);
  const solve = g.estimator.solve!;
  assert.equal(solve.chosenBy, 'validation', 'λ chosen on the validation split');
  assert.equal(solve.prior, 'selector');
  assert.deepEqual(
    solve.curve.map((p) => p.lambda),
    [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
  );
  assert.equal(solve.validationError, Math.min(...solve.curve.map((p) => p.validationError!)));
  const meta = decodeBundle(await storeForUri(g.estimator.ref.uri).get(g.estimator.ref), g.estimator.ref.uri).meta as { lambda: number; validationCount: number };
  assert.equal(meta.lambda, solve.lambda);
  assert.equal(meta.validationCount, 300, 'the validation statistics are stored with the estimator');
});

test('incremental retrain reads only the new shard and equals fitting on the union; merge equals central', async () => {
  const g = first.glai!;
  const structure: StructureRef = g.structure;
  const [a, b, union] = await Promise.all([shard(0, 400), shard(400, 1000), shard(0, 1000)]);
  const fit = async (data: Ref) => {
    const r = await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, previous: g.estimator, data });
    return r.estimator;
  };
  const afterA = await fit(a);
  const afterAB = await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, previous: afterA, data: b });
  const direct = await fit(union);
  assert.equal(afterAB.estimator.count, g.estimator.count + 1000);
  assert.equal(afterAB.estimator.solve!.chosenBy, 'validation', 'an update re-chooses λ on the stored validation statistics');
  assert.ok(maxRel(await weights(afterAB.estimator), await weights(direct)) <= 1e-4, 'two increments = one union update');

  const fresh = async (data: Ref) => (await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure, data })).estimator;
  const [siteA, siteB, central] = await Promise.all([fresh(a), fresh(b), fresh(union)]);
  const merged = await run<{ estimator: EstimatorRef }>('mergeModels', { store: stack.svc.store, structure, estimators: [siteA, siteB] });
  assert.equal(merged.estimator.count, 1000);
  const mergeGap = maxRel(await weights(merged.estimator), await weights(central));
  assert.ok(mergeGap <= 1e-4, `merge of two sites = central fit on the union (gap ${mergeGap})`);

  const other = await (await stack.lp.startPipeline(config(2, { refineSteps: 2 }), { store: stack.svc.store })).handle.result();
  assert.equal(other.glai!.estimator.solve!.refined!.length, 3, 'Böhning refinement: the start and two passes');
  const err = await run('mergeModels', { store: stack.svc.store, structure, estimators: [g.estimator, other.glai!.estimator] }).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  const msg = String((err.cause as Error).cause ? ((err.cause as Error).cause as Error).message : (err.cause as Error).message);
  assert.match(msg, new RegExp(`${g.structure.id}.*${other.glai!.structure.id}`));
});

test('CLI: lightpath retrain reads only the new data; lightpath merge sums estimators', async () => {
  const g = first.glai!;
  const file = await shardFile('new', 0, 300);
  const retrained = await cliJson<{ workflowId: string; added: number; estimator: EstimatorRef; estimatorAccuracy: number }>('retrain', '--from', first.runId, '--data', file);
  assert.equal(retrained.added, 300);
  assert.equal(retrained.estimator.count, g.estimator.count + 300);
  assert.equal(retrained.estimator.structureId, g.structure.id);
  assert.ok(retrained.estimatorAccuracy > 0.5, `scored on the pipeline's test split: ${retrained.estimatorAccuracy}`);
  const { stdout } = await cli(['merge', '--from', first.runId, retrained.workflowId]);
  assert.match(stdout, new RegExp(`\\(${2 * g.estimator.count + 300} samples, ${g.estimator.dim} features\\)`));
  assert.match(stdout, /test accuracy: estimator \d+\.\d+ % vs selector \d+\.\d+ %/);
  const bad = await cli(['retrain', '--from', first.runId, '--data', '/nonexistent/shard.lpb']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /data: \/nonexistent\/shard\.lpb does not exist/);
});

test('federated merge: a site worker killed mid-fit is retried; the merge equals central training on the union', async () => {
  const g = first.glai!;
  const pool = 60_000;
  const cuts = [0, 4_000, 56_000, pool];
  const files = await Promise.all(['a', 'b', 'c'].map((s, k) => shardFile(s, cuts[k]!, cuts[k + 1]!, pool)));
  const workers = ['a', 'b', 'c'].map((s, k) => stack.spawnWorker(['--role', `site:${s}`, '--data', files[k]!]));
  const workflowId = `merge-federated-${Math.random().toString(36).slice(2)}`;
  const merging = run<{ estimator: EstimatorRef; sites: { site: string; status: string }[] }>(
    'mergeModels',
    { store: stack.svc.store, structure: g.structure, sites: ['a', 'b', 'c'], siteHeartbeatSeconds: 3, siteTimeoutSeconds: 600 },
    workflowId,
  );
  const handle = stack.lp.client.workflow.getHandle(workflowId);
  for (;;) {
    const pending = (await handle.describe().catch(() => null))?.raw.pendingActivities ?? [];
    if (pending.some((p) => p.activityId === '2' && p.lastStartedTime)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  workers[1]!.kill('SIGKILL');
  await new Promise((r) => setTimeout(r, 500));
  stack.spawnWorker(['--role', 'site:b', '--data', files[1]!]);
  const merged = await merging;
  assert.deepEqual(
    merged.sites.map((s) => [s.site, s.status]),
    [
      ['a', 'merged'],
      ['b', 'merged'],
      ['c', 'merged'],
    ],
  );
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  assert.ok(
    attempts.some((n) => n! >= 2),
    `site b's fit was retried after its worker died (attempts ${attempts})`,
  );
  const central = (await run<{ estimator: EstimatorRef }>('incrementalRetrain', { store: stack.svc.store, structure: g.structure, data: await shard(0, pool, pool) })).estimator;
  assert.equal(merged.estimator.count, pool);
  const gap = maxRel(await weights(merged.estimator), await weights(central));
  assert.ok(gap <= 1e-4, `federated merge = central fit on the union (gap ${gap})`);
  workers.forEach((w) => w.kill('SIGKILL'));
});

test('federated merge tolerates up to maxFailedSites missing sites (recorded) and fails past it, naming them', async () => {
  const g = first.glai!;
  const site = stack.spawnWorker(['--role', 'site:d', '--data', await shardFile('d', 0, 500)]);
  // Site d must be polling before the merge starts: the 5 s timeout is for the missing site `ghost`.
  await waitForActivityPoller(stack.svc.client, 'lightpath-site-d');
  const args = { store: stack.svc.store, structure: g.structure, sites: ['d', 'ghost'], siteTimeoutSeconds: 5 };
  const ok = await run<{ estimator: EstimatorRef; sites: { site: string; status: string; error: string | null }[]; merged: number }>('mergeModels', { ...args, maxFailedSites: 1 });
  assert.equal(ok.merged, 1);
  assert.equal(ok.estimator.count, 500);
  assert.deepEqual(
    ok.sites.map((s) => [s.site, s.status]),
    [
      ['d', 'merged'],
      ['ghost', 'failed'],
    ],
  );
  assert.match(ok.sites[1]!.error!, /timed out|timeout/i);
  const err = await run('mergeModels', args).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError);
  assert.match((err.cause as Error).message, /1 site\(s\) failed, at most 0 allowed: ghost/);
  site.kill('SIGKILL');
});
