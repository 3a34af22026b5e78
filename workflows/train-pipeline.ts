/**
 * `trainPipeline`: prepare data → initialize (Sinusoidal, METHODS.md §1) → train
 * (OUI per epoch, METHODS.md §2; optionally the OUI-driven weight-decay search as a
 * child workflow) → evaluate. Orchestration only: every stage is an
 * activity that passes artifact references, never tensors. Training and inference
 * run on the `lightpath-gpu` task queue, everything else on `lightpath`.
 */
import { executeChild, patched, setHandler, workflowInfo, ApplicationFailure, CancellationScope, isCancellation } from '@temporalio/workflow';
import { parsePipelineConfig } from '../contracts/config.js';
import { defaultWidths, glaiHeadWidths, glaiLayers } from '../contracts/glai-head.js';
import { ConfigError } from '../contracts/errors.js';
import { STAGES, type PipelineStage, type Progress } from '../contracts/runs.js';
import type { ManifestEntry, PipelineResult, StageLookup, StageRecord, TrainPipelineInput } from '../contracts/types.js';
import { progressQuery, trainingProgressSignal } from '../contracts/signals.js';
import { weightDecaySearch } from './weight-decay-search.js';
import { settledEpoch } from '../ml/glai/settled.js';
import { cpuActivities, trainingActivities } from './activities.js';

export type { TrainPipelineInput } from '../contracts/types.js';

