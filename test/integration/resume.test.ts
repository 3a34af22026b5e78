/**
 * A training worker killed mid-run (SIGKILL after epoch k's heartbeat) loses its
 * attempt; the heartbeat timeout hands the activity to a fresh worker, which
 * continues from epoch k's checkpoint instead of from zero.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from '../helpers/services.js';

const stack = useStack(['cpu']);

test('a training worker killed after epoch k: the retry resumes from epoch k, not from zero', async () => {
  const epochs = 4;
  const first = stack.spawnGpu();
  const { runId, handle } = await stack.lp.startPipeline(
    { name: 'resume', model: { hidden: [64] }, train: { epochs }, execution: { heartbeatTimeoutSeconds: 5 } },
    { store: stack.svc.store },
  );
  let seen = 0;
  const deadline = Date.now() + 240_000;
  while (seen < 2) {
    assert.ok(Date.now() < deadline, 'epoch 2 never finished');
    seen = (await stack.lp.progress(runId)).epoch;
    await new Promise((r) => setTimeout(r, 200));
  }
  first.kill('SIGKILL');
  const killedAfter = seen;
  await new Promise((r) => first.once('exit', r));
  stack.spawnGpu();

  const result = await handle.result();
  assert.ok(result.resumedFromEpoch >= killedAfter && result.resumedFromEpoch < epochs, `resumed from epoch ${result.resumedFromEpoch}, killed after ${killedAfter}`);
  assert.deepEqual(result.history.map((h) => h.epoch), [1, 2, 3, 4]);
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);

  const history = await handle.fetchHistory();
  const trainStarts = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.attempt === 2);
  assert.equal(trainStarts.length, 1, 'the training activity ran a second attempt');
  const timedOut = history.events!.filter((e) => e.activityTaskTimedOutEventAttributes);
  assert.equal(timedOut.length, 0, 'the retry absorbed the lost attempt (no final timeout)');
});
