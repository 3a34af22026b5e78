/**
 * The pipeline configuration schema (validated on the client before anything
 * starts, and again when a workflow starts, so API users get the same errors).
 * Unknown fields are errors: a typo must not be silently ignored.
 */
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { glaiFeatureDim, glaiHeadWidths, glaiLayers } from './glai-head.js';

const positiveInt = z.number().int().positive();

/** The default weight-decay grid: 7 half-decades from 1e-5 to 1e-2. */
const HALF_DECADES = [1e-5, 3.16e-5, 1e-4, 3.16e-4, 1e-3, 3.16e-3, 1e-2];

/** Kernel initializers a config may name (ml/init/registry.ts implements them; a unit test keeps the lists equal). */
export const INITIALIZER_NAMES = ['sinusoidal', 'sinusoidalFullRank', 'glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'orthogonal', 'lsuv'] as const;

export const PipelineConfigSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, 'lower-case letters, digits and dashes, at most 40')
      .default('demo'),
    seed: z.number().int().nonnegative().default(42),
    data: z
      .object({
        /**
         * `fashion-mnist` (found locally by the worker), `synthetic` (small, generated), a folder holding the four IDX files,
         * an `.lpb` bundle, or — a local path or `s3://` location — class folders of images, a `.csv`/`.parquet` file or a
         * folder/prefix of them, an `.npz` file or a folder with `x.npy`/`y.npy`, a folder of CIFAR-10/100 binary batches.
         */
        source: z.string().min(1).default('fashion-mnist'),
        /** Which reader; `auto` picks it from the files. */
        format: z.enum(['auto', 'images', 'csv', 'parquet', 'numpy', 'cifar']).default('auto'),
        /** Validation samples held out of the training set (seeded); default min(5000, 10 % of it). */
        validationSize: z.number().int().nonnegative().optional(),
        /** Use at most this many training samples (a seeded subset); default: all. */
        trainLimit: positiveInt.optional(),
        /** Share of the samples held out (seeded) as the test split when the source has none of its own. */
        testFraction: z.number().gt(0).lt(1).default(0.2),
        /** Tables: the column holding the class (integers 0…k−1 or class names). */
        labelColumn: z.string().min(1).default('label'),
        /** Tables: text columns one-hot encoded, or refused naming the column. */
        categorical: z.enum(['onehot', 'refuse']).default('onehot'),
        /** Tables: a text column with more distinct values than this is refused (an id or free text, not a category). */
        maxCategories: positiveInt.default(100),
        /** Images: [height, width] every image is resized to; default: the first training image's size. */
        imageSize: z.tuple([positiveInt, positiveInt]).optional(),
        /** Images: `auto` = RGB when the first training image has colour channels, else grayscale. */
        color: z.enum(['auto', 'grayscale', 'rgb']).default('auto'),
        /** Images: skip unreadable or truncated images (counted in the prepared data) instead of failing. */
        skipUnreadable: z.boolean().default(false),
      })
      .strict()
      .default({ source: 'fashion-mnist', format: 'auto', testFraction: 0.2, labelColumn: 'label', categorical: 'onehot', maxCategories: 100, color: 'auto', skipUnreadable: false }),
    model: z
      .object({
        /** Default: from the data — `mlp` for tables, the built-in grey sets (Fashion-MNIST, synthetic, IDX, bundles) and GLAI runs, `cnn` for other images. */
        kind: z.enum(['mlp', 'cnn', 'resnet']).optional(),
        /** MLP hidden widths; default [256, 128], [64, 32] in GLAI runs (contracts/glai-head.ts). */
        hidden: z.array(positiveInt).min(1).optional(),
        /** CNN: filters of each conv-ReLU-maxpool stage. */
        filters: z.array(positiveInt).min(1).default([32, 64]),
        /** CNN: dense ReLU widths before the classifier; default [128], [64, 32] in GLAI runs. */
        dense: z.array(positiveInt).optional(),
        /** Residual CNN: channels of each stage. */
        channels: z.array(positiveInt).min(1).default([16, 32]),
        initializer: z.enum(INITIALIZER_NAMES).default('sinusoidal'),
      })
      .strict()
      .default({ filters: [32, 64], channels: [16, 32], initializer: 'sinusoidal' }),
    train: z
      .object({
        epochs: positiveInt.max(10_000).default(3),
        batchSize: z.number().int().min(2).default(128),
        learningRate: z.number().positive().default(1e-3),
        schedule: z.enum(['constant', 'cosine']).default('constant'),
        warmupEpochs: z.number().nonnegative().default(0),
        optimizer: z.enum(['adamw', 'sgd']).default('adamw'),
        momentum: z.number().min(0).max(1).default(0.9),
        weightDecay: z.number().nonnegative().default(1e-4),
        weightDecayMode: z.enum(['decoupled', 'coupled']).default('decoupled'),
        /**
         * Images: seeded augmentation of every training batch (random crop with `pad` pixels of zero padding, random
         * horizontal flip), drawn from the run's seed; off by default. OUI is measured on the augmented pass.
         */
        augment: z
          .object({ pad: z.number().int().min(0).max(64).default(0), flip: z.boolean().default(false) })
          .strict()
          .default({ pad: 0, flip: false }),
      })
      .strict()
      .default({
        augment: { pad: 0, flip: false },
        epochs: 3,
        batchSize: 128,
        learningRate: 1e-3,
        schedule: 'constant',
        warmupEpochs: 0,
        optimizer: 'adamw',
        momentum: 0.9,
        weightDecay: 1e-4,
        weightDecayMode: 'decoupled',
      }),
    oui: z
      .object({ pairs: positiveInt.default(28), every: z.number().int().nonnegative().default(10) })
      .strict()
      .default({ pairs: 28, every: 10 }),
    search: z
      .object({
        /**
         * `off`: train once with `train.weightDecay`. `search`: OUI-driven weight-decay search
         * that stops candidates early. `grid`: every candidate to the end (the baseline).
         * `controller`: one run whose weight decay is steered to keep OUI in the band.
         */
        mode: z.enum(['off', 'search', 'grid', 'controller']).default('off'),
        /** Weight decays to try; default 7 half-decades 1e-5 … 1e-2. */
        candidates: z.array(z.number().positive()).min(1).default(HALF_DECADES),
        band: z
          .tuple([z.number().min(0).max(1), z.number().min(0).max(1)])
          .refine(([lo, hi]) => lo < hi, 'low must be below high')
          .default([0.6, 0.8]),
        /** Nobody is stopped before this epoch; default 10 % of `train.epochs` (at least 1). */
        warmupEpochs: z.number().int().nonnegative().optional(),
        /** Epochs per training activity between decisions. */
        chunkEpochs: positiveInt.default(1),
        /** Candidates kept when several survive. */
        keep: positiveInt.default(1),
        /** Candidates training at once; default: the training slots of the GPU workers polling when the search starts. */
        concurrency: positiveInt.optional(),
        /** OUI change below which a surviving candidate counts as stable. */
        stability: z.number().positive().default(0.02),
        /** Controller: multiplicative weight-decay step, floor and ceiling. */
        controllerFactor: z.number().gt(1).default(2),
        floor: z.number().positive().default(1e-7),
        ceiling: z.number().positive().default(1),
      })
      .strict()
      .default({
        mode: 'off',
        candidates: HALF_DECADES,
        band: [0.6, 0.8],
        chunkEpochs: 1,
        keep: 1,
        stability: 0.02,
        controllerFactor: 2,
        floor: 1e-7,
        ceiling: 1,
      }),
    glai: z
      .object({
        /** Add the GLAI stages: structure extraction, one-pass estimator, evaluation. */
        enabled: z.boolean().default(false),
        /** Ridge strength λ, relative to the mean diagonal of A; used when the run has no validation split. */
        lambda: z.number().positive().default(1e-3),
        /** λ grid; the value with the least squared error on the validation split's statistics is chosen. */
        lambdas: z.array(z.number().positive()).default([1e-4, 3e-4, 1e-3, 3e-3, 1e-2]),
        /** What the ridge shrinks toward: the selector's own weights in feature space, or zero. */
        prior: z.enum(['selector', 'zero']).default('selector'),
        /** Ridge penalty of the bias features (pure gate products, constant) relative to the others. */
        biasPenalty: z.number().positive().max(1).default(1),
        /** Böhning cross-entropy passes after the ridge, from the selector (ml/glai/refine.ts; a new fit with a validation split only — updates and merges re-solve the ridge). */
        refineSteps: z.number().int().nonnegative().default(0),
        /** Hidden layer whose ReLU outputs are the features' values (0-based). */
        valueLayer: z.number().int().nonnegative().default(0),
        /** Hidden layer whose masks gate them (one); default: every hidden layer (see gateLayers). */
        gateLayer: z.number().int().nonnegative().optional(),
        /** Several gating layers, their masks stacked (replaces gateLayer): [0, 1] gives D = 6,305 for 784-64-32-10 (A: 303 MiB). */
        gateLayers: z.array(z.number().int().nonnegative()).min(1).optional(),
        /** Largest feature dimension D a run may ask for: A is D×D float64 (8,192 → 512 MiB, twice that with validation statistics). */
        maxFeatures: positiveInt.default(8192),
        /** Structure vs weight stabilization, tracked on a probe set every epoch of the selector's training. */
        stabilization: z
          .object({
            /** Probe samples (drawn once from the training set); 0 = off. */
            probe: z.number().int().nonnegative().default(512),
            /** Share of flipped ReLU bits per epoch under which the structure counts as settled. */
            threshold: z.number().positive().default(0.01),
            /** Relative weight change per epoch under which the weights count as settled. */
            weightThreshold: z.number().positive().default(0.01),
            /** Stop training (freeze the structure) after this many settled epochs; 0 = train to the budget. Ignored by the weight-decay search. */
            freezeAfter: z.number().int().nonnegative().default(0),
          })
          .strict()
          .default({ probe: 512, threshold: 0.01, weightThreshold: 0.01, freezeAfter: 0 }),
      })
      .strict()
      .default({
        enabled: false,
        lambda: 1e-3,
        lambdas: [1e-4, 3e-4, 1e-3, 3e-3, 1e-2],
        prior: 'selector',
        biasPenalty: 1,
        refineSteps: 0,
        valueLayer: 0,
        maxFeatures: 8192,
        stabilization: { probe: 512, threshold: 0.01, weightThreshold: 0.01, freezeAfter: 0 },
      }),
    execution: z
      .object({
        /** Artifact store URI (`s3://bucket/prefix` or a path); default: the client's configured store. */
        store: z.string().min(1).optional(),
        heartbeatTimeoutSeconds: positiveInt.default(120),
        trainTimeoutMinutes: positiveInt.default(24 * 60),
        maxTrainAttempts: positiveInt.default(5),
      })
      .strict()
      .default({ heartbeatTimeoutSeconds: 120, trainTimeoutMinutes: 24 * 60, maxTrainAttempts: 5 }),
  })
  .strict()
  .superRefine(checkGlaiHead);

