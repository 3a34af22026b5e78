/**
 * Runs a training job in a worker thread.
 *
 * Why a thread and not yielding between batches: a batch's kernels run
 * synchronously, and on the WASM backend a CNN batch takes long enough to delay
 * heartbeats and the Temporal worker's polling; in a thread the host's event loop
 * stays free whatever the model, and two trainings can use two cores.
 */
import { Worker } from 'node:worker_threads';
import type { HostMessage, HostSplit, ThreadSplit, TrainJob, ThreadMessage } from './thread-protocol.js';
import type { EpochMetrics, TrainCheckpoint } from './trainer.js';
import type { ModelParts } from '../models/io.js';
import { preferredBackend, preferredGpu, type BackendInfo } from '../backend/select.js';
import { TrainingStopped } from './trainer.js';
import { nativeBlas } from '../backend/native/addon.js';
import { trainingStarted } from '../backend/native/threads.js';

/** Host-side callbacks; `onEpoch` calls are awaited in order before the next message is handled. */
export interface ThreadHooks {
  onBackend?: (b: BackendInfo) => void;
  onBatch?: (epoch: number, batch: number, batches: number) => void;
  onEpoch?: (metrics: EpochMetrics, checkpoint: TrainCheckpoint) => Promise<void> | void;
  signal?: AbortSignal;
}

/** Error from a training thread, keeping whether it is bad input. */
export class ThreadTrainingError extends Error {
  constructor(
    name: string,
    message: string,
    readonly nonRetryable: boolean,
  ) {
    super(message);
    this.name = name;
  }
}

/**
 * Starts the thread. Run from TypeScript sources (through tsx), the thread registers
 * tsx itself first: `--import tsx` in a worker's execArgv does not reach its entry module.
 */
function spawnThread(workerData: TrainJob): Worker {
  const fromSource = import.meta.url.endsWith('.ts');
  const entry = new URL(`./thread-main.${fromSource ? 'ts' : 'js'}`, import.meta.url);
  if (!fromSource) return new Worker(entry, { workerData });
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}

/** What of a split travels to the thread (a sharded split's reader stays with the host). */
const threadSplit = (s: HostSplit): ThreadSplit => ('load' in s ? { count: s.count, dim: s.dim, classes: s.classes, shardCounts: s.shardCounts } : s);

/** Answers a thread's request for a shard of a sharded split. */
async function answerLoad(worker: Worker, split: HostSplit | null, id: number, shard: number): Promise<void> {
  let answer: HostMessage;
  try {
    if (!split || !('load' in split)) throw new Error(`the thread asked for shard ${shard} of a split that is not sharded`);
    answer = { type: 'shard', id, split: await split.load(shard) };
  } catch (e) {
    const err = e as Error & { nonRetryable?: boolean };
    answer = { type: 'shard-error', id, name: err.name, message: err.message, nonRetryable: err.nonRetryable === true };
  }
  worker.postMessage(answer);
}

/**
 * Trains `job` in a new thread; resolves with the final checkpoint and model. A
 * sharded split's shards are read here, in the host, when the thread asks for them.
 * Where the thread may train on wasm, the native BLAS addon is loaded here first,
 * in the host's main thread, which is where its OpenBLAS core can be chosen
 * (native/core.ts); while the thread runs it counts as one of the trainings that
 * share the cores (native/threads.ts).
 */
export function trainInThread(
  job: Omit<TrainJob, 'stopFlag' | 'backend' | 'gpu' | 'train' | 'val'> & { train: HostSplit; val: HostSplit | null },
  hooks: ThreadHooks = {},
): Promise<{ checkpoint: TrainCheckpoint; model: ModelParts; backend: BackendInfo }> {
  const forced = preferredBackend();
  if (forced === undefined || forced === 'wasm') nativeBlas();
  const stopFlag = new SharedArrayBuffer(4);
  const worker = spawnThread({ ...job, train: threadSplit(job.train), val: job.val && threadSplit(job.val), stopFlag, backend: forced, gpu: preferredGpu() });
  const done = trainingStarted();
  const onAbort = () => Atomics.store(new Int32Array(stopFlag), 0, 1);
  hooks.signal?.addEventListener('abort', onAbort, { once: true });
  let backend: BackendInfo | null = null;
  let chain: Promise<void> = Promise.resolve();
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      reject(e);
    };
    worker.on('message', (m: ThreadMessage) => {
      // Shard reads run beside the ordered handling (a checkpoint being written does not hold up the next shard).
      if (m.type === 'load') return void answerLoad(worker, m.split === 'train' ? job.train : job.val, m.id, m.shard);
      chain = chain
        .then(async () => {
          // Once the attempt has failed, messages the thread sent before it was stopped (queued checkpoints) are dropped.
          if (settled) return;
          switch (m.type) {
            case 'backend':
              backend = m.backend;
              hooks.onBackend?.(m.backend);
              break;
            case 'batch':
              hooks.onBatch?.(m.epoch, m.batch, m.batches);
              break;
            case 'epoch':
              await hooks.onEpoch?.(m.metrics, m.checkpoint);
              break;
            case 'done':
              settled = true;
              resolve({ checkpoint: m.checkpoint, model: m.model, backend: backend! });
              void worker.terminate();
              break;
            case 'error':
              fail(m.stopped ? new TrainingStopped(-1) : new ThreadTrainingError(m.name, m.message, m.nonRetryable));
              break;
          }
        })
        .catch(fail);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      done();
      hooks.signal?.removeEventListener('abort', onAbort);
      void chain.then(() => fail(new Error(`training thread exited with code ${code} before finishing`)));
    });
  });
}
