/**
 * The activities of each worker role, as interfaces: what a workflow may call on a
 * task queue is exactly what the workers of that queue register (workers/roles.ts
 * checks its implementations against these with `satisfies`). Workflows proxy these
 * types and never import activities/.
 */
import type { ConsumedObject, ImportedData, ScheduleRun, ScheduleScan, WatchedObject } from './schedule-state.js';
import type { Contribution, ContributionSelector, ForgetOutcome, ScheduleWindow } from './forget.js';
import type {
  EstimatorRef,
  EvaluateInput,
  EvaluateResult,
  InitializeInput,
  InitializeResult,
  ManifestDraft,
  ModelRefs,
  PrepareDataInput,
  PreparedData,
  SourceContent,
  Ref,
  StageLookup,
  StructureRef,
  TrainInput,
  TrainResult,
} from './types.js';

/** Feature map of a new GLAI estimator (METHODS.md §3); ignored when updating one. */
export interface FeatureOptions {
  /** Hidden layer whose ReLU outputs are the features' values (0-based). */
  valueLayer?: number;
  /** Hidden layer whose masks gate them (one); default: every hidden layer. */
  gateLayer?: number;
  /** Several gating layers whose masks are stacked (replaces `gateLayer`), e.g. [0, 1]. */
  gateLayers?: number[];
}

/** How GLAI statistics are solved (METHODS.md §3; ml/glai/solve.ts). */
export interface GlaiSolveOptions {
  /** Ridge strength relative to the mean diagonal of A, used when there are no validation statistics. */
  lambda: number;
  /** Grid of λ chosen from by validation squared error (empty: always `lambda`). */
  lambdas: number[];
  /** Shrink toward the selector's own weights in feature space, or toward zero. */
  prior: 'selector' | 'zero';
  /** Penalty of the bias features (value part constant) relative to the others. */
  biasPenalty: number;
}

/** How a GLAI estimator is fitted: on `structure`, with ridge λ, on top of `previous` when given. */
/** What a schedule round records (activities/schedule.ts `commitScheduleRun`). */
export interface CommitScheduleRunInput {
  store: string;
  scheduleId: string;
  structureId: string;
  generation: number;
  run: ScheduleRun;
  consumed: ConsumedObject[];
  /** Sliding windows: the candidate's contributions, the window once it is promoted. */
  window?: Contribution[] | null;
}

export interface FitSettings {
  store: string;
  structure: StructureRef;
  features?: FeatureOptions;
  lambda: number;
  /** Solve settings beyond λ (defaults: ridge toward the selector, λ chosen on the validation statistics). */
  solve?: Partial<Omit<GlaiSolveOptions, 'lambda'>>;
  /** The run's validation split: its statistics, accumulated in the same activity, choose λ (never the test split). */
  validation?: Ref | null;
  /** Böhning cross-entropy passes after the ridge (a new estimator with `validation` only); default 0. */
  refineSteps?: number;
  /** Add to this estimator's statistics (incremental retraining); λ and feature map come from it. */
  previous?: EstimatorRef | null;
  /** A split of the run (its test split): new data read from a source is read its way and must have its schema. */
  like?: Ref | null;
  /** What the new samples are, recorded with their contribution (default: the split's URI or the site's data). */
  origin?: string;
}

/** Test accuracies of a GLAI estimator and of its selector network. */
export interface EstimatorScores {
  estimatorAccuracy: number;
  selectorAccuracy: number;
}

/** The light activities `lightpath` (cpu) workers run. */
export interface CpuActivities {
  prepareData(input: PrepareDataInput): Promise<PreparedData>;
  sourceContent(input: { store: string; source: string }): Promise<SourceContent>;
  importShard(input: { store: string; source: string; like?: Ref | null }): Promise<Ref>;
  initializeModel(input: InitializeInput): Promise<InitializeResult>;
  writeRunManifest(input: { store: string; manifest: ManifestDraft }): Promise<string>;
  extractStructure(input: { model: ModelRefs }): Promise<StructureRef>;
  mergeEstimators(input: { store: string; estimators: EstimatorRef[] }): Promise<EstimatorRef>;
  trainingSlots(): Promise<{ slots: number; workers: number }>;
  lookupStage(input: { store: string; stage: string; inputs: unknown; previousRunId?: string | null; force?: boolean }): Promise<StageLookup>;
  scanSchedule(input: { store: string; scheduleId: string; structureId: string; watch: string; start: ScheduleScan['current'] }): Promise<ScheduleScan>;
  importWatched(input: { store: string; scheduleId: string; run: string; test: Ref; objects: WatchedObject[] }): Promise<ImportedData>;
  commitScheduleRun(input: CommitScheduleRunInput): Promise<{ generation: number; uri: string }>;
  forgetStatistics(input: {
    store: string;
    estimator: EstimatorRef;
    select?: ContributionSelector | null;
    window?: { window: ScheduleWindow; now: string } | null;
    prove: boolean;
  }): Promise<ForgetOutcome>;
  purgeContributions(input: { store: string; removed: Contribution[] }): Promise<string[]>;
}

/** Training and inference: what `lightpath-gpu` workers run. */
export interface GpuActivities {
  trainModel(input: TrainInput): Promise<TrainResult>;
  evaluateModel(input: EvaluateInput): Promise<EvaluateResult>;
  fitEstimator(input: FitSettings & { data: Ref }): Promise<EstimatorRef>;
  evaluateEstimator(input: { structure: StructureRef; estimator: EstimatorRef; test: Ref }): Promise<EstimatorScores>;
}

/** A federated site's worker (`lightpath-site-<name>`): fits on its own data, which never leaves the site. */
export interface SiteActivities {
  fitSiteEstimator(input: FitSettings): Promise<EstimatorRef>;
}
