/**
 * Signal and query definitions of lightpath's workflows, shared by the workflows
 * (which handle them), the training activity (which signals progress) and clients.
 * Built as plain objects of the shape `defineSignal`/`defineQuery` return, so
 * contracts/ needs no Temporal runtime (the types are type-only imports).
 */
import type { QueryDefinition, SignalDefinition } from '@temporalio/common';
import type { Progress } from './runs.js';
import type { Candidate, Decision } from './search.js';
import type { SiteOutcome, TrainingProgress } from './types.js';

function signal<Args extends unknown[] = []>(name: string): SignalDefinition<Args> {
  return { type: 'signal', name } as SignalDefinition<Args>;
}

function query<Ret>(name: string): QueryDefinition<Ret> {
  return { type: 'query', name } as QueryDefinition<Ret>;
}

/** Sent by the training activity to its workflow after each epoch (and periodically within one). */
export const trainingProgressSignal = signal<[TrainingProgress]>('trainingProgress');

/** `trainPipeline`: live stage, epoch and latest metrics. */
export const progressQuery = query<Progress>('progress');

/** `weightDecaySearch`: every candidate as the live table shows it. */
export const candidatesQuery = query<Candidate[]>('candidates');
/** `weightDecaySearch`: the decision log. */
export const decisionsQuery = query<Decision[]>('decisions');
/** `weightDecaySearch`: stops one candidate (by id) after its current chunk. */
export const stopCandidateSignal = signal<[string]>('stopCandidate');
/** `weightDecaySearch`: stops the whole search; the best candidate so far becomes the winner without further training. */
export const stopSearchSignal = signal('stopSearch');
/** `weightDecaySearch`, controller mode: the weight decay for the next chunk. */
export const setWeightDecaySignal = signal<[number]>('setWeightDecay');
/** `weightDecaySearch`, search and controller modes: a new OUI band. */
export const setBandSignal = signal<[[number, number]]>('setBand');

/** `mergeModels`: live state of each federated site. */
export const sitesQuery = query<SiteOutcome[]>('sites');
