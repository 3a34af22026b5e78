/**
 * How many threads one matrix product of the native BLAS addon uses: the cores
 * shared among the trainings running in this process, so a training alone on a
 * worker uses every core and two slots get half each. The count is process wide
 * (like OpenBLAS's own) and follows trainings as they start and end
 * (`trainingStarted`, called by `trainInThread`); `LIGHTPATH_BLAS_THREADS=n`
 * fixes it. Results do not depend on it (parallel.c), so a checkpoint is the
 * same bits whatever ran beside its training.
 */
import { availableParallelism } from 'node:os';

/** `LIGHTPATH_BLAS_THREADS` as a number, undefined when unset; throws on a bad value. */
export function threadsOverride(raw: string | undefined = process.env.LIGHTPATH_BLAS_THREADS): number | undefined {
  if (raw == null || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`LIGHTPATH_BLAS_THREADS=${raw} is not a positive integer`);
  return n;
}

/** Threads per product for `running` trainings on `cores` cores: the override, else an even share (at least 1; a process training nothing counts as one). */
export function threadsFor(running: number, cores: number, override?: number): number {
  if (override !== undefined) return override;
  return Math.max(1, Math.floor(cores / Math.max(1, running)));
}

let running = 0;
const listeners = new Set<(threads: number) => void>();

/** The thread count for this process now. */
export function currentThreads(): number {
  return threadsFor(running, availableParallelism(), threadsOverride());
}

/** Calls `apply` with the thread count now and whenever it changes; returns a function that stops it. */
export function onThreadsChange(apply: (threads: number) => void): () => void {
  listeners.add(apply);
  apply(currentThreads());
  return () => listeners.delete(apply);
}

function changed(): void {
  const n = currentThreads();
  for (const apply of listeners) apply(n);
}

/** Counts a training as running until the returned function is called (once). */
export function trainingStarted(): () => void {
  running++;
  changed();
  let done = false;
  return () => {
    if (done) return;
    done = true;
    running--;
    changed();
  };
}

/** Trainings running in this process. */
export function runningTrainings(): number {
  return running;
}