/** Refuses, before anything trains, a GLAI run whose model has no dense ReLU head, whose feature layers do not exist, or whose feature map exceeds `glai.maxFeatures`. */
function checkGlaiHead(
  c: {
    model: { kind?: 'mlp' | 'cnn' | 'resnet' | undefined; hidden?: number[] | undefined; dense?: number[] | undefined };
    glai: { enabled: boolean; valueLayer: number; gateLayer?: number | undefined; gateLayers?: number[] | undefined; maxFeatures: number };
  },
  ctx: z.RefinementCtx,
): void {
  if (!c.glai.enabled) return;
  const kind = c.model.kind ?? 'mlp';
  const widths = glaiHeadWidths({ ...c.model, kind });
  const widthsField = kind === 'mlp' ? 'hidden' : 'dense';
  if (!widths || widths.length === 0) {
    const message =
      kind === 'resnet'
        ? 'GLAI needs a dense ReLU head (its selector is an MLP or a CNN with dense layers); a ResNet has none: use model.kind mlp or cnn'
        : 'GLAI needs at least one dense ReLU layer in the CNN head';
    ctx.addIssue({ code: 'custom', path: ['model', kind === 'resnet' ? 'kind' : 'dense'], message });
    return;
  }
  const layers = glaiLayers(c.glai, widths.length);
  const outside = [['valueLayer', layers.valueLayer] as const, ...layers.gateLayers.map((l) => ['gateLayers', l] as const)].find(([, l]) => l >= widths.length);
  if (outside) {
    ctx.addIssue({ code: 'custom', path: ['glai', outside[0]], message: `layer ${outside[1]} does not exist: model.${widthsField} has ${widths.length} hidden layer(s), 0-based` });
    return;
  }
  const d = glaiFeatureDim(widths, layers);
  if (d > c.glai.maxFeatures) {
    const mib = Math.round((d * d * 8) / 2 ** 20);
    ctx.addIssue({
      code: 'custom',
      path: ['model', widthsField],
      message: `GLAI's feature map would have D = ${d} (A: ${mib} MiB in float64), more than glai.maxFeatures = ${c.glai.maxFeatures}: narrow model.${widthsField} (GLAI's default is [64, 32]), gate on fewer layers (glai.gateLayers), or raise glai.maxFeatures`,
    });
  }
}

/** A validated pipeline configuration (defaults filled in). */
export type PipelineConfig = z.infer<typeof PipelineConfigSchema>;

/** A pipeline configuration as a user writes it (every field with a default may be left out). */
export type PipelineConfigInput = z.input<typeof PipelineConfigSchema>;

/** Validates raw configuration (parsed YAML/JSON); `source` names the file in the error. */
export function parsePipelineConfig(raw: unknown, source = 'config'): PipelineConfig {
  const r = PipelineConfigSchema.safeParse(raw ?? {});
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => ({ path: i.path.join('.') || '(root)', message: i.message }));
  throw new ConfigError(`${source}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, issues);
}
