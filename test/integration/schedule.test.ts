/**
 * Scheduled retraining on a real dev server, MinIO and workers, synthetic data: a
 * schedule (every 1d, so nothing fires by the clock during the test) watching a
 * folder consumes each new file exactly once — through triggers, a run with no
 * new data, a backfill of several overlapping runs and a copy of consumed data —
 * and grows the estimator by exactly what arrived; a malformed file fails its run
 * and pauses the schedule; an update with wrong labels is
 * not promoted under a tight threshold (watching an S3 prefix); the CLI's
 * schedule commands print JSON and refuse bad input with exit 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { WorkflowFailedError } from '@temporalio/client';
import { useStack } from '../helpers/services.js';
import { cli, cliJson } from '../helpers/cli.js';
import { openStore } from '../../storage/open.js';
import { encodeBundle } from '../../storage/bundle.js';
import { syntheticImages } from '../../ml/data/synthetic.js';
import { scheduleStateKey, type ScheduleState } from '../../contracts/schedule-state.js';
import type { PipelineResult } from '../../contracts/types.js';
import type { ScheduleView } from '../../client/schedules.js';

const stack = useStack(['cpu', 'gpu']);

const config = {
  name: 'scheduled',
  seed: 1,
  data: { source: 'synthetic', validationSize: 300 },
  model: { hidden: [24, 12] },
  train: { epochs: 2, batchSize: 50, learningRate: 0.01 },
  glai: { enabled: true },
};

/** Fresh samples of the pipeline's distribution: `synthetic` draws 2,000 training images from seed 7; these come after them. */
const pool = syntheticImages(7, 6000, 1).train;

/** Pool rows [from, to) as an image-set bundle; `wrongLabels` shifts every label by one class. */
function bundle(from: number, to: number, wrongLabels = false): Uint8Array {
  const rows = [2000 + from, 2000 + to];
  const labels = pool.labels.slice(...rows).map((l) => (wrongLabels ? (l + 1) % 10 : l));
  return encodeBundle({
    meta: { kind: 'image-set', split: 'arrival', source: 'test', count: to - from, height: 8, width: 8, classes: 10 },
    arrays: { images: pool.images.slice(rows[0]! * 64, rows[1]! * 64), labels },
  });
}

async function state(scheduleId: string): Promise<ScheduleState> {
  const bytes = await openStore(stack.svc.store).getNamed(scheduleStateKey(scheduleId));
  assert.ok(bytes, `state of ${scheduleId} written`);
  return JSON.parse(new TextDecoder().decode(bytes)) as ScheduleState;
}

/** Polls `describe` until `done` holds (or fails after `seconds`). */
async function until(scheduleId: string, done: (v: ScheduleView) => boolean, seconds = 300): Promise<ScheduleView> {
  for (const deadline = Date.now() + seconds * 1000; ; await new Promise((r) => setTimeout(r, 500))) {
    const v = await stack.lp.schedules.describe(scheduleId);
    if (done(v)) return v;
    assert.ok(Date.now() < deadline, `schedule ${scheduleId} did not get there in ${seconds} s: ${JSON.stringify(v.temporal)}`);
  }
}

let base: PipelineResult;

