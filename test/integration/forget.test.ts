/**
 * Exact forgetting on a real dev server, MinIO and site workers, synthetic data: a
 * federated merge of three sites (one with poisoned labels) records each site's
 * contribution; forgetting that site gives, with its proof, the estimator central
 * training on the other two sites' raw data gives (1e-4), and its predictions on
 * the forgotten samples stop following their labels; contributions that are not
 * part of the estimator, of another structure, or that would leave too few
 * samples are refused by name; the CLI lists contributions, forgets with --purge,
 * after which the old estimator cannot be re-solved (said so), and `lightpath list`
 * shows the forget in the chain; POST /v1/forgets starts one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack, waitForActivityPoller } from '../helpers/services.js';
import { cli, cliJson } from '../helpers/cli.js';
import { rootCause } from '../../client/runs.js';
import { estimatorContributions } from '../../client/forget.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { decodeBundle, encodeBundle, type Bundle } from '../../storage/bundle.js';
import { solveLike, statsOf } from '../../activities/contributions.js';
import { statisticsDifference } from '../../ml/glai/contributions.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { EstimatorRef, GlaiOutcome, PipelineResult, Ref } from '../../contracts/types.js';
import type { Contribution, ForgetResult } from '../../contracts/forget.js';
import type { RunSummary } from '../../contracts/runs.js';
import { buildServer } from '../../http/server.js';

const stack = useStack(['cpu', 'gpu']);

const config = (seed: number) => ({
  name: 'forget',
  seed,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  // Gated on the last hidden layer, D = 25 × 13 = 325: forgetting a 600-sample site of 1,400 leaves more samples than D.
  glai: { enabled: true, gateLayer: 1 },
});

const POOL = 2000;
const { train: pool } = syntheticImages(99, POOL, 10);

/** Pool rows in `ranges` as an image-set bundle; `poisoned` shifts every label by one class. */
function bundle(ranges: [number, number][], poisoned = false): Uint8Array {
  const rows = ranges.flatMap(([from, to]) => Array.from({ length: to - from }, (_, k) => from + k));
  const images = new Uint8Array(rows.length * 64);
  rows.forEach((r, k) => images.set(pool.images.subarray(r * 64, (r + 1) * 64), k * 64));
  const labels = Uint8Array.from(rows, (r) => (poisoned ? (pool.labels[r]! + 1) % 10 : pool.labels[r]!));
  return encodeBundle({ meta: { kind: 'image-set', split: 'shard', source: 'test', count: rows.length, height: 8, width: 8, classes: 10 }, arrays: { images, labels } });
}

const split = (ranges: [number, number][], poisoned = false): Promise<Ref> => openStore(stack.svc.store).put(bundle(ranges, poisoned));

async function siteFile(name: string, ranges: [number, number][], poisoned = false): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'lightpath-site-')), `${name}.lpb`);
  await writeFile(path, bundle(ranges, poisoned));
  return path;
}

const run = <T>(wf: string, args: unknown, workflowId = `${wf}-${Math.random().toString(36).slice(2)}`): Promise<T> =>
  stack.lp.client.workflow.execute(wf, { taskQueue: 'lightpath', workflowId, args: [args] }) as Promise<T>;

async function bundleOf(e: EstimatorRef): Promise<Bundle> {
  return decodeBundle(await storeForUri(e.ref.uri).get(e.ref), e.ref.uri);
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  a.forEach((v, i) => ((d = Math.max(d, Math.abs(v - b[i]!))), (s = Math.max(s, Math.abs(b[i]!)))));
  return d / s;
}

/** The root cause of a failed run. */
async function failure(p: Promise<unknown>): Promise<string> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  assert.ok(e instanceof WorkflowFailedError, `expected a failed run, got ${String(e)}`);
  return rootCause(e);
}

const NORTH: [number, number][] = [[0, 400]];
const EAST: [number, number][] = [[400, 800]];
const SOUTH: [number, number][] = [[800, 1400]];

