/**
 * Entry point of a training thread: selects the backend inside the thread (the
 * host's forced one, if any), trains the job's model and streams epoch metrics
 * and checkpoints to the host. A sharded split's shards are asked of the host one
 * at a time (`load` messages), so the thread holds only the shards it trains on.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/select.js';
import { modelFromParts, modelToParts } from '../models/io.js';
import { trainClassifier, TrainingStopped } from './trainer.js';
import { rawSplitToData, rawSplitToPart, type HostMessage, type RawSplit, type ThreadMessage, type ThreadSplit, type TrainJob } from './thread-protocol.js';
import type { SplitData } from './data.js';

const post = (m: ThreadMessage) => parentPort!.postMessage(m);

/** Shard requests awaiting the host's answer, by id. */
const waiting = new Map<number, { resolve: (s: RawSplit) => void; reject: (e: Error) => void }>();
let nextId = 0;

parentPort!.on('message', (m: HostMessage) => {
  const w = waiting.get(m.id);
  if (!w) return;
  waiting.delete(m.id);
  if (m.type === 'shard') w.resolve(m.split);
  else w.reject(Object.assign(new Error(m.message), { name: m.name, nonRetryable: m.nonRetryable }));
});

/** Asks the host for shard `shard` of `split`. */
function requestShard(split: 'train' | 'val', shard: number): Promise<RawSplit> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    post({ type: 'load', id, split, shard });
  });
}

/** A split as training data: whole in memory, or read shard by shard through the host. */
function splitData(s: ThreadSplit, split: 'train' | 'val'): SplitData {
  if (!('shardCounts' in s)) return rawSplitToData(s);
  return { ...s, load: async (i) => rawSplitToPart(await requestShard(split, i)) };
}

async function main(job: TrainJob): Promise<void> {
  post({ type: 'backend', backend: await selectBackend(job.backend, job.gpu) });
  const stop = new Int32Array(job.stopFlag);
  const model = await modelFromParts(job.model);
  let lastBatchPost = 0;
  const final = await trainClassifier(model, splitData(job.train, 'train'), job.val ? splitData(job.val, 'val') : null, job.options, {
    resumeFrom: job.resumeFrom ?? undefined,
    untilEpoch: job.untilEpoch ?? undefined,
    shouldStop: () => Atomics.load(stop, 0) === 1,
    onBatch: (epoch, batch, batches) => {
      const now = Date.now();
      if (now - lastBatchPost > 1000 || batch === batches) {
        lastBatchPost = now;
        post({ type: 'batch', epoch, batch, batches });
      }
    },
    onEpoch: (metrics, checkpoint) => post({ type: 'epoch', metrics, checkpoint }),
  });
  post({ type: 'done', checkpoint: final, model: await modelToParts(model) });
}

main(workerData as TrainJob).catch((e: Error & { nonRetryable?: boolean }) => {
  post({ type: 'error', name: e.name, message: e.message, nonRetryable: e.nonRetryable === true, stopped: e instanceof TrainingStopped });
});
