/**
 * Types shared by workflows, activities and clients (data only: artifact references
 * and metrics — Temporal payloads never carry tensors or data sets).
 */
import type { PipelineConfig } from './config.js';
import type { EpochMetrics, PipelineStage } from './runs.js';

/** Live training progress, sent by the training activity (`trainingProgressSignal`). */
export interface TrainingProgress {
  tag?: string;
  epoch: number;
  batch?: number;
  batches?: number;
  metrics?: EpochMetrics;
  backend?: string;
}

/** A stored artifact: what Temporal payloads carry instead of data. */
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

/** How a source is read (the `data` section of a config, less `source` and the split sizes). */
export type DataReadOptions = Pick<PipelineConfig['data'], 'format' | 'labelColumn' | 'imageSize' | 'color' | 'categorical' | 'maxCategories' | 'skipUnreadable' | 'testFraction'>;

export interface PrepareDataInput {
  store: string;
  source: string;
  /** Validation samples held out of the training set; default min(5000, 10 % of it). */
  validationSize?: number;
  trainLimit?: number;
  seed: number;
  /** Reader options; absent: the defaults (an older client). */
  read?: Partial<DataReadOptions>;
}
/**
 * What a data source holds, from its listing alone (no data read): `key` hashes every
 * file's name, size and version (mtime, S3 ETag), so a changed, added or removed file
 * changes it. The built-in `synthetic` set is generated (key `synthetic`).
 */
export interface SourceContent {
  key: string;
  files: number;
  bytes: number;
}

export interface PreparedData {
  train: Ref;
  val: Ref | null;
  test: Ref;
  counts: { train: number; val: number; test: number };
  inputDim: number;
  /** Per-sample input shape: [h, w, c] for images, [features] for tables and feature arrays. */
  inputShape: number[];
  classes: number;
  /** Class names, index = label (the model's outputs). */
  classNames: string[];
  /** `images` or `table` (tables and NumPy feature matrices): what the default model is chosen from. */
  kind: 'images' | 'table';
  /** The reader that read the source (`images`, `csv`, `parquet`, `numpy`, `cifar`, `idx`, `synthetic`, `bundle`). */
  format: string;
  /** The model `model.kind` defaults to for this data: `mlp` for tables and the built-in grey sets, `cnn` for other images. */
  defaultModel: 'mlp' | 'cnn';
  /** Validation samples held out (the resolved `data.validationSize`). */
  validationSize: number;
  source: string;
  /** The source's content when it was prepared (absent from an older worker). */
  content?: SourceContent;
  /** True when these splits were prepared by an earlier run from the same content and settings, and reused. */
  reused?: boolean;
}

export interface InitializeInput {
  store: string;
  /** Training split, for data-dependent initializers (LSUV). */
  data: Ref;
  /** Per-sample input shape ([h, w, c] or [features]). */
  inputShape: number[];
  classes: number;
  model: PipelineConfig['model'] & { kind: 'mlp' | 'cnn' | 'resnet'; hidden: number[]; dense: number[] };
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
  /** Key of the stage this training belongs to, recorded with its checkpoints so a resumed run finds them. */
  stageKey?: string;
  /** Pattern/weight stabilization tracking (and early structure freeze); absent = off. */
  stability?: PipelineConfig['glai']['stabilization'];
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

/** One artifact in the run manifest: the stage that produced it, that stage's inputs, the reference. */
export interface ManifestEntry {
  stage: string;
  name: string;
  ref: Ref;
  inputs: Record<string, unknown>;
}

/**
 * A run manifest: every artifact with the stage that produced it, plus what a
 * reader needs to reproduce the run (config, seed, backend, versions) and its metrics.
 */
export interface RunManifest {
  runId: string;
  workflowId: string;
  pipeline: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  startedAt: string;
  updatedAt: string;
  config: unknown;
  seed: number;
  backend: string | null;
  versions: Record<string, string>;
  artifacts: ManifestEntry[];
  metrics: Record<string, unknown>;
  /** Finished stages with their keys (what a resumed run may reuse). */
  stages?: StageRecord[];
  /** The run this one continues (`lightpath resume`). */
  resumedFrom?: string | null;
}

/** The manifest fields a workflow supplies; the activity adds timestamps and versions. */
export type ManifestDraft = Omit<RunManifest, 'updatedAt' | 'versions'>;

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
  glai: (GlaiOutcome & { stabilization: StabilizationSummary }) | null;
  /** The run this one continues, and the stages it reused from there. */
  resumedFrom: string | null;
  reusedStages: string[];
}