let base: PipelineResult;
let merged: GlaiOutcome & { workflowId: string };
let forgot: ForgetResult;

test('forgetting a federated site equals central training on the other sites, proved; its samples stop counting', async () => {
  base = await (await stack.lp.startPipeline(config(1), { store: stack.svc.store })).handle.result();
  const g = base.glai!;
  const files = await Promise.all([siteFile('north', NORTH), siteFile('east', EAST), siteFile('south', SOUTH, true)]);
  const workers = ['north', 'east', 'south'].map((s, k) => stack.spawnWorker(['--role', `site:${s}`, '--data', files[k]!]));
  try {
    await Promise.all(['north', 'east', 'south'].map((s) => waitForActivityPoller(stack.svc.client, `lightpath-site-${s}`)));
    const poisoned = await split(SOUTH, true);
    const workflowId = `merge-${Math.random().toString(36).slice(2)}`;
    merged = {
      workflowId,
      ...(await run<GlaiOutcome>('mergeModels', { store: stack.svc.store, structure: g.structure, features: g.estimator.features, sites: ['north', 'east', 'south'], test: poisoned }, workflowId)),
    };
  } finally {
    workers.forEach((w) => w.kill('SIGKILL'));
  }
  const list = await estimatorContributions(merged.estimator.ref);
  assert.deepEqual(
    list.map((c) => [c.site, c.count, c.structureId]),
    [
      ['north', 400, base.glai!.structure.id],
      ['east', 400, base.glai!.structure.id],
      ['south', 600, base.glai!.structure.id],
    ],
  );
  assert.ok(list.every((c) => c.id === c.ref.sha256));

  const { handle } = await stack.lp.startForget({ from: merged.workflowId, site: 'south', store: stack.svc.store });
  forgot = await handle.result();
  assert.deepEqual(
    forgot.removed.map((c) => c.site),
    ['south'],
  );
  assert.deepEqual(
    forgot.remaining.map((c) => c.site),
    ['north', 'east'],
  );
  assert.equal(forgot.estimator.count, 800);
  assert.deepEqual(forgot.replaces, merged.estimator);
  assert.ok(forgot.exactness.relativeDifference <= 1e-6, `proof: ${forgot.exactness.relativeDifference}`);
  const meta = decodeBundle(await storeForUri(forgot.estimator.ref.uri).get(forgot.estimator.ref), 'new').meta as { forgot: { removed: string[]; replaces: Ref } };
  assert.deepEqual(meta.forgot, { removed: [forgot.removed[0]!.id], replaces: merged.estimator.ref });

  const central = await run<GlaiOutcome>('incrementalRetrain', {
    store: stack.svc.store,
    structure: g.structure,
    features: g.estimator.features,
    data: await split([...NORTH, ...EAST]),
    test: await split(SOUTH, true),
  });
  const [after1, refit] = await Promise.all([bundleOf(forgot.estimator), bundleOf(central.estimator)]);
  const statsGap = statisticsDifference(statsOf(after1), statsOf(refit));
  assert.ok(statsGap <= 1e-9, `forget's statistics = a pass over the remaining sites' raw data (gap ${statsGap})`);
  // Solved the way the forget solves (the merged estimator's plan); central training here is solved alike, so its own weights match too.
  const gap = Math.max(maxRel(after1.arrays.w as Float32Array, Float32Array.from(solveLike(after1, statsOf(refit)).w)), maxRel(after1.arrays.w as Float32Array, refit.arrays.w as Float32Array));
  assert.ok(gap <= 1e-4, `forget = central training on the remaining sites' raw data (gap ${gap})`);

  // The forgotten samples' (poisoned) labels: followed by the merged estimator that trained on them, not after forgetting.
  const after = await run<ForgetResult>('forgetContributions', {
    store: stack.svc.store,
    structure: g.structure,
    estimator: merged.estimator,
    select: { site: 'south' },
    test: await split(SOUTH, true),
  });
  assert.ok(
    Math.abs(after.estimatorAccuracy! - central.estimatorAccuracy!) <= 2 / 600,
    `on the forgotten samples the forget predicts as central training without them (${after.estimatorAccuracy} vs ${central.estimatorAccuracy})`,
  );
  assert.ok(merged.estimatorAccuracy! >= after.estimatorAccuracy! + 0.05, `poisoned labels followed ${merged.estimatorAccuracy} before forgetting, ${after.estimatorAccuracy} after`);
});

