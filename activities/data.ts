/** Data preparation: read the source IDX files, split, store the splits as bundles. */
import { seededSplit } from '../ml/data/images.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import type { PrepareDataInput, PreparedData, Ref } from '../contracts/types.js';
import { confineSource, loadShard, loadSource, putSplit, subset } from './sources.js';

/**
 * Reads the data source (see `loadSource`), holds out a seeded validation split from the training set, and
 * stores train/val/test as content-addressed bundles.
 */
export async function prepareData(input: PrepareDataInput): Promise<PreparedData> {
  await confineSource(input.source, input.store, 'data.source');
  const { train, test } = await loadSource(input.source);
  if (!test) throw new InvalidInputError(`data.source: ${input.source} is a single image set; a pipeline needs a source with a test set (fashion-mnist, synthetic or an IDX folder)`);
  if (input.validationSize >= train.count) {
    throw new InvalidInputError(`data.validationSize ${input.validationSize} must be below the ${train.count} training samples of ${input.source}`);
  }
  const store = openStore(input.store);
  const split = seededSplit(train.count, input.validationSize, input.seed);
  const trainRows = input.trainLimit
    ? Rng.fromSeed(input.seed + 1)
        .shuffle(split.train.slice())
        .subarray(0, input.trainLimit)
        .sort()
    : split.train;
  const trainSet = subset(train, trainRows);
  const valSet = input.validationSize > 0 ? subset(train, split.val) : null;
  return {
    train: await putSplit(store, trainSet, 'train', input.source),
    val: valSet ? await putSplit(store, valSet, 'val', input.source) : null,
    test: await putSplit(store, test, 'test', input.source),
    counts: { train: trainSet.count, val: valSet?.count ?? 0, test: test.count },
    inputDim: train.height * train.width,
    imageShape: [train.height, train.width, 1],
    classes: 10,
    source: input.source,
  };
}

/** Stores the training samples of `source` (`<source>[#k/n]`, see sources.ts) as a split: new data for a retrain. */
export async function importShard(input: { store: string; source: string }): Promise<Ref> {
  await confineSource(input.source, input.store, 'data');
  return putSplit(openStore(input.store), await loadShard(input.source, 'data'), 'shard', input.source);
}
