/**
 * The training loop: mini-batch training of a classifier (any layers model) with seeded
 * shuffling (of data in memory, or read shard by shard: epoch-batches.ts), OUI measured
 * on the training forward pass (METHODS.md §2), per-epoch validation accuracy, and a
 * checkpoint after every epoch from which training continues exactly as an
 * uninterrupted run would.
 *
 * The loop yields to the event loop between batches, so a host thread's timers
 * (heartbeats) and messages keep flowing while it trains.
 */
import type { EpochMetrics } from '../../contracts/runs.js';
import * as tf from '@tensorflow/tfjs';
import { Rng, type RngState } from '../rng.js';
import { OuiMeter, DEFAULT_OUI, type OuiOptions, type OuiState } from '../oui.js';
import { Optimizer, type OptimizerSpec, type OptimizerState } from './optimizer.js';
import { learningRateAt, type ScheduleSpec } from './schedule.js';
import type { SplitData } from './data.js';
import { EpochBatches, inMemorySample } from './epoch-batches.js';
import { accuracy } from './evaluate.js';
import { trainingStep } from './step.js';
import { InvalidInputError } from '../../contracts/errors.js';
import { StabilityTracker, type StabilityOptions } from '../glai/stabilization.js';
import { augmentBatch, augments, type AugmentSpec } from '../data/augment.js';

/** Training settings. */
export interface TrainOptions {
  epochs: number;
  batchSize: number;
  learningRate: number;
  schedule: ScheduleSpec;
  optimizer: OptimizerSpec;
  seed: number;
  oui: OuiOptions;
  /** Track pattern/weight stabilization on a probe set (and optionally freeze early); absent = off. */
  stability?: StabilityOptions;
  /** Seeded image augmentation of every training batch (ml/data/augment.ts); absent or null = none. */
  augment?: AugmentSpec | null;
}

export type { EpochMetrics } from '../../contracts/runs.js';

/** Everything needed to continue training exactly: weights, optimizer, position, RNG and OUI state. */
export interface TrainCheckpoint {
  epoch: number;
  rng: RngState;
  /** State of the augmentation generator (present when the run augments). */
  augmentRng?: RngState;
  oui: OuiState;
  weights: Float32Array[];
  optimizer: OptimizerState;
  history: EpochMetrics[];
}

/** Hooks into the loop. */
export interface TrainHooks {
  /** Continue from this checkpoint instead of the model's current weights. */
  resumeFrom?: TrainCheckpoint;
  /**
   * Stop after this epoch (1-based) instead of `epochs`: training in chunks. The
   * schedule still spans `epochs`, so chunks chained through their checkpoints give
   * exactly the uninterrupted run.
   */
  untilEpoch?: number;
  /** Called after each epoch with its metrics and the checkpoint at its end. */
  onEpoch?: (metrics: EpochMetrics, checkpoint: TrainCheckpoint) => void | Promise<void>;
  /** Called after each batch (progress within an epoch). */
  onBatch?: (epoch: number, batch: number, batches: number) => void;
  /** Polled before every batch; true stops training within one batch. */
  shouldStop?: () => boolean;
  /** Aborting it stops training within one batch (the loop yields between batches, so abort handlers run). */
  signal?: AbortSignal;
}

/** Thrown when `shouldStop` ended training early. */
export class TrainingStopped extends Error {
  constructor(readonly epoch: number) {
    super(`training stopped during epoch ${epoch}`);
    this.name = 'TrainingStopped';
  }
}

const OUI_SEED_SALT = 0x5eed0ca1;
const AUGMENT_SEED_SALT = 0x0a06e17;

/** The model's weights, read from the backend. */
async function readWeights(model: tf.LayersModel): Promise<Float32Array[]> {
  const weights: Float32Array[] = [];
  for (const w of model.weights) weights.push((await w.read().data()) as Float32Array);
  return weights;
}

async function snapshot(weights: Float32Array[], epoch: number, rng: Rng, augmentRng: Rng | null, meter: OuiMeter, opt: Optimizer, history: EpochMetrics[]): Promise<TrainCheckpoint> {
  return { epoch, rng: rng.state(), ...(augmentRng ? { augmentRng: augmentRng.state() } : {}), oui: meter.snapshot(), weights, optimizer: await opt.state(), history: [...history] };
}

