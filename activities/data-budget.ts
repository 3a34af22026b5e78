/**
 * The memory budget for data on this worker: `LIGHTPATH_DATA_MEMORY_MB` (megabytes, may
 * be fractional), default an eighth of the machine's memory, at most 1 GiB. A source whose
 * decoded samples exceed it is prepared in shards and trained on shard by shard.
 *
 * Why a worker setting and not a run setting: memory is the worker's, and the same run
 * may prepare on a laptop and train on a server. Why shards of budget/8: training holds
 * two windows of two shards (the one it trains on and the next being read, see
 * ml/train/epoch-batches.ts) plus, in the host, the bundle being read and its copy on its
 * way to the training thread; preparation holds the shard being decoded and its encoded
 * bundle. Both stay near half the budget for data, the rest left to the model, the
 * runtime and decoding.
 *
 * Tables: parsed whole, a table's cells take several times its files' bytes (a string or
 * value per cell besides the text), so a table whose files exceed an eighth of the budget
 * is streamed instead (`streamsTable`, ml/data/table-stream.ts): read a batch of rows at a
 * time, in several passes, its splits filled at most half the budget at a time.
 */
import { totalmem } from 'node:os';
import { InvalidInputError } from '../contracts/errors.js';

const MB = 1024 * 1024;

/** The budget in bytes (see the module comment). */
export function dataMemoryBudget(): number {
  const set = process.env.LIGHTPATH_DATA_MEMORY_MB;
  if (set === undefined || set === '') return Math.min(1024 * MB, Math.floor(totalmem() / 8));
  const mb = Number(set);
  if (!Number.isFinite(mb) || mb <= 0) throw new InvalidInputError(`LIGHTPATH_DATA_MEMORY_MB: ${JSON.stringify(set)} is not a positive number of megabytes`);
  return Math.floor(mb * MB);
}

/** Samples per shard for samples of `sampleBytes` bytes under `budget`: budget/8 bytes of them, at least one. */
export function shardRows(budget: number, sampleBytes: number): number {
  return Math.max(1, Math.floor(budget / 8 / Math.max(1, sampleBytes)));
}

/** Whether a table of `fileBytes` bytes of files is streamed rather than parsed whole (see the module comment). */
export function streamsTable(fileBytes: number, budget: number): boolean {
  return fileBytes > budget / 8;
}
