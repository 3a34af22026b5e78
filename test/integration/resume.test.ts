/**
 * A training worker killed mid-run (SIGKILL after epoch k's heartbeat) loses its
 * attempt; the heartbeat timeout hands the activity to a fresh worker, which
 * continues from epoch k's checkpoint instead of from zero. A run that failed for
 * good continues with `lightpath resume` (finished stages reused); `cancel` ends a
 * run as cancelled.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from '../helpers/services.js';
import { cliJson } from '../helpers/cli.js';
import { storeForUri } from '../../storage/open.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';

const stack = useStack(['cpu']);

test('a training worker killed after epoch k: the retry resumes from epoch k, not from zero', async () => {
  // Enough epochs that the rest cannot finish between the poll that sees epoch 2 and the kill
  // (an epoch of this MLP on Fashion-MNIST takes well under a second with the fused step).
  const epochs = 8;
  const first = stack.spawnGpu();
  const { runId, handle } = await stack.lp.startPipeline({ name: 'resume', model: { hidden: [64] }, train: { epochs }, execution: { heartbeatTimeoutSeconds: 5 } }, { store: stack.svc.store });
  let seen = 0;
  const deadline = Date.now() + 240_000;
  while (seen < 2) {
    assert.ok(Date.now() < deadline, 'epoch 2 never finished');
    seen = (await stack.lp.progress(runId)).epoch;
    await new Promise((r) => setTimeout(r, 100));
  }
  first.kill('SIGKILL');
  const killedAfter = seen;
  await new Promise((r) => first.once('exit', r));
  const second = stack.spawnGpu();

  const result = await handle.result();
  assert.ok(result.resumedFromEpoch >= killedAfter && result.resumedFromEpoch < epochs, `resumed from epoch ${result.resumedFromEpoch}, killed after ${killedAfter}`);
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);

  const history = await handle.fetchHistory();
  const trainStarts = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.attempt === 2);
  assert.equal(trainStarts.length, 1, 'the training activity ran a second attempt');
  const timedOut = history.events!.filter((e) => e.activityTaskTimedOutEventAttributes);
  assert.equal(timedOut.length, 0, 'the retry absorbed the lost attempt (no final timeout)');
  second.kill('SIGKILL');
});

/** The activity types a workflow scheduled, from its history. */
async function scheduled(runId: string): Promise<string[]> {
  const h = await stack.lp.client.workflow.getHandle(runId).fetchHistory();
  return h.events!.flatMap((e) => (e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType!.name!] : []));
}

const lightpath = (...args: string[]) => cliJson(...args);

test('lightpath resume: a run failed in train continues as a new run that reuses prepare and initialize and the last checkpoint; --from-stage reruns', async () => {
  // As above: enough epochs that the run cannot finish before the kill lands.
  const epochs = 12;
  const worker = stack.spawnGpu();
  const { runId, handle } = await stack.lp.startPipeline(
    { name: 'resumerun', data: { trainLimit: 12000 }, model: { hidden: [64] }, train: { epochs }, execution: { heartbeatTimeoutSeconds: 3, maxTrainAttempts: 1 } },
    { store: stack.svc.store },
  );
  const deadline = Date.now() + 240_000;
  let seen = 0;
  while (seen < 2) {
    assert.ok(Date.now() < deadline, 'epoch 2 never finished');
    seen = (await stack.lp.progress(runId)).epoch;
    await new Promise((r) => setTimeout(r, 100));
  }
  worker.kill('SIGKILL');
  await assert.rejects(handle.result(), 'one training attempt allowed: the run fails when its worker dies');
  const failed = await lightpath('status', runId);
  assert.equal(failed.status, 'FAILED');
  assert.match(String(failed.failure), /timeout|timed out/i);
  const worker2 = stack.spawnGpu();

  const resumed = (await lightpath('resume', runId)) as unknown as PipelineResult;
  assert.equal(resumed.resumedFrom, runId);
  assert.deepEqual(resumed.reusedStages, ['prepare', 'initialize']);
  assert.ok(resumed.resumedFromEpoch >= 2 && resumed.resumedFromEpoch < epochs, `training continued from epoch ${resumed.resumedFromEpoch}`);
  assert.deepEqual(
    resumed.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  const ran = await scheduled(resumed.runId);
  assert.ok(!ran.includes('prepareData') && !ran.includes('initializeModel'), `no stage rerun before train: ${ran.join(', ')}`);
  const manifests = await Promise.all(
    [runId, resumed.runId].map(async (id) => JSON.parse(new TextDecoder().decode((await storeForUri(stack.svc.store).getNamed(`lightpath/runs/${id}/manifest.json`))!)) as RunManifest),
  );
  const initArtifacts = (m: RunManifest) => m.artifacts.filter((a) => a.stage === 'initialize').map((a) => a.ref.uri);
  assert.deepEqual(initArtifacts(manifests[1]!), initArtifacts(manifests[0]!), 'the initialize artifacts are the failed run’s (no new ones written)');
  assert.equal(manifests[0]!.status, 'failed');
  assert.equal(manifests[1]!.resumedFrom, runId);

  const rerun = (await lightpath('resume', resumed.runId, '--from-stage', 'train')) as unknown as PipelineResult;
  assert.deepEqual(rerun.reusedStages, ['prepare', 'initialize']);
  assert.equal(rerun.resumedFromEpoch, 0, '--from-stage train retrains from the initial weights');
  assert.ok((await scheduled(rerun.runId)).includes('trainModel'));
  worker2.kill('SIGKILL');

  const listed = (await lightpath('list', '--kind', 'pipeline')) as unknown as { runId: string; resumedFrom: string | null }[];
  const chain = (id: string): string[] => {
    const r = listed.find((x) => x.runId === id);
    return r?.resumedFrom ? [id, ...chain(r.resumedFrom)] : [id];
  };
  assert.deepEqual(chain(rerun.runId), [rerun.runId, resumed.runId, runId], 'list shows the chain');
});

test('lightpath cancel: the run ends cancelled (recorded in its manifest)', async () => {
  const worker = stack.spawnGpu();
  const { runId, handle } = await stack.lp.startPipeline(
    { name: 'cancelrun', data: { source: 'synthetic', validationSize: 300 }, model: { hidden: [16] }, train: { epochs: 200 } },
    { store: stack.svc.store },
  );
  for (let p = await stack.lp.progress(runId); p.stage !== 'train'; p = await stack.lp.progress(runId)) {
    assert.notEqual(p.stage, 'failed');
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.deepEqual(await lightpath('cancel', runId), { runId, cancelRequested: true });
  await assert.rejects(handle.result());
  assert.equal((await stack.lp.getRun(runId)).status, 'CANCELLED');
  const m = JSON.parse(new TextDecoder().decode((await storeForUri(stack.svc.store).getNamed(`lightpath/runs/${runId}/manifest.json`))!)) as RunManifest;
  assert.equal(m.status, 'cancelled');
  worker.kill('SIGKILL');
});