test('forget refuses contributions not part of the estimator, of another structure, or leaving too few samples', async () => {
  const other = await (await stack.lp.startPipeline(config(2), { store: stack.svc.store })).handle.result();
  const [foreign] = await estimatorContributions(other.glai!.estimator.ref);
  assert.ok(foreign, 'a pipeline estimator lists its training contribution');
  const start = (select: object) => run('forgetContributions', { store: stack.svc.store, structure: merged.structure, estimator: merged.estimator, select });
  assert.match(
    await failure(start({ contributions: [foreign!.id] })),
    new RegExp(`contribution ${foreign!.id} holds statistics of structure ${other.glai!.structure.id}, not this estimator's ${merged.structure.id}`),
  );
  assert.match(await failure(start({ contributions: ['0'.repeat(64)] })), /contribution 0{64} is not part of estimator/);
  assert.match(await failure(start({ site: 'west' })), /site west contributed nothing to estimator .* \(its sites: north, east, south\)/);
  const all = (await estimatorContributions(merged.estimator.ref)).map((c: Contribution) => c.id);
  assert.match(await failure(start({ contributions: all })), /forgetting 1400 of the estimator's 1400 samples would leave 0, fewer than its feature dimension D = \d+/);
  await assert.rejects(stack.lp.startForget({ from: merged.workflowId, before: 'last week' }), /`before`: "last week" is not a time/);
});

test('HTTP: POST /v1/forgets starts a forget (202 + Location) and names a bad field (400)', async () => {
  const app = await buildServer(stack.lp);
  try {
    const bad = await app.inject({ method: 'POST', url: '/v1/forgets', payload: { from: merged.workflowId, contributions: ['nope'] } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /contributions/);
    const ok = await app.inject({ method: 'POST', url: '/v1/forgets', payload: { from: merged.workflowId, site: 'east', store: stack.svc.store } });
    assert.equal(ok.statusCode, 202, ok.body);
    const { runId } = JSON.parse(ok.body) as { runId: string };
    assert.equal(ok.headers.location, `/v1/runs/${runId}`);
    const r = (await stack.lp.client.workflow.getHandle(runId).result()) as ForgetResult;
    assert.deepEqual(
      r.remaining.map((c) => c.site),
      ['north', 'south'],
    );
  } finally {
    await app.close();
  }
});

test('CLI: forget --list, forget --site --purge, and list shows the forget in the chain', async () => {
  const listed = await cliJson<Contribution[]>('forget', '--from', merged.workflowId, '--list');
  assert.equal(listed.length, 3);
  const out = await cliJson<ForgetResult & { workflowId: string }>('forget', '--from', merged.workflowId, '--site', 'north', '--purge', '--store', stack.svc.store);
  assert.equal(out.estimator.count, 1000);
  assert.deepEqual(out.purged, [out.removed[0]!.ref.uri]);
  assert.equal(await openStore(stack.svc.store).stat(out.removed[0]!.ref.uri), null, 'purged from the store');
  assert.ok(await openStore(stack.svc.store).stat(merged.estimator.ref.uri), 'the old estimator stays');
  const after = await cli(['forget', '--from', merged.workflowId, '--site', 'east']);
  assert.equal(after.status, 1, after.stderr);
  assert.match(after.stderr, new RegExp(`contribution ${out.removed[0]!.id}: its statistics .* are no longer in the store \\(purged\\?\\)`));
  const runs = await cliJson<RunSummary[]>('list', '--kind', 'forget');
  assert.ok(runs.some((r) => r.runId === out.workflowId && r.forgets === merged.workflowId && r.kind === 'forget'));
});
