/**
 * Repeated worker death: one 8-epoch training whose gpu-role worker process is
 * SIGKILLed 5 times at seeded random points — mid-epoch, and right as a checkpoint
 * is being written (the kill fires the moment MinIO files the new checkpoint blob,
 * before the worker has recorded it) — and restarted each time. The run completes
 * and its final weights.bin is bit-identical (SHA-256) to an uninterrupted run of the
 * same config and seed; the epochs recomputed are reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { watch, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { useFaultStack, waitUntil, sleep, within, progress } from '../helpers/faults.js';
import { openStore, storeForUri } from '../../storage/open.js';
import { decodeBundle } from '../../storage/bundle.js';
import { Rng } from '../../ml/rng.js';
import type { PipelineResult, TrainHeartbeat } from '../../contracts/types.js';

/** PENDING_ACTIVITY_STATE_STARTED: a worker is running the attempt. */
const STARTED = 2;

const stack = useFaultStack();
const EPOCHS = 8;
const KILLS = 5;
const SEED = 12;

const config = (name: string) => ({
  name,
  seed: 3,
  data: { source: 'fashion-mnist', validationSize: 1000, trainLimit: 6000 },
  model: { hidden: [128, 64] },
  train: { epochs: EPOCHS, batchSize: 32 },
  execution: { heartbeatTimeoutSeconds: 5, maxTrainAttempts: KILLS + 3 },
});

/** The newest checkpoint epoch the run's training recorded in the store (what a retry resumes from). */
async function storedEpoch(store: string, runId: string): Promise<number> {
  const s = openStore(store);
  let best = 0;
  for await (const o of s.list(`runs/${runId}/train/`)) {
    if (!o.uri.endsWith('/latest-checkpoint.json')) continue;
    const bytes = await s.getNamed(o.uri.slice(s.root.length));
    if (bytes) best = Math.max(best, (JSON.parse(new TextDecoder().decode(bytes)) as TrainHeartbeat).epoch);
  }
  return best;
}

async function sha256Of(ref: { uri: string; sha256: string; bytes: number }): Promise<string> {
  return createHash('sha256')
    .update(await storeForUri(ref.uri).get(ref))
    .digest('hex');
}

