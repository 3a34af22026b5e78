/**
 * Schedules watching a folder for new files of the kind their run was trained on, on a
 * real dev server, MinIO and workers: a CSV-trained run's schedule takes a new CSV file
 * (read with the run's columns, categories and standardisation) exactly once and refuses
 * one of another schema naming the difference; an image-folder run's schedule takes new
 * images in class folders exactly once, resized to the run's image size.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack } from '../helpers/services.js';
import { imageFolder, put, tableRows } from '../helpers/data-files.js';
import { openStore } from '../../storage/open.js';
import { scheduleStateKey, type ScheduleState } from '../../contracts/schedule-state.js';

const stack = useStack(['cpu', 'gpu']);

async function state(scheduleId: string): Promise<ScheduleState> {
  const bytes = await openStore(stack.svc.store).getNamed(scheduleStateKey(scheduleId));
  assert.ok(bytes, `state of ${scheduleId} written`);
  return JSON.parse(new TextDecoder().decode(bytes)) as ScheduleState;
}

const rootCause = (e: unknown): Error => {
  let cause = e as Error;
  while (cause.cause instanceof Error) cause = cause.cause;
  return cause;
};

test('a schedule of a CSV-trained run consumes a new CSV file once and refuses one of another schema', { timeout: 600_000 }, async () => {
  const data = await mkdtemp(join(tmpdir(), 'lp-sched-csv-'));
  const { handle } = await stack.lp.startPipeline(
    { name: 'sched-csv', data: { source: put(data, 'churn.csv', tableRows(300).csv) }, model: { hidden: [16] }, train: { epochs: 2, batchSize: 32, learningRate: 0.01 }, glai: { enabled: true } },
    { store: stack.svc.store },
  );
  const base = await handle.result();
  const start = base.glai!.estimator.count;
  const watch = await mkdtemp(join(tmpdir(), 'lp-watch-csv-'));
  await stack.lp.schedules.create({ scheduleId: 'csv-arrivals', from: base.runId, watch, every: '1d', promoteThreshold: 0.2, store: stack.svc.store });

  put(watch, 'day1/new.csv', tableRows(90, 5).csv);
  put(watch, 'readme.txt', 'not data');
  const first = (await stack.lp.schedules.trigger('csv-arrivals', { wait: true })).run!;
  assert.notEqual(first.outcome, 'no-new-data', JSON.stringify(first));
  assert.deepEqual(first.objects, ['day1/new.csv']);
  assert.equal(first.added, 90);
  assert.equal(first.candidate!.estimator.count, start + 90);
  assert.ok(first.candidate!.accuracy > 0.7, `estimator accuracy with the new rows ${first.candidate!.accuracy}`);
  const again = (await stack.lp.schedules.trigger('csv-arrivals', { wait: true })).run!;
  assert.equal(again.outcome, 'no-new-data', 'consumed once');

  put(watch, 'day2/other.csv', 'f0,f1,size,label\n1,2,3,a\n');
  const failed = await stack.lp.schedules.trigger('csv-arrivals', { overlap: 'skip', wait: true }).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(failed instanceof WorkflowFailedError, 'a file of another schema fails its run');
  assert.match(rootCause(failed).message, /day2\/other\.csv: columns differ from the run's: missing colour; extra size/);
  const s = await state('csv-arrivals');
  assert.deepEqual(
    s.consumed.map((c) => [c.name, c.samples]),
    [['day1/new.csv', 90]],
    'the refused file is not consumed',
  );
  await rm(watch, { recursive: true });
});

test('a schedule of an image-folder run consumes new images in class folders once, resized to the run’s size', { timeout: 600_000 }, async () => {
  const data = await mkdtemp(join(tmpdir(), 'lp-sched-img-'));
  await imageFolder(data, ['left', 'middle', 'right'], 30, [[12, 12]]);
  const { handle } = await stack.lp.startPipeline(
    { name: 'sched-img', data: { source: data }, model: { hidden: [16] }, train: { epochs: 2, batchSize: 16, learningRate: 0.01 }, glai: { enabled: true } },
    { store: stack.svc.store },
  );
  const base = await handle.result();
  const start = base.glai!.estimator.count;
  const watch = await mkdtemp(join(tmpdir(), 'lp-watch-img-'));
  await stack.lp.schedules.create({ scheduleId: 'image-arrivals', from: base.runId, watch, every: '1d', promoteThreshold: 0.2, store: stack.svc.store });

  // Two classes of new images, of another size (resized to 12×12), below a batch folder.
  await imageFolder(join(watch, 'batch-1'), ['left', 'right'], 4, [[16, 14]]);
  const first = (await stack.lp.schedules.trigger('image-arrivals', { wait: true })).run!;
  assert.notEqual(first.outcome, 'no-new-data', JSON.stringify(first));
  assert.equal(first.objects.length, 8);
  assert.ok(
    first.objects.every((o) => /^batch-1\/(left|right)\/\d{4}\.png$/.test(o)),
    first.objects.join(),
  );
  assert.equal(first.added, 8);
  assert.equal(first.candidate!.estimator.count, start + 8);

  await imageFolder(watch, ['middle'], 3, [[12, 12]], 1, 'batch-2/');
  const second = (await stack.lp.schedules.trigger('image-arrivals', { wait: true })).run!;
  assert.deepEqual(second.objects, ['batch-2/middle/0000.png', 'batch-2/middle/0001.png', 'batch-2/middle/0002.png']);
  assert.equal(second.added, 3);
  assert.equal((await stack.lp.schedules.trigger('image-arrivals', { wait: true })).run!.outcome, 'no-new-data');
  const s = await state('image-arrivals');
  assert.equal(s.consumed.length, 11);
  assert.equal(new Set(s.consumed.map((c) => c.uri)).size, 11, 'each image consumed exactly once');
  assert.ok(s.consumed.every((c) => c.samples === 1));
  assert.equal(s.current.estimator.count, start + 11);
  await rm(watch, { recursive: true });
});
