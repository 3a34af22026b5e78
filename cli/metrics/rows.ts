/** A run's per-epoch metrics as flat rows: the run's own training and every weight-decay candidate. */
import type { RunManifest } from '../../storage/manifest.js';
import { type EpochMetrics } from '../../contracts/runs.js';
import { runConfig, runMetrics } from '../../client/run-record.js';

/** An epoch of the run's training (the model it kept): its metrics and the weight decay it trained with. */
export type TrainRow = { runId: string; tag: 'train'; weightDecay: number } & EpochMetrics;

/** An epoch of one weight-decay search candidate (what the search records per candidate). */
export interface CandidateRow {
  runId: string;
  tag: 'candidate';
  candidate: string;
  epoch: number;
  weightDecay: number;
  oui: number;
  valAccuracy: number | null;
  status: string;
  verdict: string | null;
}

/** One exported row (a JSONL line). */
export type MetricsRow = TrainRow | CandidateRow;

/** Every epoch of the run's training, then every epoch of each candidate, in order. */
export function metricsRows(m: RunManifest): MetricsRow[] {
  const x = runMetrics(m);
  const winner = x.search?.candidates.find((c) => c.id === x.search!.winner);
  const fallbackWd = x.search?.chosenWeightDecay ?? runConfig(m).train.weightDecay;
  const train = x.history.map((h, k): TrainRow => ({ runId: m.runId, tag: 'train', weightDecay: winner?.weightDecays[k] ?? fallbackWd, ...h }));
  const candidates = (x.search?.candidates ?? []).flatMap((c) =>
    c.oui.map((oui, k): CandidateRow => ({
      runId: m.runId,
      tag: 'candidate',
      candidate: c.id,
      epoch: k + 1,
      weightDecay: c.weightDecays[k] ?? c.weightDecay,
      oui,
      valAccuracy: c.valAccuracy[k] ?? null,
      status: c.status,
      verdict: c.verdict,
    })),
  );
  return [...train, ...candidates];
}
