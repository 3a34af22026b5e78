/**
 * Load: a real Temporal dev server and MinIO, 2 cpu-role and 2 gpu-role `lightpath
 * worker` processes. 50 small synthetic pipelines started at once all complete, each
 * with its manifest, every activity on its first attempt; the orchestration overhead
 * read from the histories (scheduled → started per activity; per pipeline its wall
 * time minus its activities' run times) is printed as a table. Then 200 GLAI
 * retrains queued at once, each fitting a new estimator on its own small shard, all
 * complete; the base estimator merged with the 200 equals one incremental update of
 * the base on the union of the shards. No timing is asserted: the figures are printed.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { startServices, spawnWorker, type Services } from '../helpers/services.js';
import { dispatchGaps, HEADER, overhead, quantile, row, runTime, startLatency, workflowTiming, type ActivityTiming, type WorkflowTiming } from '../helpers/history-timing.js';
import { connect, type LightpathClient } from '../../client/connect.js';
import { CPU_TASK_QUEUE, GPU_TASK_QUEUE } from '../../contracts/queues.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { readManifest } from '../../storage/manifest.js';
import { decodeBundle, encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import type { EstimatorRef, PipelineResult, Ref } from '../../contracts/types.js';
import type { IncrementalRetrainResult, MergeModelsResult } from '../../workflows/glai.js';

const PIPELINES = 50;
const RETRAINS = 200;

let svc: Services;
let lp: LightpathClient;
const workers: ChildProcess[] = [];
const nonce = Math.random().toString(36).slice(2, 8);

/** A small synthetic pipeline: 400 training samples of 8×8 images, one epoch of a 64-16-10 MLP. */
const config = (name: string, seed: number, glai = false) => ({
  name,
  seed,
  data: { source: 'synthetic', validationSize: 100, trainLimit: 400 },
  model: { hidden: [16] },
  train: { epochs: 1 },
  glai: { enabled: glai },
});

/** `p`, or an error naming `what` after `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms / 1000} s`)), ms)));
  try {
    return await Promise.race([p, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (with a deadline) until `n` distinct workers poll `queue` for tasks of `type`. */
