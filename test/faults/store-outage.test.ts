/**
 * Object store outage: MinIO is stopped for 60 s in the middle of a training
 * (checkpoint writes fail), and in another run during `prepare` and during the GLAI
 * estimator's statistics upload. The runs complete once it is back, without a retried
 * attempt (no finished work redone); every artifact in the manifest reads back and
 * verifies by SHA-256, none is a temporary object. An outage longer than the store
 * retry budget (shortened here with the workers' `LIGHTPATH_STORE_RETRY_SECONDS`)
 * fails the run with one line naming the unreachable endpoint, and `lightpath resume`
 * continues it to completion.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { useFaultStack, waitUntil, waitEpoch, sleep, waitStage, type WorkerProc } from '../helpers/faults.js';
import { cliJson } from '../helpers/cli.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { manifestKey, type RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';
import type { WorkflowHandle } from '@temporalio/client';

const stack = useFaultStack();
let workers: WorkerProc[] = [];

/** PENDING_ACTIVITY_STATE_STARTED: a worker is running the attempt. */
const STARTED = 2;

async function startWorkers(env: Record<string, string> = {}): Promise<void> {
  await Promise.all(workers.map((w) => w.kill()));
  workers = [stack.worker(['--role', 'cpu'], env), stack.worker(['--role', 'gpu', '--allow-cpu'], env)];
  await Promise.all(workers.map((w) => w.ready()));
}

/** Waits until an attempt of `activity` is running on a worker. */
function activityRunning(handle: WorkflowHandle, activity: string): Promise<boolean> {
  return waitUntil(
    `${activity} running`,
    async () => {
      const d = await handle.describe().catch(() => null);
      return d?.raw.pendingActivities?.some((a) => a.activityType?.name === activity && (a.state as unknown) === STARTED);
    },
    300_000,
    50,
  );
}

/** Stops MinIO for `ms`; returns the outage's measured length in seconds. */
async function outage(ms: number): Promise<number> {
  await stack.stopMinio();
  const t = Date.now();
  await sleep(ms);
  await stack.restartMinio();
  return (Date.now() - t) / 1000;
}

/** Every artifact the run's manifest lists reads back through the store and hashes to its reference; none is a temporary object. */
async function verifyManifest(runId: string): Promise<RunManifest> {
  const store = openStore(stack.store);
  const m = JSON.parse(new TextDecoder().decode((await store.getNamed(manifestKey(runId)))!)) as RunManifest;
  assert.equal(m.status, 'completed');
  assert.ok(m.artifacts.length > 0);
  for (const a of m.artifacts) {
    assert.doesNotMatch(a.ref.uri, /\/tmp\//, `${a.name} is not a temporary object`);
    assert.match(a.ref.uri, /\/blobs\/sha256\/[0-9a-f]{64}$/, `${a.name} is content-addressed`);
    const bytes = await storeForUri(a.ref.uri).get(a.ref);
    assert.equal(bytes.length, a.ref.bytes, `${a.name}: size`);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), a.ref.sha256, `${a.name}: sha256`);
  }
  return m;
}

/** Activity attempts after the first in a workflow's history (retries). */
async function retries(handle: WorkflowHandle): Promise<number> {
  const h = await handle.fetchHistory();
  return h.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
}