const cpu = cpuActivities({ startToCloseTimeout: '10 minutes', retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1 minute', maximumAttempts: 10 } });

/** The pipeline workflow: validates its config, runs each stage (reusing a continued run's finished stages) and records the run manifest. */
export async function trainPipeline(input: TrainPipelineInput): Promise<PipelineResult> {
  let config: ReturnType<typeof parsePipelineConfig>;
  try {
    // The client parsed the config; a workflow started by another client (any SDK) is checked here too. Parsing a parsed config returns it unchanged.
    config = parsePipelineConfig(input.config, 'pipeline config');
  } catch (e) {
    if (e instanceof ConfigError) throw ApplicationFailure.nonRetryable(e.message, 'ConfigError');
    throw e;
  }
  const info = workflowInfo();
  const runId = info.workflowId;
  const store = config.execution.store ?? input.store;
  const progress: Progress = { stage: 'prepare', epoch: 0, epochs: config.train.epochs, batch: null, batches: null, metrics: null, backend: null };
  setHandler(progressQuery, () => progress);
  setHandler(trainingProgressSignal, (p) => {
    progress.epoch = p.epoch;
    progress.batch = p.batch ?? null;
    progress.batches = p.batches ?? null;
    if (p.metrics) progress.metrics = p.metrics;
    if (p.backend) progress.backend = p.backend;
  });

  const gpu = trainingActivities(config.execution);

  const artifacts: ManifestEntry[] = [];
  const metrics: Record<string, unknown> = {};
  const manifest = (status: 'running' | 'completed' | 'failed' | 'cancelled') =>
    cpu.writeRunManifest({
      store,
      manifest: {
        runId,
        workflowId: runId,
        pipeline: 'trainPipeline',
        status,
        startedAt: info.startTime.toISOString(),
        config,
        seed: config.seed,
        backend: progress.backend,
        artifacts,
        metrics,
        stages,
        resumedFrom: input.resume?.runId ?? null,
      },
    });

  const stages: StageRecord[] = [];
  const reused: string[] = [];
  const forceFrom = input.resume?.fromStage ? STAGES.indexOf(input.resume.fromStage) : STAGES.length;
  /** Runs a stage, or reuses its output when the run this one continues finished it with the same key. */
  const stage = async <T>(name: PipelineStage, inputs: unknown, compute: (found: StageLookup) => Promise<T>): Promise<T> => {
    const found = await cpu.lookupStage({ store, stage: name, inputs, previousRunId: input.resume?.runId ?? null, force: STAGES.indexOf(name) >= forceFrom });
    if (found.reuse) {
      stages.push(found.reuse);
      reused.push(name);
      return found.reuse.output as T;
    }
    const output = await compute(found);
    stages.push({ stage: name, key: found.key, output, computedBy: runId });
    return output;
  };

  try {
    const d = config.data;
    const read = {
      format: d.format,
      labelColumn: d.labelColumn,
      imageSize: d.imageSize,
      color: d.color,
      categorical: d.categorical,
      maxCategories: d.maxCategories,
      skipUnreadable: d.skipUnreadable,
      testFraction: d.testFraction,
    };
    const prepareInputs = { source: d.source, validationSize: d.validationSize, trainLimit: d.trainLimit, seed: config.seed, read };
    // The source's content (its listing) keys the stage: a resumed run re-prepares data that changed. Behind a
    // patch marker, so a run started before this step existed replays on upgraded workers.
    const content = patched('prepare-content-key') ? (await cpu.sourceContent({ store, source: d.source })).key : undefined;
    const data = await stage('prepare', { ...prepareInputs, content }, () => cpu.prepareData({ store, ...prepareInputs }));
    for (const [name, ref] of [
      ['train', data.train],
      ['val', data.val],
      ['test', data.test],
    ] as const) {
      if (ref) artifacts.push({ stage: 'prepare', name: `dataset-${name}`, ref, inputs: { source: data.source, validationSize: data.validationSize, seed: config.seed } });
    }
    // Defaults taken from the data and the run: the model kind (an MLP selector in GLAI runs unless one is named), the widths (narrower in GLAI runs, contracts/glai-head.ts) and the validation size; the manifest records them resolved.
    const kind = config.model.kind ?? (config.glai.enabled ? 'mlp' : data.defaultModel);
    const model = { ...config.model, kind, hidden: config.model.hidden ?? defaultWidths('mlp', config.glai.enabled), dense: config.model.dense ?? defaultWidths('cnn', config.glai.enabled) };
    config = { ...config, data: { ...config.data, validationSize: data.validationSize }, model };
    metrics.data = { format: data.format, kind: data.kind, inputShape: data.inputShape, classes: data.classNames, counts: data.counts, content: data.content ?? content, reused: data.reused ?? false };
    await manifest('running');

    progress.stage = 'initialize';
    const init = await stage('initialize', { data: data.train.sha256, inputShape: data.inputShape, classes: data.classes, model, seed: config.seed }, () =>
      cpu.initializeModel({ store, data: data.train, inputShape: data.inputShape, classes: data.classes, model, seed: config.seed }),
    );
    const initInputs = { ...config.model, seed: config.seed };
    artifacts.push({ stage: 'initialize', name: 'model.json', ref: init.model.model, inputs: initInputs });
    artifacts.push({ stage: 'initialize', name: 'weights.bin', ref: init.model.weights, inputs: initInputs });
    metrics.parameters = init.parameters;
    await manifest('running');

    progress.stage = 'train';
    const trainKeyInputs = {
      initial: [init.model.model.sha256, init.model.weights.sha256],
      data: [data.train.sha256, data.val?.sha256 ?? null],
      train: config.train,
      oui: config.oui,
      stability: config.glai.stabilization,
      search: config.search.mode === 'off' ? null : config.search,
      seed: config.seed,
    };
    const { trained, searchOutcome, searchMetrics } = await stage('train', trainKeyInputs, async (found) => {
      if (config.search.mode === 'off') {
        const trained = await gpu.trainModel({
          store,
          runId,
          data,
          initial: init.model,
          train: config.train,
          oui: config.oui,
          stability: config.glai.stabilization,
          seed: config.seed,
          from: found.checkpoint,
          stageKey: found.key,
        });
        return { trained, searchOutcome: null, searchMetrics: null };
      }
      progress.stage = 'search';
      const search = await executeChild(weightDecaySearch, {
        workflowId: `${runId}-wd-search`,
        args: [{ store, runId, data, initial: init.model, config }],
      });
      progress.stage = 'train';
      return {
        trained: search.training,
        searchOutcome: { mode: search.mode, chosenWeightDecay: search.winner.weightDecay, epochsSpent: search.epochsSpent, decisions: search.decisions } as PipelineResult['search'],
        searchMetrics: {
          mode: search.mode,
          chosenWeightDecay: search.winner.weightDecay,
          winner: search.winner.id,
          epochsSpent: search.epochsSpent,
          decisions: search.decisions,
          candidates: search.candidates.map(({ checkpoint: _c, model: _m, ...rest }) => rest),
          checkpoints: search.candidates.flatMap((c) => (c.checkpoint ? [{ id: c.id, weightDecay: c.weightDecay, epoch: c.epoch, ref: c.checkpoint }] : [])),
        },
      };
    });
    if (searchMetrics) {
      const { checkpoints, ...rest } = searchMetrics;
      metrics.weightDecaySearch = rest;
      for (const c of checkpoints) artifacts.push({ stage: 'search', name: `checkpoint-${c.id}`, ref: c.ref, inputs: { weightDecay: c.weightDecay, epoch: c.epoch } });
    }
    progress.backend = trained.backend;
    progress.metrics = trained.history.at(-1) ?? null;
    progress.epoch = trained.history.length;
    const trainInputs = { initial: init.model.model.sha256, data: data.train.sha256, train: config.train, oui: config.oui, seed: config.seed };
    artifacts.push({ stage: 'train', name: 'model.json', ref: trained.model.model, inputs: trainInputs });
    artifacts.push({ stage: 'train', name: 'weights.bin', ref: trained.model.weights, inputs: trainInputs });
    artifacts.push({ stage: 'train', name: 'checkpoint', ref: trained.checkpoint, inputs: trainInputs });
    metrics.history = trained.history;
    metrics.trainAttempts = trained.attempt;
    metrics.resumedFromEpoch = trained.resumedFromEpoch;
    await manifest('running');

    progress.stage = 'evaluate';
    const modelShas = [trained.model.model.sha256, trained.model.weights.sha256];
    const evaluation = await stage('evaluate', { model: modelShas, test: data.test.sha256 }, () => gpu.evaluateModel({ model: trained.model, test: data.test }));
    metrics.testAccuracy = evaluation.testAccuracy;
    let glai: PipelineResult['glai'] = null;
    if (config.glai.enabled) {
      progress.stage = 'structure';
      const structure = await stage('structure', { model: modelShas }, () => cpu.extractStructure({ model: trained.model }));
      progress.stage = 'estimator';
      const g = config.glai;
      const features = glaiLayers(g, glaiHeadWidths(model)!.length);
      const solve = { lambdas: g.lambdas, prior: g.prior, biasPenalty: g.biasPenalty };
      const stageInputs = {
        structure: structure.id,
        data: data.train.sha256,
        validation: data.val?.sha256 ?? null,
        test: data.test.sha256,
        features,
        lambda: g.lambda,
        solve,
        refineSteps: g.refineSteps,
      };
      const { estimator, scores } = await stage('estimator', stageInputs, async () => {
        // λ is chosen on the validation split's statistics, never on the test split.
        const estimator = await gpu.fitEstimator({ store, structure, data: data.train, validation: data.val, features, lambda: g.lambda, solve, refineSteps: g.refineSteps });
        return { estimator, scores: await gpu.evaluateEstimator({ structure, estimator, test: data.test }) };
      });
      artifacts.push({ stage: 'estimator', name: 'glai-estimator', ref: estimator.ref, inputs: { structureId: structure.id, data: data.train.sha256, glai: config.glai } });
      const st = config.glai.stabilization;
      const trainedEpochs = trained.history.length;
      const stabilization = {
        patternSettledEpoch: settledEpoch(
          trained.history.map((h) => h.patternChange),
          st.threshold,
        ),
        weightSettledEpoch: settledEpoch(
          trained.history.map((h) => h.weightChange),
          st.weightThreshold,
        ),
        frozenAtEpoch: config.search.mode === 'off' && trainedEpochs < config.train.epochs ? trainedEpochs : null,
      };
      glai = { structure, estimator, test: data.test, ...scores, stabilization };
      metrics.glai = { structureId: structure.id, featureDim: estimator.dim, ...scores, stabilization };
    }
    progress.stage = 'done';
    const manifestUri = await manifest('completed');
    return {
      runId,
      testAccuracy: evaluation.testAccuracy,
      backend: trained.backend,
      history: trained.history,
      model: trained.model,
      manifest: manifestUri,
      resumedFromEpoch: trained.resumedFromEpoch,
      search: searchOutcome,
      glai,
      resumedFrom: input.resume?.runId ?? null,
      reusedStages: reused,
    };
  } catch (e) {
    const cancelled = isCancellation(e);
    progress.stage = cancelled ? 'cancelled' : 'failed';
    metrics.error = (e as Error).message;
    // Best effort: when the store itself is what failed, the run fails with that error, not with the manifest write's.
    await CancellationScope.nonCancellable(() => manifest(cancelled ? 'cancelled' : 'failed')).catch(() => undefined);
    throw e;
  }
}
