/**
 * Provenance and exact forgetting of GLAI estimators (METHODS.md §3): an estimator's
 * statistics are the sum of its contributions, each a stored statistics artifact, so
 * any of them can be subtracted later — exactly what never having trained on it gives.
 */
import type { EstimatorRef, GlaiOutcome, Ref, StructureRef } from './types.js';

/** One summand of an estimator's statistics: a stored `glai-statistics` bundle and where its samples came from. */
export interface Contribution {
  /** SHA-256 of the statistics artifact (its content address). */
  id: string;
  ref: Ref;
  /** Samples it sums over. */
  count: number;
  /** What was read: a split's URI, a source, a schedule round, or the estimator it was split off. */
  source: string;
  /** The federated site that computed it, when one did. */
  site: string | null;
  /** When its statistics were computed (ISO 8601). */
  arrivedAt: string;
  structureId: string;
}

/** Which contributions to forget: any of ids, a site's, those that arrived before a time. */
export interface ContributionSelector {
  contributions?: string[];
  site?: string;
  /** ISO 8601: every contribution that arrived strictly before it. */
  before?: string;
}

/** The proof of a forget: the subtracted solution against a solve on the remaining contributions summed afresh. */
export interface ForgetExactness {
  /** ‖W_subtracted − W_fresh‖_F / ‖W_fresh‖_F; a forget fails above `FORGET_TOLERANCE`. */
  relativeDifference: number;
  /** Largest |A_subtracted − A_fresh| over the largest |A_fresh| (and the same for B). */
  statisticsDifference: number;
  /** The bound `relativeDifference` was checked against (`FORGET_TOLERANCE`). */
  tolerance: number;
}

/** Relative difference above which a forget's solution is refused (the proof failed). */
export const FORGET_TOLERANCE = 1e-6;

/** What the subtraction activity returns. */
export interface ForgetOutcome {
  estimator: EstimatorRef;
  removed: Contribution[];
  /** Contributions the new estimator still sums. */
  remaining: Contribution[];
  /** Null when the caller did not ask for the proof (sliding-window rounds). */
  exactness: ForgetExactness | null;
  /** Wall seconds: subtraction (reads included) and solve of the new estimator, and the proof. */
  seconds: { subtract: number; solve: number; proof: number };
}

/** Input of the `forgetContributions` workflow. */
export interface ForgetInput {
  store: string;
  structure: StructureRef;
  estimator: EstimatorRef;
  select: ContributionSelector;
  /** Delete the removed contributions' statistics artifacts from the store. */
  purge?: boolean;
  test?: Ref | null;
}

/** Result of `forgetContributions`: the new estimator and its scores, what was removed, the proof. */
export interface ForgetResult extends GlaiOutcome {
  /** The estimator this one replaces (it stays in the store). */
  replaces: EstimatorRef;
  removed: Contribution[];
  remaining: Contribution[];
  exactness: ForgetExactness;
  seconds: ForgetOutcome['seconds'];
  /** URIs of the statistics artifacts `purge` deleted. */
  purged: string[];
}

/** A schedule's sliding window: the last `arrivals` contributions, or those that arrived within `milliseconds`. */
export interface ScheduleWindow {
  arrivals?: number;
  milliseconds?: number;
}
