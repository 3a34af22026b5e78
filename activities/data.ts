/** Data preparation: read the source IDX files, split, store the splits as bundles. */
import { existsSync } from 'node:fs';
import { loadFashionMnist, findFashionMnist, type ImageSet } from '../ml/data/fashion-mnist.js';
import { seededSplit } from '../ml/data/images.js';
import { syntheticImages } from '../ml/data/synthetic.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../ml/errors.js';
import { openStore } from '../storage/open.js';
import { encodeBundle } from '../storage/bundle.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import type { PrepareDataInput, PreparedData, Ref } from '../workflows/types.js';
import { badInputIsFinal } from './failures.js';

function subset(set: ImageSet, rows: ArrayLike<number>): ImageSet {
  const dim = set.height * set.width;
  const images = new Uint8Array(rows.length * dim);
  const labels = new Uint8Array(rows.length);
  for (let r = 0; r < rows.length; r++) {
    const i = rows[r]!;
    images.set(set.images.subarray(i * dim, (i + 1) * dim), r * dim);
    labels[r] = set.labels[i]!;
  }
  return { images, labels, count: rows.length, height: set.height, width: set.width };
}

function putSplit(store: ArtifactStore, set: ImageSet, split: string, source: string): Promise<Ref> {
  return store.put(
    encodeBundle({
      meta: { kind: 'image-set', split, source, count: set.count, height: set.height, width: set.width, classes: 10 },
      arrays: { images: set.images, labels: set.labels },
    }),
  );
}

/** Reads a data source: `fashion-mnist`, `synthetic`, or a folder with the four Fashion-MNIST IDX files. */
async function loadSource(source: string): Promise<{ train: ImageSet; test: ImageSet }> {
  if (source === 'synthetic') return syntheticImages();
  const dir = source === 'fashion-mnist' ? findFashionMnist() : source;
  if (dir !== null && !existsSync(dir)) throw new InvalidInputError(`data.source: folder ${dir} does not exist`);
  return loadFashionMnist(dir);
}

/**
 * Reads the data source (see `loadSource`), holds out a seeded validation split from the training set, and
 * stores train/val/test as content-addressed bundles.
 */
export function prepareData(input: PrepareDataInput): Promise<PreparedData> {
  return badInputIsFinal(async () => {
    const { train, test } = await loadSource(input.source);
    if (input.validationSize >= train.count) {
      throw new InvalidInputError(`data.validationSize ${input.validationSize} must be below the ${train.count} training samples of ${input.source}`);
    }
    const store = openStore(input.store);
    const split = seededSplit(train.count, input.validationSize, input.seed);
    const trainRows = input.trainLimit ? Rng.fromSeed(input.seed + 1).shuffle(split.train.slice()).subarray(0, input.trainLimit).sort() : split.train;
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
  });
}
