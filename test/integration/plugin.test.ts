/**
 * lightpath as a Temporal plugin, on a real dev server and real MinIO: plain
 * `Worker.create` calls with `plugins: [lightpath(…)]` (nothing from lightpath's
 * own worker builders) run a pipeline end to end, writing to the plugin's store
 * on the plugin's backend; the gpu worker advertises its slots; a worker on a
 * queue lightpath does not use is refused.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { lightpath } from '../../workers/plugin.js';
import { startServices, type Services } from '../helpers/services.js';
import { storeForUri } from '../../storage/open.js';
import type { RunManifest } from '../../storage/manifest.js';
import type { PipelineResult } from '../../contracts/types.js';

let svc: Services;
let connection: NativeConnection;
let workers: Worker[] = [];
let running: Promise<unknown>;
/** A store other than the environment's LIGHTPATH_STORE, so the run shows which one it used. */
let store: string;

before(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  svc = await startServices();
  store = `s3://${svc.minio.bucket}/via-plugin`;
  connection = await NativeConnection.connect({ address: svc.temporal.address });
  workers = [
    await Worker.create({ connection, taskQueue: 'lightpath', plugins: [lightpath({ store, backend: 'cpu', role: 'cpu' })] }),
    await Worker.create({ connection, taskQueue: 'lightpath-gpu', plugins: [lightpath({ store, backend: 'cpu' })] }),
  ];
  running = Promise.all(workers.map((w) => w.run()));
});

after(async () => {
  for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  await running;
  await connection?.close();
  await svc?.stop();
});

test('plain workers with the plugin run trainPipeline end to end, in its store, on its backend', async () => {
  const config = {
    name: 'plugin',
    seed: 1,
    data: { source: 'synthetic', validationSize: 300 },
    model: { hidden: [24, 12] },
    train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  };
  const runId = `plugin-${Date.now()}`;
  const result = (await svc.client.workflow.execute('trainPipeline', { taskQueue: 'lightpath', workflowId: runId, args: [{ config }] })) as PipelineResult;
  assert.equal(result.runId, runId);
  assert.ok(result.testAccuracy > 0.8, `test accuracy ${result.testAccuracy}`);
  assert.equal(result.history.length, 2);
  assert.equal(result.backend, 'cpu');
  assert.ok(result.manifest.startsWith(`${store}/runs/${runId}/`), result.manifest);
  const bytes = await storeForUri(result.manifest).getNamed(`via-plugin/runs/${runId}/manifest.json`);
  assert.ok(bytes, 'the manifest is in the plugin store');
  const manifest = JSON.parse(new TextDecoder().decode(bytes)) as RunManifest;
  assert.equal(manifest.status, 'completed');
  assert.equal(manifest.backend, 'cpu');
  for (const a of manifest.artifacts) assert.ok(a.ref.uri.startsWith(`${store}/`), `${a.stage}/${a.name}: ${a.ref.uri}`);
});

test('the gpu worker advertises its training slots to trainingSlots', async () => {
  const res = await svc.client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: 'lightpath-gpu', kind: proto.temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
    taskQueueType: proto.temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
  });
  assert.ok(
    res.pollers?.some((p) => / gpu slots=1$/.test(p.identity ?? '')),
    JSON.stringify(res.pollers?.map((p) => p.identity)),
  );
});

test('a worker on a queue lightpath does not schedule on, or of the wrong role, is refused naming the queues', async () => {
  await assert.rejects(Worker.create({ connection, taskQueue: 'elsewhere', plugins: [lightpath()] }), /polls "elsewhere".*lightpath \(cpu\) or lightpath-gpu \(gpu\)/);
  await assert.rejects(Worker.create({ connection, taskQueue: 'lightpath', plugins: [lightpath({ role: 'gpu' })] }), /polls "lightpath".*lightpath-gpu for the gpu role/);
});