test('MinIO stopped for 60 s mid-training: the checkpoint writes wait it out, the run completes, nothing is retrained', async () => {
  const t0 = Date.now();
  await startWorkers();
  const epochs = 8;
  const { runId, handle } = await stack.lp.startPipeline(
    {
      name: 'outage',
      seed: 4,
      data: { source: 'fashion-mnist', validationSize: 1000, trainLimit: 6000 },
      model: { hidden: [128, 64] },
      train: { epochs, batchSize: 32 },
      execution: { heartbeatTimeoutSeconds: 10 },
    },
    { store: stack.store },
  );
  const at = await waitEpoch(stack.lp, runId, 2, 300_000);
  const down = await outage(60_000);
  const result: PipelineResult = await handle.result();
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  assert.equal(result.resumedFromEpoch, 0, 'the first training attempt finished: no epoch recomputed');
  assert.equal(await retries(handle), 0, 'no activity was retried');
  assert.match(workers[1]!.current.output(), /lightpath store: http:\/\/127\.0\.0\.1:\d+ .*unreachable .*retrying/, 'the checkpoint writes met the outage');
  const m = await verifyManifest(runId);
  console.log(
    `training: MinIO down ${down.toFixed(1)} s from epoch ${at.epoch}/${epochs}; run completed, 0 activity retries, ${m.artifacts.length} manifest artifacts verified; wall ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
});

test('MinIO stopped during prepare and during the GLAI statistics upload: the run completes', async () => {
  const t0 = Date.now();
  const { runId, handle } = await stack.lp.startPipeline(
    {
      name: 'outageglai',
      seed: 8,
      data: { source: 'fashion-mnist', validationSize: 1000, trainLimit: 3000 },
      model: { hidden: [32, 16] },
      train: { epochs: 2, batchSize: 50 },
      glai: { enabled: true },
    },
    { store: stack.store },
  );
  await activityRunning(handle, 'prepareData');
  const prepareDown = await outage(30_000);
  await waitStage(stack.lp, runId, ['estimator'], 300_000);
  await activityRunning(handle, 'fitEstimator');
  const fitDown = await outage(30_000);
  const result = await handle.result();
  assert.ok(result.glai?.estimator, 'the estimator was fitted and stored');
  assert.equal(await retries(handle), 0, 'no activity was retried');
  assert.match(workers[0]!.current.output(), /unreachable/, 'prepare met the outage');
  assert.match(workers[1]!.current.output(), /unreachable/, 'the estimator fit met the outage');
  const m = await verifyManifest(runId);
  assert.ok(m.artifacts.some((a) => a.name === 'glai-estimator'));
  console.log(
    `prepare + GLAI fit: MinIO down ${prepareDown.toFixed(1)} s in prepare and ${fitDown.toFixed(1)} s in the estimator fit; completed, 0 retries, ${m.artifacts.length} artifacts verified; wall ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
});

test('an outage longer than the store retry budget fails the run naming the store; lightpath resume continues it', async () => {
  const t0 = Date.now();
  const budget = 15;
  await startWorkers({ LIGHTPATH_STORE_RETRY_SECONDS: String(budget) });
  const epochs = 8;
  const { runId, handle } = await stack.lp.startPipeline(
    {
      name: 'outagelong',
      seed: 9,
      data: { source: 'fashion-mnist', validationSize: 1000, trainLimit: 6000 },
      model: { hidden: [64] },
      train: { epochs, batchSize: 32 },
      execution: { heartbeatTimeoutSeconds: 10 },
    },
    { store: stack.store },
  );
  await waitEpoch(stack.lp, runId, 2, 300_000);
  await stack.stopMinio();
  const down = Date.now();
  await assert.rejects(handle.result());
  const failedAfter = (Date.now() - down) / 1000;
  await stack.restartMinio();
  const outageS = (Date.now() - down) / 1000;
  const failure = (await stack.lp.getRun(runId)).failure!;
  assert.match(failure, new RegExp(`^object store ${stack.minio.endpoint.replace(/[.:/]/g, '\\$&')} \\(s3://lightpath/lightpath/\\) unreachable for ${budget} s`));
  assert.doesNotMatch(failure, /\n/, 'one line');

  const resumed = await cliJson<PipelineResult>('resume', runId);
  assert.equal(resumed.resumedFrom, runId);
  assert.deepEqual(resumed.reusedStages, ['prepare', 'initialize']);
  assert.ok(resumed.resumedFromEpoch >= 2, `training continued from epoch ${resumed.resumedFromEpoch}`);
  assert.deepEqual(
    resumed.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  await verifyManifest(resumed.runId);
  console.log(
    `over budget (${budget} s): failed ${failedAfter.toFixed(1)} s into a ${outageS.toFixed(1)} s outage with "${failure}"; ` +
      `lightpath resume continued from epoch ${resumed.resumedFromEpoch} and completed; wall ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
});