test('a schedule consumes each arrival exactly once: triggers, no new data, an overlapping backfill, a copy', async () => {
  base = await (await stack.lp.startPipeline(config, { store: stack.svc.store })).handle.result();
  const start = base.glai!.estimator.count;
  const watch = await mkdtemp(join(tmpdir(), 'lightpath-watch-'));
  const created = await stack.lp.schedules.create({ scheduleId: 'nightly', from: base.runId, watch, every: '1d', promoteThreshold: 0.05, store: stack.svc.store });
  assert.equal(created.every, '1d');
  assert.equal(created.overlap, 'skip');
  assert.equal(created.pauseOnFailure, true);
  assert.equal(created.state, null);
  assert.equal(created.settings.start.count, start);

  await writeFile(join(watch, 'a.lpb'), bundle(0, 300));
  await writeFile(join(watch, 'notes.txt'), 'not data');
  await writeFile(join(watch, '.b.lpb.partial'), bundle(300, 310));
  const first = (await stack.lp.schedules.trigger('nightly', { wait: true })).run!;
  assert.equal(first.outcome, 'promoted', JSON.stringify(first));
  assert.deepEqual(first.objects, ['a.lpb']);
  assert.equal(first.added, 300);
  assert.equal(first.candidate!.estimator.count, start + 300);
  assert.equal(first.previous.accuracy, base.glai!.estimatorAccuracy);

  const idle = (await stack.lp.schedules.trigger('nightly', { wait: true })).run!;
  assert.equal(idle.outcome, 'no-new-data');
  assert.deepEqual(idle.objects, []);
  assert.equal(idle.previous.estimator.count, start + 300);

  await writeFile(join(watch, 'b.lpb'), bundle(300, 500));
  await mkdir(join(watch, 'later'));
  await writeFile(join(watch, 'later', 'c.lpb'), bundle(500, 750));
  const before = (await stack.lp.schedules.describe('nightly')).temporal.actionsTaken;
  const now = Date.now();
  await stack.lp.schedules.backfill('nightly', { start: new Date(now - 3 * 86_400_000 - 3_600_000), end: new Date(now - 60_000), overlap: 'allow-all' });
  const after = await until('nightly', (v) => v.temporal.actionsTaken >= before + 3 && v.temporal.running.length === 0 && v.state?.generation === 5);
  assert.equal(after.temporal.actionsTaken, before + 3, 'three midnights in the window: three runs');

  const s = await state('nightly');
  const backfilled = s.runs.slice(2);
  assert.equal(new Set(backfilled.map((r) => r.run)).size, 3, 'three distinct runs, each recorded once');
  assert.deepEqual(backfilled.map((r) => r.outcome).sort(), ['no-new-data', 'no-new-data', 'promoted']);
  assert.deepEqual(
    s.consumed.map((c) => c.name),
    ['a.lpb', 'b.lpb', 'later/c.lpb'],
    'each arrival consumed exactly once',
  );
  assert.deepEqual(
    s.consumed.map((c) => c.samples),
    [300, 200, 250],
  );
  assert.equal(s.current.estimator.count, start + 300 + 200 + 250);
  assert.equal(after.state!.consumed, 3);
  assert.equal(after.state!.current.estimator.count, start + 750);
  const waited = [];
  for await (const w of stack.lp.client.workflow.list({ query: `WorkflowType = 'scheduledRetrain' AND TemporalScheduledById = 'nightly'` })) {
    const events = (await stack.lp.client.workflow.getHandle(w.workflowId).fetchHistory()).events ?? [];
    if (events.some((e) => e.startChildWorkflowExecutionFailedEventAttributes)) waited.push(w.workflowId);
  }
  assert.ok(waited.length >= 1, 'backfilled runs overlapped, and one waited for the round of another');

  await copyFile(join(watch, 'a.lpb'), join(watch, 'a-again.lpb'));
  const copy = (await stack.lp.schedules.trigger('nightly', { wait: true })).run!;
  assert.equal(copy.outcome, 'no-new-data');
  assert.deepEqual(copy.objects, ['a-again.lpb']);
  const last = (await state('nightly')).consumed.at(-1)!;
  assert.equal(last.duplicateOf, 'a.lpb');
  assert.equal(last.samples, 0);
  assert.equal((await state('nightly')).current.estimator.count, start + 750, 'a copy of consumed data is not used twice');
});

test('a malformed arrival fails its run and pauses the schedule; without it, the schedule goes on', async () => {
  const watch = (await stack.lp.schedules.describe('nightly')).settings.watch;
  await writeFile(join(watch, 'broken.lpb'), 'not a bundle');
  const failed = await stack.lp.schedules.trigger('nightly', { overlap: 'skip', wait: true }).then(
    () => null,
    (e: Error) => e,
  );
  assert.ok(failed instanceof WorkflowFailedError);
  let cause: Error = failed;
  while (cause.cause instanceof Error) cause = cause.cause;
  assert.match(cause.message, /broken\.lpb is not a lightpath tensor bundle/);
  const paused = await until('nightly', (v) => v.paused, 60);
  assert.equal((await state('nightly')).consumed.length, 4, 'a failed run records nothing');
  assert.ok(paused.note);
  await rm(join(watch, 'broken.lpb'));
  await stack.lp.schedules.unpause('nightly');
  assert.equal((await stack.lp.schedules.describe('nightly')).paused, false);
  assert.equal((await stack.lp.schedules.trigger('nightly', { wait: true })).run!.outcome, 'no-new-data');
});

