/**
 * Entry point of a training thread: selects the backend inside the thread (the
 * host's forced one, if any), trains the job's model and streams epoch metrics
 * and checkpoints to the host.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { selectBackend } from '../backend/select.js';
import { modelFromParts, modelToParts } from '../models/io.js';
import { trainClassifier, TrainingStopped } from './trainer.js';
import { rawSplitToData, type ThreadMessage, type TrainJob } from './thread-protocol.js';

const post = (m: ThreadMessage) => parentPort!.postMessage(m);

async function main(job: TrainJob): Promise<void> {
  post({ type: 'backend', backend: await selectBackend(job.backend, job.gpu) });
  const stop = new Int32Array(job.stopFlag);
  const model = await modelFromParts(job.model);
  let lastBatchPost = 0;
  const final = await trainClassifier(model, rawSplitToData(job.train), job.val ? rawSplitToData(job.val) : null, job.options, {
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
