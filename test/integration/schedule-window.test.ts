/**
 * Sliding-window scheduled retraining on a real dev server, MinIO and workers,
 * synthetic data: a schedule keeping the last 2 arrivals, after 4 rounds of one
 * arrival each, holds exactly a fresh fit on the last 2 arrivals (statistics to
 * 1e-9, weights solved the schedule's way to 1e-4) — the
 * pipeline's training data and the first two arrivals have no influence left —
 * and its state records which contributions are in the window and what each
 * round subtracted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { useStack } from '../helpers/services.js';
import { cliJson } from '../helpers/cli.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { decodeBundle, encodeBundle, type Bundle } from '../../storage/bundle.js';
import { solveLike, statsOf } from '../../activities/contributions.js';
import { statisticsDifference } from '../../ml/glai/contributions.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import { scheduleStateKey, type ScheduleState } from '../../contracts/schedule-state.js';
import type { EstimatorRef, GlaiOutcome, PipelineResult } from '../../contracts/types.js';
import type { ScheduleView } from '../../client/schedules.js';

const stack = useStack(['cpu', 'gpu']);

const config = {
  name: 'windowed',
  seed: 1,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  glai: { enabled: true },
};

/** Fresh samples of the pipeline's distribution (its `synthetic` training set is the first 2,000 of seed 7). */
const pool = syntheticImages(7, 6000, 1).train;
const ARRIVAL = 600;

/** Arrivals [first, last) (ARRIVAL samples each) as one image-set bundle. */
function arrivals(first: number, last: number): Uint8Array {
  const [from, to] = [2000 + first * ARRIVAL, 2000 + last * ARRIVAL];
  return encodeBundle({
    meta: { kind: 'image-set', split: 'arrival', source: 'test', count: to - from, height: 8, width: 8, classes: 10 },
    arrays: { images: pool.images.slice(from * 64, to * 64), labels: pool.labels.slice(from, to) },
  });
}

async function bundleOf(e: EstimatorRef): Promise<Bundle> {
  return decodeBundle(await storeForUri(e.ref.uri).get(e.ref), e.ref.uri);
}

function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let s = 0;
  a.forEach((v, i) => ((d = Math.max(d, Math.abs(v - b[i]!))), (s = Math.max(s, Math.abs(b[i]!)))));
  return d / s;
}

test('a window of 2 arrivals after 4 rounds equals a fresh fit on the last 2 arrivals; older data has no influence', async () => {
  const base: PipelineResult = await (await stack.lp.startPipeline(config, { store: stack.svc.store })).handle.result();
  const watch = await mkdtemp(join(tmpdir(), 'lightpath-window-'));
  const created = await cliJson<ScheduleView>(
    'schedule',
    'create',
    'windowed',
    '--from',
    base.runId,
    '--watch',
    watch,
    '--every',
    '1d',
    '--promote-threshold',
    '0.99',
    '--window-arrivals',
    '2',
    '--store',
    stack.svc.store,
  );
  assert.deepEqual(created.settings.window, { arrivals: 2 });
  const rounds = [];
  for (let k = 0; k < 4; k++) {
    await writeFile(join(watch, `arrival-${k}.lpb`), arrivals(k, k + 1));
    const r = (await stack.lp.schedules.trigger('windowed', { wait: true })).run!;
    assert.equal(r.outcome, 'promoted', JSON.stringify(r));
    rounds.push(r);
  }
  // Round 1 keeps [pipeline, a0]; round 2 drops the pipeline's training data; rounds 3 and 4 drop a0, then a1.
  assert.deepEqual(
    rounds.map((r) => r.expired?.length ?? 0),
    [0, 1, 1, 1],
  );
  assert.deepEqual(
    rounds.map((r) => r.candidate!.estimator.count),
    [base.glai!.estimator.count + ARRIVAL, 2 * ARRIVAL, 2 * ARRIVAL, 2 * ARRIVAL],
  );
  assert.equal(rounds[1]!.expired![0]!.count, base.glai!.estimator.count, "the pipeline's training data left the window first");

  const state = JSON.parse(new TextDecoder().decode((await openStore(stack.svc.store).getNamed(scheduleStateKey('windowed')))!)) as ScheduleState;
  const inWindow = state.window!;
  assert.deepEqual(
    inWindow.map((c) => c.count),
    [ARRIVAL, ARRIVAL],
  );
  assert.deepEqual(
    inWindow.map((c) => c.source),
    rounds.slice(2).map((r) => `schedule windowed run ${r.run}`),
  );

  const windowed = await bundleOf(state.current.estimator);
  const { spec } = windowed.meta as { spec: { valueLayer: number; gateLayer: number; gateLayers?: number[] } };
  const fresh = (await stack.lp.client.workflow.execute('incrementalRetrain', {
    taskQueue: 'lightpath',
    workflowId: `fresh-${Math.random().toString(36).slice(2)}`,
    args: [{ store: stack.svc.store, structure: base.glai!.structure, features: spec, data: await openStore(stack.svc.store).put(arrivals(2, 4)) }],
  })) as GlaiOutcome;
  const refit = await bundleOf(fresh.estimator);
  const statsGap = statisticsDifference(statsOf(windowed), statsOf(refit));
  assert.ok(statsGap <= 1e-9, `the window's statistics = those of a fresh pass over the last 2 arrivals (gap ${statsGap})`);
  // Solved the way the schedule's estimator is (the pipeline's validation statistics choose λ, toward its selector).
  const gap = maxRel(windowed.arrays.w as Float32Array, Float32Array.from(solveLike(windowed, statsOf(refit)).w));
  assert.ok(gap <= 1e-4, `the window's estimator = a fresh fit on the last 2 arrivals (gap ${gap})`);
});
