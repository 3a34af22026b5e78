/** The weight-decay search's live state (METHODS.md §2): its candidates and its decision log. */
import type { ModelRefs, Ref } from './types.js';

/** One weight-decay candidate, as the live table shows it. */
export interface Candidate {
  id: string;
  weightDecay: number;
  status: 'waiting' | 'running' | 'stopped' | 'finished';
  verdict: 'underfitting' | 'overfitting' | 'outranked' | 'stopped-by-user' | 'winner' | null;
  epoch: number;
  oui: number[];
  valAccuracy: (number | null)[];
  checkpoint: Ref | null;
  model: ModelRefs | null;
  /** Weight decay used in each epoch (changes only in controller mode). */
  weightDecays: number[];
  /** Latest epoch reported live by the running chunk. */
  liveEpoch: number;
  /** Each finished chunk: the epoch it ended at, its attempt and the epoch that attempt started from. */
  chunks: { until: number; attempt: number; resumedFromEpoch: number }[];
}

/** One entry of the decision log. */
export interface Decision {
  epoch: number;
  candidate: string;
  oui: number | null;
  verdict: string;
  reason: string;
}
