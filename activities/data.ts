/** Data preparation: read the source, split, standardise table features, store the splits as bundles. */
import { seededSplit } from '../ml/data/images.js';
import { applyStandardization, isImages, subsetOf, standardization, type Dataset } from '../ml/data/dataset.js';
import { oneHotMask } from '../ml/data/table.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import type { PrepareDataInput, PreparedData, Ref } from '../contracts/types.js';
import { confineSource, loadShard, loadSource, putSplit } from './sources.js';
import { readDataset } from './artifacts.js';

/** Default validation hold-out: 10 % of the training samples, at most 5,000 (Fashion-MNIST's 5,000 of 60,000 as before). */
const defaultValidation = (train: number) => Math.min(5000, Math.floor(train / 10));

/** Formats whose images train an MLP by default (the built-in grey sets, as lightpath always has). */
const MLP_IMAGE_FORMATS = ['idx', 'synthetic', 'bundle'];

/**
 * Reads the data source (see `loadSource`), holds out a seeded test split when the
 * source has none (`testFraction`) and a seeded validation split from the training
 * set, standardises table features with statistics of the training split only
 * (recorded with every split), and stores train/val/test as content-addressed bundles.
 */
export async function prepareData(input: PrepareDataInput): Promise<PreparedData> {
  await confineSource(input.source, input.store, 'data.source');
  const read = input.read ?? {};
  const {
    train: all,
    test: ownTest,
    format,
  } = await loadSource(input.source, 'data.source', {
    format: read.format,
    labelColumn: read.labelColumn,
    imageSize: read.imageSize,
    color: read.color,
    categorical: read.categorical,
    maxCategories: read.maxCategories,
    skipUnreadable: read.skipUnreadable,
  });
  let train = all;
  let test = ownTest;
  if (!test) {
    const held = Math.max(1, Math.round(all.count * (read.testFraction ?? 0.2)));
    if (held >= all.count) throw new InvalidInputError(`data.source: ${input.source} has ${all.count} samples, too few to hold out a test split`);
    const s = seededSplit(all.count, held, input.seed + 2);
    train = subsetOf(all, s.train);
    test = subsetOf(all, s.val);
  }
  const validationSize = input.validationSize ?? defaultValidation(train.count);
  if (validationSize >= train.count) {
    throw new InvalidInputError(`data.validationSize ${validationSize} must be below the ${train.count} training samples of ${input.source}`);
  }
  const store = openStore(input.store);
  const split = seededSplit(train.count, validationSize, input.seed);
  const trainRows = input.trainLimit
    ? Rng.fromSeed(input.seed + 1)
        .shuffle(split.train.slice())
        .subarray(0, input.trainLimit)
        .sort()
    : split.train;
  let trainSet = subsetOf(train, trainRows);
  let valSet = validationSize > 0 ? subsetOf(train, split.val) : null;
  let testSet = test;
  const p = trainSet.preprocessing;
  if (p.kind === 'table' || p.kind === 'array') {
    const { mean, std } = standardization(trainSet, p.kind === 'table' ? oneHotMask(p.columns) : undefined);
    // Every split here is a fresh copy (subsetOf, the reader's own arrays): standardised in place.
    const done = (d: Dataset) => ({ ...applyStandardization(d, mean, std), preprocessing: { ...p, mean, std } });
    trainSet = done(trainSet);
    valSet = valSet ? done(valSet) : null;
    testSet = done(testSet);
  }
  const images = isImages(trainSet);
  return {
    train: await putSplit(store, trainSet, 'train', input.source),
    val: valSet ? await putSplit(store, valSet, 'val', input.source) : null,
    test: await putSplit(store, testSet, 'test', input.source),
    counts: { train: trainSet.count, val: valSet?.count ?? 0, test: testSet.count },
    inputDim: trainSet.shape.reduce((a, b) => a * b, 1),
    inputShape: trainSet.shape,
    classes: trainSet.classNames.length,
    classNames: trainSet.classNames,
    kind: images ? 'images' : 'table',
    format,
    defaultModel: images && !MLP_IMAGE_FORMATS.includes(format) ? 'cnn' : 'mlp',
    validationSize,
    source: input.source,
  };
}

/**
 * Stores the training samples of `source` (`<source>[#k/n]`, see sources.ts) as a split: new data for a retrain.
 * With `like` (a split of the run, e.g. its test split), the source is read the way the run's data was and must
 * have its schema.
 */
export async function importShard(input: { store: string; source: string; like?: Ref | null }): Promise<Ref> {
  await confineSource(input.source, input.store, 'data');
  const like = input.like ? await readDataset(input.like) : undefined;
  return putSplit(openStore(input.store), await loadShard(input.source, 'data', like), 'shard', input.source);
}