/** Trains `model` on `train` (in memory or shard by shard), evaluating on `val` after each epoch. Returns the final checkpoint. */
export async function trainClassifier(model: tf.LayersModel, train: SplitData, val: SplitData | null, opts: TrainOptions, hooks: TrainHooks = {}): Promise<TrainCheckpoint> {
  if (opts.batchSize < 2 || opts.batchSize > train.count) {
    throw new InvalidInputError(`batchSize ${opts.batchSize} must be in [2, ${train.count}] (the training set size)`);
  }
  const inputShape = model.inputs[0]!.shape.slice(1) as number[];
  if (augments(opts.augment) && inputShape.length !== 3) throw new InvalidInputError(`augmentation (random crop, flip) applies to images; this model's input has shape ${inputShape.join('×')}`);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const opt = new Optimizer(opts.optimizer);
  const step = trainingStep(model, vars, opt);
  const ouiOpts = { ...DEFAULT_OUI, ...opts.oui };
  let rng = Rng.fromSeed(opts.seed);
  const augment = augments(opts.augment) ? opts.augment : null;
  let augmentRng = augment ? Rng.fromSeed(opts.seed ^ AUGMENT_SEED_SALT) : null;
  let meter = new OuiMeter(ouiOpts, Rng.fromSeed(opts.seed ^ OUI_SEED_SALT));
  let history: EpochMetrics[] = [];
  let startEpoch = 0;
  const r = hooks.resumeFrom;
  if (r) {
    if (r.weights.length !== model.weights.length) {
      throw new InvalidInputError(`checkpoint has ${r.weights.length} weight arrays, the model ${model.weights.length}`);
    }
    model.setWeights(r.weights.map((w, k) => tf.tensor(w, model.weights[k]!.shape as number[])));
    opt.load(r.optimizer, vars);
    rng = Rng.fromState(r.rng);
    if (augment && r.augmentRng) augmentRng = Rng.fromState(r.augmentRng);
    meter = new OuiMeter(ouiOpts, Rng.fromSeed(opts.seed ^ OUI_SEED_SALT), r.oui);
    history = [...r.history];
    startEpoch = r.epoch;
  }

  const scratch = augment ? new Float32Array(train.dim) : null;
  const bs = opts.batchSize;
  const batches = Math.ceil(train.count / bs);
  const totalSteps = batches * opts.epochs;
  const xb = new Float32Array(bs * train.dim);
  const yb = new Int32Array(bs);
  const tracker = opts.stability?.probe ? new StabilityTracker(await inMemorySample(train), inputShape, opts.stability, opts.seed) : null;
  let last: TrainCheckpoint | null = null;

  try {
    if (tracker) await tracker.reset(model, await readWeights(model));
    const frozen = tracker?.shouldFreeze(history) ?? false;
    const lastEpoch = frozen ? startEpoch : Math.min(opts.epochs, hooks.untilEpoch ?? opts.epochs);
    let done = Math.max(startEpoch, lastEpoch);
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const t0 = performance.now();
      const epochBatches = new EpochBatches(train, rng);
      let lossSum: tf.Tensor = tf.keep(tf.scalar(0));
      let correctSum: tf.Tensor = tf.keep(tf.scalar(0));
      for (let b = 0; b < batches; b++) {
        if (hooks.shouldStop?.() || hooks.signal?.aborted) throw new TrainingStopped(epoch + 1);
        const n = await epochBatches.fill(xb, yb, bs, train.dim);
        if (augment) augmentBatch(xb, n, inputShape, augment, augmentRng!, scratch!);
        const lr = learningRateAt(opts.schedule, opts.learningRate, epoch * batches + b, totalSteps);
        const measure = meter.wants(b, n);
        tf.tidy(() => {
          const x = tf.tensor(xb.subarray(0, n * train.dim), [n, ...inputShape]);
          const labels = tf.tensor1d(yb.subarray(0, n), 'int32');
          const { loss, correct } = step.run(x, labels, lr, measure ? (activations) => meter.record(activations) : null);
          const nextLoss = tf.keep(lossSum.add(loss.mul(n)));
          const nextCorrect = tf.keep(correctSum.add(correct));
          lossSum.dispose();
          correctSum.dispose();
          correct.dispose();
          lossSum = nextLoss;
          correctSum = nextCorrect;
        });
        hooks.onBatch?.(epoch + 1, b + 1, batches);
        await new Promise<void>((res) => setImmediate(res));
      }
      const loss = (await lossSum.data())[0]! / train.count;
      const trainAccuracy = (await correctSum.data())[0]! / train.count;
      lossSum.dispose();
      correctSum.dispose();
      const oui = await meter.epochValue();
      const seconds = (performance.now() - t0) / 1000;
      const valAccuracy = val ? await accuracy(model, val) : null;
      const weights = await readWeights(model);
      const metrics: EpochMetrics = { epoch: epoch + 1, loss, trainAccuracy, valAccuracy, oui, seconds, samplesPerSecond: train.count / seconds, ...(await tracker?.step(model, weights)) };
      history.push(metrics);
      const ckpt = await snapshot(weights, epoch + 1, rng, augmentRng, meter, opt, history);
      last = ckpt;
      await hooks.onEpoch?.(metrics, ckpt);
      if (tracker?.shouldFreeze(history)) {
        done = epoch + 1;
        break;
      }
    }
    // The last epoch's checkpoint is the final state: read it again only where no epoch ran.
    return last?.epoch === done ? last : await snapshot(await readWeights(model), done, rng, augmentRng, meter, opt, history);
  } finally {
    tracker?.dispose();
    opt.dispose();
  }
}
