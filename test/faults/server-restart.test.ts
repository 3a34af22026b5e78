/**
 * Temporal server restart: the dev server (SQLite file, fixed port) is SIGKILLed in
 * the middle of a training, of a weight-decay search and of a federated merge, and
 * started again 15 s later on the same file and port. The worker processes (cpu,
 * gpu, two federated sites) and a `lightpath watch` following the run reconnect by
 * themselves — none is restarted — and every run completes. The reconnect time
 * (server back → a query answered, → the next training progress) is reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useFaultStack, waitUntil, waitEpoch, sleep, within, progress, type WorkerProc, type Proc } from '../helpers/faults.js';
import { encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { Candidate } from '../../contracts/search.js';
import type { EstimatorRef, PipelineResult } from '../../contracts/types.js';
import type { RunInfo } from '../../contracts/runs.js';

const stack = useFaultStack();
const DOWN_MS = 15_000;
let workers: WorkerProc[] = [];

/** SIGKILLs the server, waits 15 s, starts it again on the same file and port; returns when it answers. */
async function restartServer(what: string): Promise<number> {
  await stack.killTemporal();
  const killedAt = Date.now();
  // Nothing may notice more than a connection loss: every process keeps running.
  await sleep(DOWN_MS);
  await stack.restartTemporal();
  const back = Date.now();
  console.log(`${what}: server SIGKILLed, restarted after ${((back - killedAt) / 1000).toFixed(1)} s on ${stack.temporal.address}`);
  return back;
}

/** Every worker is its first process, still running. */
function assertWorkersSurvived(): void {
  for (const w of workers) assert.ok(w.starts === 1 && w.current.running, `worker ${w.args.join(' ')} still its first process`);
}

/** Waits for a `lightpath watch --json` to exit; requires exit 0 and returns the run it printed. */
async function watched(watch: Proc): Promise<RunInfo> {
  const code = await within('lightpath watch exiting', watch.exited, 600_000);
  assert.equal(code, 0, `lightpath watch exited ${code}: ${watch.output().slice(-2000)}`);
  const info = JSON.parse(watch.output().trim().split('\n').at(-1)!) as RunInfo;
  assert.equal(info.status, 'COMPLETED');
  return info;
}

/** A shard of the synthetic pool as an image-set bundle file (a federated site's own data). */
async function shardFile(name: string, from: number, to: number, pool: number): Promise<string> {
  const { train } = syntheticImages(99, pool, 10);
  const dim = 64;
  const path = join(await mkdtemp(join(tmpdir(), 'lightpath-shard-')), `${name}.lpb`);
  await writeFile(
    path,
    encodeBundle({
      meta: { kind: 'image-set', split: 'shard', source: 'test', count: to - from, height: 8, width: 8, classes: 10 },
      arrays: { images: train.images.slice(from * dim, to * dim), labels: train.labels.slice(from, to) },
    }),
  );
  return path;
}

test('server SIGKILLed mid-training, back 15 s later: workers and lightpath watch reconnect by themselves; the run completes', async () => {
  const pool = 40_000;
  const files = await Promise.all([shardFile('a', 0, pool / 2, pool), shardFile('b', pool / 2, pool, pool)]);
  workers = [
    stack.worker(['--role', 'cpu']),
    stack.worker(['--role', 'gpu', '--allow-cpu', '--slots', '2']),
    stack.worker(['--role', 'site:a', '--data', files[0]!]),
    stack.worker(['--role', 'site:b', '--data', files[1]!]),
  ];
  await Promise.all(workers.map((w) => w.ready()));

  const epochs = 10;
  const { runId, handle } = await stack.lp.startPipeline(
    { name: 'restart', seed: 5, data: { source: 'fashion-mnist', validationSize: 1000, trainLimit: 16000 }, model: { hidden: [128, 64] }, train: { epochs, batchSize: 32 } },
    { store: stack.store },
  );
  const watch = stack.cli(['watch', runId, '--json']);
  const atKill = await waitEpoch(stack.lp, runId, 2, 300_000);
  const back = await restartServer('training');
  assert.ok(watch.running, 'lightpath watch is still following the run');
  const queried = await waitUntil('a progress query answered', async () => (await progress(stack.lp, runId)) ?? undefined, 120_000, 100);
  const queryAt = Date.now();
  const moved = await waitUntil(
    'training progress after the restart',
    async () => {
      const p = await progress(stack.lp, runId);
      return p && (p.epoch > queried.epoch || p.stage !== 'train') ? p : undefined;
    },
    300_000,
    100,
  );
  const progressAt = Date.now();
  const result = await handle.result();
  const info = await watched(watch);
  assert.equal((info.result as PipelineResult).runId, runId);
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    Array.from({ length: epochs }, (_, i) => i + 1),
  );
  const history = await handle.fetchHistory();
  const trainAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
  assertWorkersSurvived();
  console.log(
    `training: killed at epoch ${atKill.epoch}/${epochs}; server back → query answered in ${((queryAt - back) / 1000).toFixed(1)} s, ` +
      `→ next training progress (epoch ${moved.epoch}, stage ${moved.stage}) in ${((progressAt - back) / 1000).toFixed(1)} s; ` +
      `activity retries: ${trainAttempts.length}; resumedFromEpoch ${result.resumedFromEpoch}; watch exited 0 with ${info.status}`,
  );
});

