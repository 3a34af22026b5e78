/** Name of the signal the training activity sends its workflow with live progress. */
export const TRAINING_PROGRESS_SIGNAL = 'trainingProgress';

/** Live training progress, sent by the training activity. */
export interface TrainingProgress {
  tag?: string;
  epoch: number;
  batch?: number;
  batches?: number;
  metrics?: EpochMetrics;
  backend?: string;
}

/** Types shared by workflows, activities and clients (data only: references and metrics). */
import type { PipelineConfig } from './config.js';
import type { EpochMetrics } from '../ml/train/trainer.js';

/** A stored artifact reference (mirrors storage's ArtifactRef; workflows never import storage). */
export interface Ref {
  uri: string;
  sha256: string;
  bytes: number;
}

/** model.json + weights.bin of a stored TF.js model. */
export interface ModelRefs {
  model: Ref;
  weights: Ref;
}

/** Metrics of one training epoch (the trainer's own type; a type-only import, erased from the workflow bundle). */
export type { EpochMetrics } from '../ml/train/trainer.js';

export interface PrepareDataInput {
  store: string;
  source: string;
  validationSize: number;
  trainLimit?: number;
  seed: number;
}
export interface PreparedData {
  train: Ref;
  val: Ref | null;
  test: Ref;
  counts: { train: number; val: number; test: number };
  inputDim: number;
  /** Image shape [h, w, c]. */
  imageShape: [number, number, number];
  classes: number;
  source: string;
}

export interface InitializeInput {
  store: string;
  /** Training split, for data-dependent initializers (LSUV). */
  data: Ref;
  imageShape: [number, number, number];
  classes: number;
  model: PipelineConfig['model'];
  seed: number;
}
export interface InitializeResult {
  model: ModelRefs;
  parameters: number;
}

export interface TrainInput {
  store: string;
  runId: string;
  data: PreparedData;
  initial: ModelRefs;
  train: PipelineConfig['train'];
  oui: PipelineConfig['oui'];
  seed: number;
  /** Continue from this checkpoint (a chunk of a longer run); default: from `initial`. */
  from?: Ref | null;
  /** Stop after this epoch (training in chunks); default: `train.epochs`. */
  untilEpoch?: number;
  /** Label of this training in progress signals (e.g. a weight-decay candidate). */
  tag?: string;
}
/** Details heartbeated by the training activity; a retry resumes from `checkpoint`. */
export interface TrainHeartbeat {
  epoch: number;
  checkpoint: Ref | null;
  metrics: EpochMetrics | null;
}
export interface TrainResult {
  model: ModelRefs;
  checkpoint: Ref;
  history: EpochMetrics[];
  backend: string;
  /** Epoch the last attempt started from (0 = from scratch). */
  resumedFromEpoch: number;
  attempt: number;
}

export interface EvaluateInput {
  model: ModelRefs;
  test: Ref;
}
export interface EvaluateResult {
  testAccuracy: number;
  count: number;
  backend: string;
}

/** One artifact in the run manifest. */
export interface ManifestEntry {
  stage: string;
  name: string;
  ref: Ref;
  inputs: Record<string, unknown>;
}

/** Live progress, returned by the `progress` query. */
export interface Progress {
  stage: 'prepare' | 'initialize' | 'search' | 'train' | 'evaluate' | 'structure' | 'estimator' | 'done' | 'failed';
  epoch: number;
  epochs: number;
  batch: number | null;
  batches: number | null;
  metrics: EpochMetrics | null;
  backend: string | null;
}

/** Final result of `trainPipeline`. */
export interface PipelineResult {
  runId: string;
  testAccuracy: number;
  backend: string;
  history: EpochMetrics[];
  model: ModelRefs;
  manifest: string;
  resumedFromEpoch: number;
  /** The weight-decay search's outcome, when `search.mode` is not `off`. */
  search: {
    mode: string;
    chosenWeightDecay: number;
    epochsSpent: number;
    decisions: { epoch: number; candidate: string; oui: number | null; verdict: string; reason: string }[];
  } | null;
  /** GLAI stages' outputs, when enabled. */
  glai: {
    structure: { id: string; model: ModelRefs };
    estimator: { ref: Ref; structureId: string; count: number; dim: number };
    estimatorAccuracy: number;
    selectorAccuracy: number;
  } | null;
}