/** A frozen GLAI selector (METHODS.md §3): its model files and structure id (SHA-256 of architecture and weights). */
export interface StructureRef {
  id: string;
  model: ModelRefs;
}

/** A stored linear estimator: statistics + solved weights in one bundle. */
export interface EstimatorRef {
  ref: Ref;
  structureId: string;
  /** Samples its statistics sum over. */
  count: number;
  /** Feature dimension. */
  dim: number;
  /** How its λ was chosen (absent on estimators stored before validation-chosen λ). */
  solve?: GlaiSolveRecord;
  /** Its feature map (absent on estimators stored before this field): federated sites fit with it so their statistics merge. */
  features?: { valueLayer: number; gateLayers: number[] };
}

/** How an estimator's λ was chosen: the validation curve over the grid and the winner. */
export interface GlaiSolveRecord {
  lambda: number;
  /** Validation mean squared error at the chosen λ (null: chosen without validation statistics). */
  validationError: number | null;
  /** c, the scale of the selector prior (0: shrunk toward zero). */
  priorScale: number;
  prior: 'selector' | 'zero';
  chosenBy: 'validation' | 'fixed';
  curve: { lambda: number; validationError: number | null }[];
  /** Böhning refinement of a new fit (its weights replaced the ridge's): training loss and validation accuracy per pass. */
  refined?: { step: number; trainLoss: number; valAccuracy: number }[];
}

/**
 * What every GLAI-producing workflow returns (pipeline, retrain, merge): the
 * structure and estimator a later retrain or merge starts from, the test split and
 * the scores on it.
 */
export interface GlaiOutcome {
  structure: StructureRef;
  estimator: EstimatorRef;
  test: Ref | null;
  estimatorAccuracy: number | null;
  selectorAccuracy: number | null;
}

/** When the selector's structure and weights settled during training (epochs, 1-based; null: not within the run). */
export interface StabilizationSummary {
  patternSettledEpoch: number | null;
  weightSettledEpoch: number | null;
  /** Training stopped here because the structure had settled (`glai.stabilization.freezeAfter`). */
  frozenAtEpoch: number | null;
}

/** A finished pipeline stage as the run manifest records it: a resumed run reuses it when its key matches. */
export interface StageRecord {
  stage: string;
  /** SHA-256 of the stage's name, inputs and code version. */
  key: string;
  output: unknown;
  /** The run that computed it (this run, or one it continues). */
  computedBy: string;
}

/** One federated site's part in a merge. */
export interface SiteOutcome {
  site: string;
  /** `running` until its fit returns (the live `sites` query), then `merged` or `failed`. */
  status: 'running' | 'merged' | 'failed';
  estimator: EstimatorRef | null;
  error: string | null;
}

/** Input of `trainPipeline`: the validated config, the store to write to, and the run it continues. */
export interface TrainPipelineInput {
  config: PipelineConfig;
  store: string;
  /** Continue `runId`: reuse its finished stages (keys must match), continue its unfinished training from the last checkpoint. */
  resume?: { runId: string; fromStage?: PipelineStage } | null;
}

/** What a stage lookup finds (`lookupStage`). */
export interface StageLookup {
  key: string;
  /** The finished stage of the continued run with this key (reuse its output), or null. */
  reuse: StageRecord | null;
  /** For a train stage the continued run did not finish: its last checkpoint with this key. */
  checkpoint: Ref | null;
}
