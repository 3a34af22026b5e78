/** Signals shared by several workflows. */
import { defineSignal } from '@temporalio/workflow';
import { TRAINING_PROGRESS_SIGNAL, type TrainingProgress } from './types.js';

/** Sent by the training activity to its workflow after each epoch (and periodically within one). */
export const trainingProgressSignal = defineSignal<[TrainingProgress]>(TRAINING_PROGRESS_SIGNAL);