test('an update with wrong labels is not promoted under a tight threshold (watching an S3 prefix); its data stays consumed', async () => {
  const start = base.glai!.estimator;
  const { bucket } = stack.svc.minio;
  await stack.lp.schedules.create({ scheduleId: 'strict', from: base.runId, watch: `s3://${bucket}/incoming/strict`, every: '1d', promoteThreshold: 0.001, store: stack.svc.store });
  await stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'incoming/strict/wrong.lpb', Body: bundle(1000, 3000, true) }));
  await stack.svc.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'incoming/strictly-elsewhere/x.lpb', Body: bundle(0, 10) }));
  const r = (await stack.lp.schedules.trigger('strict', { wait: true })).run!;
  assert.equal(r.outcome, 'rejected', JSON.stringify(r));
  assert.equal(r.candidate!.estimator.count, start.count + 2000, 'the update read the S3 object');
  assert.ok(r.candidate!.accuracy < r.previous.accuracy - 0.001, `wrong labels cost accuracy: ${r.previous.accuracy} → ${r.candidate!.accuracy}`);
  const s = await state('strict');
  assert.deepEqual(s.current.estimator, start, 'the current estimator stays');
  assert.equal(s.runs[0]!.outcome, 'rejected');
  assert.deepEqual(
    s.consumed.map((c) => [c.name, c.uri]),
    [['wrong.lpb', `s3://${bucket}/incoming/strict/wrong.lpb`]],
  );
  assert.match(s.consumed[0]!.version, /^[0-9a-f-]+$/, 'the ETag is the version');
  assert.equal((await stack.lp.schedules.trigger('strict', { wait: true })).run!.outcome, 'no-new-data');
});

test('CLI: schedule list/describe/pause/trigger/delete with --json; bad input exits 2 with one line', async () => {
  const json = (...args: string[]) => cliJson('schedule', ...args);
  const described = (await json('describe', 'nightly')) as unknown as ScheduleView;
  assert.equal(described.scheduleId, 'nightly');
  assert.equal(described.state!.consumed, 4);
  assert.ok(described.state!.recentRuns.some((r) => r.objects.includes('a-again.lpb')));
  const text = (await cli(['schedule', 'describe', 'nightly'])).stdout;
  assert.match(text, new RegExp(`current estimator \\S+ \\(${described.state!.current.estimator.count} samples\\), test accuracy \\d+\\.\\d+ %`));
  assert.match(text, /promoted +lightpath-scheduled-retrain-nightly-\S+ +\+300 samples from 1 object\(s\): a\.lpb; test accuracy/);
  const listed = async () => ((await json('list')) as unknown as { scheduleId: string }[]).map((s) => s.scheduleId).join();
  for (const deadline = Date.now() + 60_000; (await listed()) !== 'nightly,strict'; await new Promise((r) => setTimeout(r, 500))) {
    assert.ok(Date.now() < deadline, 'list shows both schedules');
  }
  assert.deepEqual(await json('pause', 'strict', '--note', 'investigating'), { scheduleId: 'strict', paused: true });
  const paused = (await json('describe', 'strict')) as unknown as ScheduleView;
  assert.equal(paused.paused, true);
  assert.equal(paused.note, 'investigating');
  const triggered = await json('trigger', 'strict');
  assert.equal((triggered.run as { outcome: string }).outcome, 'no-new-data', 'a paused schedule still runs when triggered');
  assert.deepEqual(await json('delete', 'strict'), { scheduleId: 'strict', deleted: true });

  const bad = async (args: string[], message: RegExp) => {
    const e = await cli(['schedule', ...args]);
    assert.equal(e.status, 2, `${args.join(' ')} exits 2`);
    const errors = e.stderr.split('\n').filter((l) => l.startsWith('error'));
    assert.equal(errors.length, 1, `one line: ${e.stderr}`);
    assert.match(errors[0]!, message);
  };
  await bad(['describe', 'strict'], /no schedule strict/);
  await bad(['create', 'x', '--from', base.runId, '--watch', '/nonexistent/incoming', '--every', '1d'], /watch location \/nonexistent\/incoming: no such folder/);
  await bad(['create', 'x', '--from', base.runId, '--watch', tmpdir(), '--every', '3 days'], /every: "3 days" is not a duration/);
  await bad(['create', 'x', '--from', base.runId, '--watch', tmpdir(), '--cron', '0 3 * *'], /cron: "0 3 \* \*" is not a cron expression/);
  await bad(['create', 'x', '--from', base.runId, '--watch', tmpdir(), '--cron', '0 25 * * *'], /cron: /);
  await bad(['create', 'x', '--from', base.runId, '--watch', 'ftp://host/dir', '--every', '1d'], /only folders and s3:\/\/ prefixes/);
  await bad(['create', 'nightly', '--from', base.runId, '--watch', tmpdir(), '--every', '1d'], /schedule nightly already exists/);
});
