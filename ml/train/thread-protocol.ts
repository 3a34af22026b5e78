/** Messages between a training thread and its host (see run-in-thread.ts). */
import type { ModelParts } from '../models/io.js';
import type { EpochMetrics, TrainCheckpoint, TrainOptions } from './trainer.js';
import type { BackendInfo } from '../backend/select.js';
import type { GpuOptions } from '../backend/webgpu.js';
import type { DataPart, LabelledData } from './data.js';

/** One split as the dataset artifact stores it: uint8 pixels (`images`, × 1/255 for the model) or float samples (`values`, taken as they are), and labels. */
export interface RawSplit {
  images: Uint8Array;
  /** Float samples (tables, float arrays); when present `images` is empty. */
  values?: Float32Array;
  labels: Uint8Array | Int32Array;
  count: number;
  dim: number;
  classes: number;
}

/** A raw split as training data: pixels scaled to [0, 1] (float samples as they are), labels as int32. */
export function rawSplitToData(s: RawSplit): LabelledData {
  if (s.values) return { x: s.values, y: Int32Array.from(s.labels), count: s.count, dim: s.dim, classes: s.classes };
  const x = new Float32Array(s.images.length);
  for (let i = 0; i < x.length; i++) x[i] = s.images[i]! / 255;
  return { x, y: Int32Array.from(s.labels), count: s.count, dim: s.dim, classes: s.classes };
}

/** A raw split as one shard: uint8 pixels stay uint8 (scaled when a batch is gathered), labels as int32. */
export function rawSplitToPart(s: RawSplit): DataPart {
  return { x: s.values ?? s.images, y: Int32Array.from(s.labels), count: s.count };
}

/** A split the thread reads shard by shard: its size and shard sizes; each shard comes from the host on request (`load`/`shard` messages). */
export interface ShardedSplit {
  count: number;
  dim: number;
  classes: number;
  shardCounts: number[];
}

/** A split as the thread gets it: whole, or sharded. */
export type ThreadSplit = RawSplit | ShardedSplit;

/** A split as the host hands it to `trainInThread`: whole, or sharded with the reader of its shards. */
export type HostSplit = RawSplit | (ShardedSplit & { load(shard: number): Promise<RawSplit> });

/** What the host hands the thread. */
export interface TrainJob {
  model: ModelParts;
  train: ThreadSplit;
  val: ThreadSplit | null;
  options: TrainOptions;
  resumeFrom: TrainCheckpoint | null;
  /** Stop after this epoch (chunked training); null = run to `options.epochs`. */
  untilEpoch?: number | null;
  /** Shared flag: set element 0 to 1 to stop training within one batch. */
  stopFlag: SharedArrayBuffer;
  /** The backend the host forces (its `preferredBackend`), if any. */
  backend?: string;
  /** The host's WebGPU adapter choice (its `preferredGpu`). */
  gpu?: GpuOptions;
}

export type ThreadMessage =
  | { type: 'backend'; backend: BackendInfo }
  | { type: 'epoch'; metrics: EpochMetrics; checkpoint: TrainCheckpoint }
  | { type: 'batch'; epoch: number; batch: number; batches: number }
  | { type: 'done'; checkpoint: TrainCheckpoint; model: ModelParts }
  | { type: 'error'; name: string; message: string; nonRetryable: boolean; stopped: boolean }
  | { type: 'load'; id: number; split: 'train' | 'val'; shard: number };

/** Messages from the host to a thread: a shard it asked for (`load`), or why it could not be read. */
export type HostMessage = { type: 'shard'; id: number; split: RawSplit } | { type: 'shard-error'; id: number; name: string; message: string; nonRetryable: boolean };
