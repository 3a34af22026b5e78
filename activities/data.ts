/** Data preparation: read the source, split, standardise table features, store the splits as bundles. */
import { seededSplit } from '../ml/data/images.js';
import { applyStandardization, isImages, subsetOf, standardization, type Dataset } from '../ml/data/dataset.js';
import { oneHotMask } from '../ml/data/table.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import type { PrepareDataInput, PreparedData, Ref, SourceContent } from '../contracts/types.js';
import { confineSource, loadShard, loadSource, putSplit, sourceListing } from './sources.js';
import { readDataset } from './artifacts.js';
import { stageKey } from './stages.js';
import { sha256Hex } from '../storage/hash.js';

/** Default validation hold-out: 10 % of the training samples, at most 5,000 (Fashion-MNIST's 5,000 of 60,000 as before). */
const defaultValidation = (train: number) => Math.min(5000, Math.floor(train / 10));

/** Formats whose images train an MLP by default (the built-in grey sets, as lightpath always has). */
const MLP_IMAGE_FORMATS = ['idx', 'synthetic', 'bundle'];

/** What the source holds, from its listing (see SourceContent): the pipeline keys its prepare stage with it. */
export async function sourceContent(input: { store: string; source: string }): Promise<SourceContent> {
  await confineSource(input.source, input.store, 'data.source');
  const files = await sourceListing(input.source, 'data.source');
  if (!files) return { key: input.source, files: 0, bytes: 0 };
  const listing = files.map((f) => `${f.name}\t${f.bytes}\t${f.version}`).join('\n');
  return { key: sha256Hex(new TextEncoder().encode(listing)), files: files.length, bytes: files.reduce((n, f) => n + f.bytes, 0) };
}

/** Store key of the index of splits prepared from one content with one set of settings (and this code version). */
const preparedKey = (input: PrepareDataInput, content: SourceContent) =>
  `prepared/${stageKey('prepare-data', { content: content.key, validationSize: input.validationSize, trainLimit: input.trainLimit, seed: input.seed, read: input.read ?? {} })}.json`;

/**
 * Prepares the source's splits (see `prepareSplits`), content-addressed: the splits are
 * indexed by the source's content (its listing: names, sizes, mtimes or ETags — nothing
 * read) and the settings, so preparing unchanged data again, from any run, reuses them
 * (`reused: true`) without reading the source; a changed, added or removed file is a new key.
 */
export async function prepareData(input: PrepareDataInput): Promise<PreparedData> {
  const content = await sourceContent(input);
  const store = openStore(input.store);
  const key = preparedKey(input, content);
  const indexed = await store.getNamed(key);
  if (indexed) {
    const found = JSON.parse(new TextDecoder().decode(indexed)) as PreparedData;
    const refs = [found.train, found.val, found.test].filter((r): r is Ref => r !== null);
    if ((await Promise.all(refs.map((r) => store.stat(r.uri)))).every((s) => s !== null)) return { ...found, source: input.source, content, reused: true };
  }
  const prepared = { ...(await prepareSplits(input)), content };
  await store.putNamed(key, new TextEncoder().encode(JSON.stringify(prepared)));
  return { ...prepared, reused: false };
}

/**
 * Reads the source and cuts its splits. Every split is copied once out of the source's
 * samples (rows composed, never a subset of a subset), and the source's samples are
 * unreferenced once this returns, before the splits are encoded: the peak is about
 * twice the samples.
 */
async function readAndSplit(input: PrepareDataInput): Promise<{ trainSet: Dataset; valSet: Dataset | null; testSet: Dataset; format: string; validationSize: number }> {
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
  let testSet = ownTest;
  let trainPart: Int32Array | null = null;
  if (!testSet) {
    const held = Math.max(1, Math.round(all.count * (read.testFraction ?? 0.2)));
    if (held >= all.count) throw new InvalidInputError(`data.source: ${input.source} has ${all.count} samples, too few to hold out a test split`);
    const s = seededSplit(all.count, held, input.seed + 2);
    trainPart = s.train;
    testSet = subsetOf(all, s.val);
  }
  const trainCount = trainPart ? trainPart.length : all.count;
  const validationSize = input.validationSize ?? defaultValidation(trainCount);
  if (validationSize >= trainCount) {
    throw new InvalidInputError(`data.validationSize ${validationSize} must be below the ${trainCount} training samples of ${input.source}`);
  }
  const split = seededSplit(trainCount, validationSize, input.seed);
  const trainRows = input.trainLimit
    ? Rng.fromSeed(input.seed + 1)
        .shuffle(split.train.slice())
        .subarray(0, input.trainLimit)
        .sort()
    : split.train;
  const rowsOfAll = (rows: Int32Array) => (trainPart ? rows.map((r) => trainPart[r]!) : rows);
  return {
    trainSet: subsetOf(all, rowsOfAll(trainRows)),
    valSet: validationSize > 0 ? subsetOf(all, rowsOfAll(split.val)) : null,
    testSet,
    format,
    validationSize,
  };
}

/**
 * Reads the data source (see `loadSource`), holds out a seeded test split when the
 * source has none (`testFraction`) and a seeded validation split from the training
 * set, standardises table features with statistics of the training split only
 * (recorded with every split), and stores train/val/test as content-addressed bundles.
 */
async function prepareSplits(input: PrepareDataInput): Promise<PreparedData> {
  await confineSource(input.source, input.store, 'data.source');
  const cut = await readAndSplit(input);
  const { format, validationSize } = cut;
  let { trainSet, valSet, testSet } = cut;
  const store = openStore(input.store);
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
