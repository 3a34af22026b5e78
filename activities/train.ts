/**
 * The training activity: trains in a worker thread (ml/train/run-in-thread.ts),
 * stores a checkpoint after every epoch and heartbeats `{ epoch, checkpoint,
 * metrics }`; a retried attempt reads the last heartbeat and continues from that
 * checkpoint instead of from zero (see `lastCheckpoint`). Live progress goes to the workflow by signal.
 */
import { Context, getClient } from '@temporalio/activity';
import { trainInThread } from '../ml/train/run-in-thread.js';
import { backendLabel } from '../ml/backend/select.js';
import type { TrainCheckpoint, TrainOptions } from '../ml/train/trainer.js';
import { openStore } from '../storage/open.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { trainingProgressSignal } from '../contracts/signals.js';
import type { TrainHeartbeat, TrainInput, TrainResult, TrainingProgress } from '../contracts/types.js';
import { readCheckpoint, readModel, writeCheckpoint, writeModel } from './artifacts.js';
import { hostSplit } from './splits.js';

const PROGRESS_SIGNAL_INTERVAL_MS = 15_000;

function trainOptions(input: TrainInput): TrainOptions {
  const t = input.train;
  const batchesPerEpoch = Math.ceil(input.data.counts.train / t.batchSize);
  return {
    epochs: t.epochs,
    batchSize: t.batchSize,
    learningRate: t.learningRate,
    schedule: { kind: t.schedule, warmupSteps: Math.round(t.warmupEpochs * batchesPerEpoch) },
    optimizer: { name: t.optimizer, weightDecay: t.weightDecay, weightDecayMode: t.weightDecayMode, momentum: t.momentum },
    seed: input.seed,
    oui: input.oui,
    stability: input.stability,
    augment: t.augment && (t.augment.pad > 0 || t.augment.flip) ? t.augment : null,
  };
}

/**
 * The newest checkpoint of earlier attempts. Heartbeats are throttled by the SDK,
 * so the server may hold an older one than the attempt wrote when its worker died;
 * every checkpoint is therefore also recorded under `latestKey` in the store, and
 * the newer of the two wins.
 */
async function lastCheckpoint(heartbeat: TrainHeartbeat | undefined, store: ArtifactStore, latestKey: string): Promise<TrainHeartbeat | undefined> {
  const bytes = await store.getNamed(latestKey);
  const stored = bytes ? (JSON.parse(new TextDecoder().decode(bytes)) as TrainHeartbeat) : undefined;
  if (!stored) return heartbeat;
  if (!heartbeat) return stored;
  return stored.epoch > heartbeat.epoch ? stored : heartbeat;
}

/** Trains the initial model on the prepared data; resumes from the last heartbeated checkpoint on retry. */
export async function trainModel(input: TrainInput): Promise<TrainResult> {
  const ctx = Context.current();
  const info = ctx.info;
  const store = openStore(input.store);
  const latestKey = `runs/${input.runId}/train/${info.activityId}/latest-checkpoint.json`;
  // Heartbeat from the start (keeping the previous attempt's details): reading the inputs may wait out a store outage.
  let last: TrainHeartbeat = (info.heartbeatDetails as TrainHeartbeat | undefined) ?? { epoch: 0, checkpoint: null, metrics: null };
  ctx.heartbeat(last);
  const beatEvery = Math.max(1000, Math.min(10_000, (info.heartbeatTimeoutMs ?? 30_000) / 3));
  const beat = setInterval(() => ctx.heartbeat(last), beatEvery);
  try {
    return await train(
      input,
      store,
      latestKey,
      () => last,
      (l) => (last = l),
    );
  } finally {
    clearInterval(beat);
  }
}

/** One training attempt: reads its inputs and the newest checkpoint, trains in a thread, checkpointing every epoch; `setLast` updates what the heartbeat reports. */
async function train(input: TrainInput, store: ArtifactStore, latestKey: string, getLast: () => TrainHeartbeat, setLast: (l: TrainHeartbeat) => void): Promise<TrainResult> {
  const ctx = Context.current();
  const info = ctx.info;
  const previous = await lastCheckpoint(info.heartbeatDetails as TrainHeartbeat | undefined, store, latestKey);
  const startRef = previous?.checkpoint ?? input.from ?? null;
  const resumeFrom: TrainCheckpoint | null = startRef ? await readCheckpoint(startRef) : null;
  const [model, train, val] = await Promise.all([readModel(input.initial), hostSplit(input.data.train), input.data.val ? hostSplit(input.data.val) : Promise.resolve(null)]);
  if (previous && previous.epoch > getLast().epoch) setLast(previous);
  ctx.heartbeat(getLast());

  const wf = info.workflowExecution!;
  const workflow = getClient().workflow.getHandle(wf.workflowId, wf.runId);
  let lastSignal = 0;
  const tell = (p: TrainingProgress, force: boolean) => {
    const now = Date.now();
    if (!force && now - lastSignal < PROGRESS_SIGNAL_INTERVAL_MS) return;
    lastSignal = now;
    workflow.signal(trainingProgressSignal, p).catch(() => undefined);
  };

  let backend = '';
  const out = await trainInThread(
    { model, train, val, options: trainOptions(input), resumeFrom, untilEpoch: input.untilEpoch ?? null },
    {
      signal: ctx.cancellationSignal,
      onBackend: (b) => {
        backend = backendLabel(b);
        tell({ tag: input.tag, epoch: resumeFrom?.epoch ?? 0, backend }, true);
      },
      onBatch: (epoch, batch, batches) => tell({ tag: input.tag, epoch: epoch - 1, batch, batches }, false),
      onEpoch: async (metrics, checkpoint) => {
        const ref = await writeCheckpoint(store, checkpoint);
        const last = { epoch: metrics.epoch, checkpoint: ref, metrics };
        setLast(last);
        await store.putNamed(latestKey, new TextEncoder().encode(JSON.stringify({ ...last, stageKey: input.stageKey })));
        ctx.heartbeat(last);
        tell({ tag: input.tag, epoch: metrics.epoch, metrics }, true);
      },
    },
  );
  const finalCheckpoint = await writeCheckpoint(store, out.checkpoint);
  return {
    model: await writeModel(store, out.model),
    checkpoint: finalCheckpoint,
    history: out.checkpoint.history,
    backend,
    resumedFromEpoch: resumeFrom?.epoch ?? 0,
    attempt: info.attempt,
  };
}