test('a training worker SIGKILLed 5 times (mid-epoch and mid-checkpoint write) still finishes with bit-identical weights', async () => {
  const t0 = Date.now();
  const cpu = stack.worker(['--role', 'cpu']);
  const gpu = stack.worker(['--role', 'gpu', '--allow-cpu']);
  await Promise.all([cpu.ready(), gpu.ready()]);

  // The uninterrupted run (its own store prefix, so the faulty run writes every checkpoint blob afresh).
  const baseStore = stack.storeAt('uninterrupted');
  const base = await stack.lp.startPipeline(config('uninterrupted'), { store: baseStore });
  const epochSeen = new Map<number, number>();
  const baseDone = base.handle.result();
  while (!(await Promise.race([baseDone.then(() => true), sleep(200).then(() => false)]))) {
    const p = await progress(stack.lp, base.runId);
    if (p?.stage === 'train' && !epochSeen.has(p.epoch)) epochSeen.set(p.epoch, Date.now());
  }
  const baseline: PipelineResult = await baseDone;
  const firstSeen = Math.min(...[...epochSeen.keys()].filter((e) => e >= 1));
  const epochMs = (epochSeen.get(EPOCHS - 1)! - epochSeen.get(firstSeen)!) / (EPOCHS - 1 - firstSeen);
  assert.ok(epochMs > 0, `epoch time measured: ${epochMs} ms`);
  console.log(`uninterrupted run ${base.runId}: ${EPOCHS} epochs, ${(epochMs / 1000).toFixed(2)} s per epoch, weights.bin ${baseline.model.weights.sha256}`);

  // The faulty run.
  const store = stack.storeAt('killed');
  const run = await stack.lp.startPipeline(config('killed'), { store });
  const rng = Rng.fromSeed(SEED);
  const kinds = rng.shuffle(['checkpoint', 'checkpoint', 'mid-epoch', 'mid-epoch', 'mid-epoch']);
  const blobsDir = join(stack.minio.dataDir, stack.minio.bucket, 'killed', 'blobs', 'sha256');
  const kills: { kind: string; at: number; completed: number; resumedFrom: number; blob: string | null }[] = [];
  const deadline = 600_000;
  for (const kind of kinds) {
    // Aim at a running training attempt (the restarted worker has picked the activity up).
    const attempt = kills.length + 1;
    await waitUntil(
      `training attempt ${attempt} running`,
      async () => {
        const d = await run.handle.describe().catch(() => null);
        return d?.raw.pendingActivities?.some((a) => a.activityType?.name === 'trainModel' && a.attempt === attempt && (a.state as unknown) === STARTED);
      },
      deadline,
    );
    // Each attempt first reaches a new epoch of its own, so the run always moves on between kills.
    const from = await storedEpoch(store, run.runId);
    let blob: string | null = null;
    let blobEpoch = 0;
    if (kind === 'checkpoint') {
      mkdirSync(blobsDir, { recursive: true });
      let watcher: ReturnType<typeof watch> | undefined;
      const fired = new Promise<string>((resolve) => {
        const w = (watcher = watch(blobsDir, (_event, name) => {
          if (!name || name.startsWith('.')) return;
          // Kill first, at once: the worker has just sent this checkpoint and not yet recorded it.
          gpu.current.proc.kill('SIGKILL');
          try {
            process.kill(-gpu.current.proc.pid!, 'SIGKILL');
          } catch {
            /* gone */
          }
          w.close();
          resolve(name);
        }));
      });
      try {
        blob = await within('a new checkpoint blob appearing', fired, deadline);
      } finally {
        watcher?.close();
      }
      await gpu.kill();
      const s = openStore(store);
      const bundle = decodeBundle(await s.get({ uri: `${s.root}blobs/sha256/${blob}`, sha256: blob, bytes: 0 }), blob);
      blobEpoch = (bundle.meta as { epoch: number }).epoch;
    } else {
      await waitUntil(`a new epoch after ${from}`, async () => (await storedEpoch(store, run.runId)) > from, deadline);
      await sleep(Math.round((0.2 + 0.6 * rng.next()) * epochMs));
      await gpu.kill();
    }
    const resumedFrom = await storedEpoch(store, run.runId);
    kills.push({ kind, at: Date.now() - t0, completed: Math.max(blobEpoch, resumedFrom), resumedFrom, blob });
    console.log(
      `kill ${kills.length} (${kind}): epochs completed ${Math.max(blobEpoch, resumedFrom)}, recorded checkpoint epoch ${resumedFrom}${blob ? ` (checkpoint blob of epoch ${blobEpoch} filed, then killed)` : ''}`,
    );
    gpu.restart();
  }
  const result = await run.handle.result();
  assert.deepEqual(
    result.history.map((h) => h.epoch),
    Array.from({ length: EPOCHS }, (_, i) => i + 1),
  );

  const history = await run.handle.fetchHistory();
  const scheduledTrain = history.events!.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainModel')!;
  const trainStarts = history.events!.filter((e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduledTrain.eventId!.toString());
  const attempts = trainStarts.map((e) => e.activityTaskStartedEventAttributes!.attempt!);
  assert.equal(Math.max(...attempts), KILLS + 1, `the training ran ${KILLS + 1} attempts (history: ${attempts})`);
  assert.ok(kills.some((k) => k.kind === 'checkpoint') && kills.some((k) => k.kind === 'mid-epoch'));

  const [killedSha, baseSha] = await Promise.all([sha256Of(result.model.weights), sha256Of(baseline.model.weights)]);
  assert.equal(killedSha, result.model.weights.sha256);
  assert.equal(killedSha, baseSha, 'weights.bin after 5 kills is bit-identical to the uninterrupted run');

  // Full epochs recomputed: those an attempt had completed beyond the checkpoint the next attempt resumed from.
  const recomputed = kills.reduce((n, k) => n + (k.completed - k.resumedFrom), 0);
  const partial = kills.filter((k) => k.kind === 'mid-epoch').length;
  console.log(
    `worker-death: ${KILLS} SIGKILLs (${kinds.join(', ')}), ${Math.max(...attempts)} attempts, final attempt resumed from epoch ${result.resumedFromEpoch}; ` +
      `full epochs recomputed: ${recomputed} (+ ${partial} partial epochs discarded by mid-epoch kills); ` +
      `weights.bin sha256 ${killedSha} ${killedSha === baseSha ? '==' : '!='} uninterrupted ${baseSha}; wall ${((Date.now() - t0) / 1000).toFixed(0)} s`,
  );
});