async function waitForPollers(client: Client, queue: string, type: 'activity' | 'workflow', n: number, timeoutMs = 120_000): Promise<void> {
  const { TaskQueueKind, TaskQueueType } = proto.temporal.api.enums.v1;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const res = await client.workflowService.describeTaskQueue({
      namespace: 'default',
      taskQueue: { name: queue, kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: type === 'activity' ? TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY : TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    const identities = new Set((res.pollers ?? []).map((p) => p.identity));
    if (identities.size >= n) return;
    if (Date.now() > deadline) throw new Error(`${identities.size} of ${n} workers polled ${queue} (${type}) within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The timing of every workflow in `ids`, read from its history. */
function timings(ids: string[]): Promise<WorkflowTiming[]> {
  return Promise.all(ids.map(async (id) => workflowTiming(id, await svc.client.workflow.getHandle(id).fetchHistory())));
}

/** Asserts every workflow completed and every activity completed on its first attempt (no fault was injected). */
function assertHealthy(ws: WorkflowTiming[]): void {
  for (const w of ws) assert.equal(w.close, 'WorkflowExecutionCompleted', `${w.workflowId} closed with ${w.close}`);
  const all = ws.flatMap((w) => w.activities);
  const notOnce = all.filter((a) => a.outcome !== 'completed' || a.attempt !== 1);
  assert.deepEqual(
    notOnce.map((a) => `${a.workflowId} ${a.type}: ${a.outcome} on attempt ${a.attempt}${a.lastFailure ? ` after ${a.lastFailure}` : ''}`),
    [],
    'every activity ran once and completed on its first attempt',
  );
}

/** The figures of a batch of workflows as a table (printed) and an object (printed as JSON for the resolution note). */
function report(title: string, wallMs: number, ws: WorkflowTiming[]): Record<string, number> {
  const acts: ActivityTiming[] = ws.flatMap((w) => w.activities).filter((a) => a.attempt === 1);
  const on = (q: string) => acts.filter((a) => a.queue === q);
  const walls = ws.map((w) => w.closeMs - w.startMs);
  const wfTasks = ws.flatMap((w) => w.workflowTasks);
  const taskWaits = wfTasks.filter((t) => t.startedMs !== null).map((t) => t.startedMs! - t.scheduledMs);
  const taskRuns = wfTasks.filter((t) => t.startedMs !== null && t.completedMs !== null).map((t) => t.completedMs! - t.startedMs!);
  const overheads = ws.map(overhead);
  // The same without the time spent waiting on the gpu queue (for a free training slot, mostly): workflow tasks and light activities.
  const outsideGpu = ws.map((w) => overhead(w) - w.activities.filter((a) => a.queue === GPU_TASK_QUEUE).reduce((t, a) => t + startLatency(a), 0));
  const gpuGaps = dispatchGaps(on(GPU_TASK_QUEUE));
  const lines = [
    `${title}: ${ws.length} workflows, all completed, wall time ${(wallMs / 1000).toFixed(1)} s (first start → last result)`,
    HEADER,
    row('activity scheduled → started, all', acts.map(startLatency)),
    row(`  on ${CPU_TASK_QUEUE} (light activities)`, on(CPU_TASK_QUEUE).map(startLatency)),
    row(`  on ${GPU_TASK_QUEUE} (incl. waiting for a free slot)`, on(GPU_TASK_QUEUE).map(startLatency)),
    row(`activity run time (started → completed), ${GPU_TASK_QUEUE}`, on(GPU_TASK_QUEUE).map(runTime)),
    row(`${GPU_TASK_QUEUE} slot idle between tasks, backlog waiting`, gpuGaps),
    row('workflow task scheduled → started (cpu-role workers)', taskWaits),
    row('workflow task started → completed', taskRuns),
    row('per workflow: wall time (started → closed)', walls),
    row('per workflow: overhead = wall − Σ activity run time', overheads),
    row(`  the same less its waits on ${GPU_TASK_QUEUE}`, outsideGpu),
  ];
  console.log(`\n${lines.join('\n')}\n`);
  const med = (xs: number[]) => Math.round(quantile(xs, 0.5));
  const p95 = (xs: number[]) => Math.round(quantile(xs, 0.95));
  const figures = {
    workflows: ws.length,
    wallS: +(wallMs / 1000).toFixed(1),
    activities: acts.length,
    schedToStartMedianMs: med(acts.map(startLatency)),
    schedToStartP95Ms: p95(acts.map(startLatency)),
    cpuSchedToStartMedianMs: med(on(CPU_TASK_QUEUE).map(startLatency)),
    cpuSchedToStartP95Ms: p95(on(CPU_TASK_QUEUE).map(startLatency)),
    gpuSchedToStartMedianMs: med(on(GPU_TASK_QUEUE).map(startLatency)),
    gpuSchedToStartP95Ms: p95(on(GPU_TASK_QUEUE).map(startLatency)),
    gpuIdleGapMedianMs: med(gpuGaps),
    gpuIdleGapP95Ms: p95(gpuGaps),
    overheadMedianMs: med(overheads),
    overheadP95Ms: p95(overheads),
    overheadOutsideGpuQueueMedianMs: med(outsideGpu),
    overheadOutsideGpuQueueP95Ms: p95(outsideGpu),
    workflowTaskSchedToStartMedianMs: med(taskWaits),
    workflowTaskSchedToStartP95Ms: p95(taskWaits),
    workflowWallMedianMs: med(walls),
    workflowWallP95Ms: p95(walls),
  };
  console.log(`${title} figures: ${JSON.stringify(figures)}`);
  return figures;
}

before(
  async () => {
    svc = await startServices();
    const address = svc.temporal.address;
    for (let i = 0; i < 2; i++) workers.push(spawnWorker(address, ['--role', 'cpu']));
    for (let i = 0; i < 2; i++) workers.push(spawnWorker(address, ['--role', 'gpu', '--allow-cpu', '--slots', '1']));
    lp = await connect({ address });
    await Promise.all([
      waitForPollers(svc.client, CPU_TASK_QUEUE, 'workflow', 2),
      waitForPollers(svc.client, CPU_TASK_QUEUE, 'activity', 2),
      waitForPollers(svc.client, GPU_TASK_QUEUE, 'activity', 2),
    ]);
  },
  { timeout: 240_000 },
);

after(
  async () => {
    const exits = workers.filter((w) => w.exitCode === null && w.signalCode === null).map((w) => new Promise((r) => w.once('exit', r)));
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
    await within(Promise.all(exits), 30_000, 'worker processes exiting');
    await lp?.close();
    await svc?.stop();
  },
  { timeout: 180_000 },
);

test(`${PIPELINES} pipelines started at once on 2 cpu-role and 2 gpu-role worker processes all complete, each activity once`, { timeout: 12 * 60_000 }, async () => {
  const t0 = Date.now();
  const started = await Promise.all(Array.from({ length: PIPELINES }, (_, i) => lp.startPipeline(config(`load-${i}`, i), { store: svc.store })));
  const results: PipelineResult[] = await within(Promise.all(started.map((s) => s.handle.result())), 10 * 60_000, `${PIPELINES} pipelines`);
  const wallMs = Date.now() - t0;

  const store = openStore(svc.store);
  for (const r of results) {
    const manifest = await readManifest(store, r.runId);
    assert.ok(manifest, `${r.runId}: its manifest ${r.manifest} exists`);
    assert.equal(manifest.status, 'completed', `${r.runId}: manifest status`);
    assert.ok(await storeForUri(r.manifest).stat(r.manifest), `${r.runId}: ${r.manifest} is in the store`);
  }
  const ws = await timings(results.map((r) => r.runId));
  assertHealthy(ws);
  report(`load: ${PIPELINES} pipelines`, wallMs, ws);
});

/** Reads an estimator's statistics and solved weights from the store. */
async function estimatorArrays(e: EstimatorRef): Promise<{ a: Float64Array; b: Float64Array; w: Float32Array; count: number }> {
  const bundle = decodeBundle(await storeForUri(e.ref.uri).get(e.ref), e.ref.uri);
  return { a: bundle.arrays.a as Float64Array, b: bundle.arrays.b as Float64Array, w: bundle.arrays.w as Float32Array, count: (bundle.meta as { count: number }).count };
}

/** max |x − y| / max |y|: the difference relative to the array's scale (entries of A and B that are zero stay comparable). */
function maxRel(x: ArrayLike<number>, y: ArrayLike<number>): number {
  assert.equal(x.length, y.length);
  let d = 0;
  let s = 0;
  for (let i = 0; i < y.length; i++) {
    d = Math.max(d, Math.abs(x[i]! - y[i]!));
    s = Math.max(s, Math.abs(y[i]!));
  }
  return d / s;
}

test(`${RETRAINS} GLAI retrains queued at once all complete; the base merged with them equals one update on their union`, { timeout: 12 * 60_000 }, async () => {
  const base = await within((await lp.startPipeline(config('load-glai', 1000, true), { store: svc.store })).handle.result(), 5 * 60_000, 'the GLAI base pipeline');
  const g = base.glai!;
  assert.equal(g.estimator.dim, 17 * 17, 'feature dimension of a 64-16-10 selector');

  // 200 shards of 20–50 samples: consecutive, disjoint rows of one seeded synthetic pool (new data of the training distribution).
  const sizes = Array.from({ length: RETRAINS }, (_, k) => 20 + ((k * 37) % 31));
  const total = sizes.reduce((s, n) => s + n, 0);
  const pool = syntheticImages(4242, total, 0).train;
  const bundle = (from: number, to: number, split: string) =>
    encodeBundle({
      meta: { kind: 'image-set', split, source: 'load-test', count: to - from, height: 8, width: 8, classes: 10 },
      arrays: { images: pool.images.slice(from * 64, to * 64), labels: pool.labels.slice(from, to) },
    });
  const store = openStore(svc.store);
  const cuts = sizes.reduce<number[]>((c, n) => [...c, c.at(-1)! + n], [0]);
  const shards: Ref[] = await Promise.all(sizes.map((_, k) => store.put(bundle(cuts[k]!, cuts[k + 1]!, `shard-${k}`))));
  const union = await store.put(bundle(0, total, 'union'));

  const t0 = Date.now();
  const handles = await Promise.all(
    shards.map((data, k) =>
      svc.client.workflow.start('incrementalRetrain', {
        taskQueue: CPU_TASK_QUEUE,
        workflowId: `load-retrain-${k}-${nonce}`,
        args: [{ store: svc.store, structure: g.structure, previous: null, data, test: null }],
      }),
    ),
  );
  const retrained = (await within(Promise.all(handles.map((h) => h.result())), 10 * 60_000, `${RETRAINS} retrains`)) as IncrementalRetrainResult[];
  const wallMs = Date.now() - t0;
  retrained.forEach((r, k) => assert.equal(r.estimator.count, sizes[k], `retrain ${k} read its shard only`));
  const ws = await timings(handles.map((h) => h.workflowId));
  assertHealthy(ws);
  report(`load: ${RETRAINS} GLAI retrains`, wallMs, ws);

  const run = <T>(wf: string, args: unknown) => within(svc.client.workflow.execute(wf, { taskQueue: CPU_TASK_QUEUE, workflowId: `load-${wf}-${nonce}`, args: [args] }) as Promise<T>, 5 * 60_000, wf);
  const [merged, single] = await Promise.all([
    run<MergeModelsResult>('mergeModels', { store: svc.store, structure: g.structure, estimators: [g.estimator, ...retrained.map((r) => r.estimator)], test: null }),
    run<IncrementalRetrainResult>('incrementalRetrain', { store: svc.store, structure: g.structure, previous: g.estimator, data: union, test: null }),
  ]);
  assert.equal(merged.merged, RETRAINS + 1);
  assert.equal(single.added, total);

  // Merging sums statistics and an update adds the union's, so A = Σφφᵀ, B = Σφyᵀ and the count must agree up to
  // float64 summation order (~1e-9 of scale, statistics.ts); W solves the same system from them (stored as float32,
  // so only its solve's conditioning separates the two).
  const m = await estimatorArrays(merged.estimator);
  const s = await estimatorArrays(single.estimator);
  const gaps = { a: maxRel(m.a, s.a), b: maxRel(m.b, s.b), w: maxRel(m.w, s.w) };
  console.log(
    `load: base (${g.estimator.count} samples) merged with ${RETRAINS} retrains (${total} samples) vs one update on their union: count ${m.count} vs ${s.count}; ` +
      `max relative difference A ${gaps.a.toExponential(2)}, B ${gaps.b.toExponential(2)}, solved W ${gaps.w.toExponential(2)}`,
  );
  assert.equal(m.count, s.count);
  assert.equal(m.count, g.estimator.count + total);
  assert.ok(gaps.a <= 1e-6 && gaps.b <= 1e-6, `merged statistics = the union update's (A ${gaps.a}, B ${gaps.b})`);
  assert.ok(gaps.w <= 1e-4, `merged solved weights = the union update's (${gaps.w})`);
});
