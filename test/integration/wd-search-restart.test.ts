/**
 * A GPU worker killed in the middle of a weight-decay search: after a new worker
 * starts, every candidate continues from its last checkpoint (no candidate is
 * retrained from zero) and the search completes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useStack } from '../helpers/services.js';
import { type Candidate } from '../../contracts/search.js';

const stack = useStack(['cpu']);

test('worker killed mid-search: every candidate resumes from its checkpoint', async () => {
  // Enough epochs that no candidate's chunk can finish before the other's reaches epoch 2 and the
  // kill lands: the candidates start up to a few seconds apart, and an epoch of this small MLP
  // (fused training step, a checkpoint written per epoch) took about 0.1 s here.
  const epochs = 200;
  const first = stack.spawnGpu(2);
  const { runId, handle } = await stack.lp.startPipeline(
    {
      name: 'wdrestart',
      data: { source: 'synthetic', validationSize: 300 },
      model: { hidden: [64, 32] },
      train: { epochs, batchSize: 20, learningRate: 0.01 },
      search: { mode: 'grid', candidates: [1e-4, 1e-3], chunkEpochs: epochs, concurrency: 2 },
      execution: { heartbeatTimeoutSeconds: 5 },
    },
    { store: stack.svc.store },
  );
  const child = stack.lp.client.workflow.getHandle(`${runId}-wd-search`);
  const deadline = Date.now() + 240_000;
  for (;;) {
    assert.ok(Date.now() < deadline, 'candidates never reached epoch 2');
    const live = await child.query<Candidate[]>('candidates').catch(() => null);
    if (live && live.every((c) => c.liveEpoch >= 2)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  first.kill('SIGKILL');
  await new Promise((r) => first.once('exit', r));
  stack.spawnGpu(2);
  await handle.result();
  const candidates = await child.query<Candidate[]>('candidates');
  for (const c of candidates) {
    assert.equal(c.epoch, epochs, `${c.id} finished`);
    const chunk = c.chunks.at(-1)!;
    assert.ok(chunk.attempt >= 2, `${c.id}: attempt ${chunk.attempt}`);
    assert.ok(chunk.resumedFromEpoch >= 2, `${c.id} resumed from epoch ${chunk.resumedFromEpoch}, not from zero`);
    assert.deepEqual(c.oui.length, epochs);
  }
});