test('server SIGKILLed mid weight-decay search: the search completes, lightpath watch exits 0', async () => {
  const { runId, handle } = await stack.lp.startPipeline(
    {
      name: 'restartsearch',
      seed: 6,
      data: { source: 'synthetic', validationSize: 300 },
      model: { hidden: [64, 32] },
      train: { epochs: 12, batchSize: 20, learningRate: 0.01 },
      search: { mode: 'search', candidates: [1e-4, 1e-3, 1e-2], chunkEpochs: 1, concurrency: 2 },
      // A chunk whose completion the dead server never received is handed out again after this (default 120 s).
      execution: { heartbeatTimeoutSeconds: 30 },
    },
    { store: stack.store },
  );
  const watch = stack.cli(['watch', runId, '--json']);
  const child = stack.lp.client.workflow.getHandle(`${runId}-wd-search`);
  const live = await waitUntil(
    'candidates at epoch 2',
    async () => {
      const c = await child.query<Candidate[]>('candidates').catch(() => null);
      return c && c.some((x) => x.liveEpoch >= 2) ? c : undefined;
    },
    300_000,
  );
  const back = await restartServer('weight-decay search');
  const queried = await waitUntil('the search answering a query', () => child.query<Candidate[]>('candidates').catch(() => undefined), 120_000, 100);
  const queryAt = Date.now();
  const result = await handle.result();
  const info = await watched(watch);
  assert.ok(result.search, 'the pipeline ran the search');
  assert.equal((info.result as PipelineResult).search?.chosenWeightDecay, result.search.chosenWeightDecay);
  const childHistory = await child.fetchHistory();
  const retried = childHistory.events!.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
  assertWorkersSurvived();
  console.log(
    `weight-decay search: killed with candidates at epochs ${live.map((c) => c.liveEpoch).join('/')}; server back → query answered in ${((queryAt - back) / 1000).toFixed(1)} s ` +
      `(${queried.length} candidates); chose ${result.search.chosenWeightDecay} after ${result.search.epochsSpent} epochs; ${retried} chunk attempts retried; watch exited 0`,
  );
});

test('server SIGKILLed mid federated merge: the site workers reconnect and the merge completes', async () => {
  const base = await (
    await stack.lp.startPipeline(
      {
        name: 'restartglai',
        seed: 1,
        data: { source: 'synthetic', validationSize: 300 },
        model: { hidden: [24, 12] },
        train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
        glai: { enabled: true },
      },
      { store: stack.store },
    )
  ).handle.result();
  const { workflowId, handle } = await stack.lp.startMerge({ structureFrom: base.runId, sites: ['a', 'b'], siteHeartbeatSeconds: 10, siteTimeoutSeconds: 900, store: stack.store });
  await waitUntil(
    'both site fits started',
    async () => {
      const d = await handle.describe().catch(() => null);
      return (d?.raw.pendingActivities ?? []).filter((p) => p.activityType?.name === 'fitSiteEstimator' && p.lastStartedTime).length === 2;
    },
    300_000,
    50,
  );
  const back = await restartServer('federated merge');
  await waitUntil('the merge answering a query', () => handle.query('sites').catch(() => undefined), 120_000, 100);
  const queryAt = Date.now();
  const merged = (await handle.result()) as { estimator: EstimatorRef; sites: { site: string; status: string }[] };
  assert.deepEqual(
    merged.sites.map((s) => [s.site, s.status]),
    [
      ['a', 'merged'],
      ['b', 'merged'],
    ],
  );
  assert.equal(merged.estimator.count, 40_000);
  const history = await handle.fetchHistory();
  const attempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
  assertWorkersSurvived();
  console.log(
    `federated merge ${workflowId}: server back → query answered in ${((queryAt - back) / 1000).toFixed(1)} s; activity attempts ${attempts.join(',')}; merged ${merged.estimator.count} samples from 2 sites`,
  );
});
