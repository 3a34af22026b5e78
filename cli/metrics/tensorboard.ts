/**
 * A run's metrics as a TensorBoard log directory: `train/` (the run's training)
 * and one folder per weight-decay candidate, each with one event file, the same
 * scalar tags in all so TensorBoard overlays them; the step is the epoch.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MetricsRow } from './rows.js';
import { eventFile, type ScalarStep } from './tfevents.js';

/** Scalars of a row under TensorBoard tags (absent metrics left out). */
function scalars(r: MetricsRow): Record<string, number> {
  const v: Record<string, number | null | undefined> = { oui: r.oui, 'accuracy/validation': r.valAccuracy, weight_decay: r.weightDecay };
  if (r.tag === 'train') {
    Object.assign(v, {
      loss: r.loss,
      'accuracy/train': r.trainAccuracy,
      'stabilization/pattern_change': r.patternChange,
      'stabilization/weight_change': r.weightChange,
      'speed/samples_per_second': r.samplesPerSecond,
    });
  }
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, number] => typeof e[1] === 'number'));
}

/**
 * Writes `rows` under `dir` (one folder per training: `train`, then the candidates'
 * ids) and returns the files written. Wall times: the run's start plus the training
 * seconds so far for `train`; the run's start for candidates (the search does not
 * record per-epoch times).
 */
export async function writeTensorBoard(rows: MetricsRow[], dir: string, startedAt: Date): Promise<string[]> {
  const start = startedAt.getTime() / 1000;
  const runs = new Map<string, ScalarStep[]>();
  let trainSeconds = 0;
  for (const r of rows) {
    const run = r.tag === 'train' ? 'train' : r.candidate;
    if (r.tag === 'train') trainSeconds += r.seconds;
    const steps = runs.get(run) ?? [];
    steps.push({ step: r.epoch, wallTime: r.tag === 'train' ? start + trainSeconds : start, values: scalars(r) });
    runs.set(run, steps);
  }
  const files: string[] = [];
  for (const [run, steps] of runs) {
    const folder = join(dir, run);
    await mkdir(folder, { recursive: true });
    const file = join(folder, `events.out.tfevents.${Math.floor(start)}.lightpath`);
    await writeFile(file, eventFile(steps, start));
    files.push(file);
  }
  return files;
}
