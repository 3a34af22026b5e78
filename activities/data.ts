/** Data preparation: read the source, split, standardise table features, store the splits as bundles (in shards when the source exceeds the worker's memory budget). */
import { seededSplit } from '../ml/data/images.js';
import { applyStandardization, isImages, sampleSize, subsetOf, standardization, StandardizationSums, type Dataset, type Preprocessing } from '../ml/data/dataset.js';
import { forEachEncodedRow, summarizeTable, type StreamedTable, type TableSummary } from '../ml/data/table-stream.js';
import { decodeImageFiles, imageBytes, type ImageFile, type ImageFolderPlan } from '../ml/data/image-folder.js';
import type { DataFiles } from '../ml/data/files.js';
import type { ArtifactStore } from '../storage/artifact-store.js';
import { oneHotMask } from '../ml/data/table.js';
import { Rng } from '../ml/rng.js';
import { InvalidInputError } from '../contracts/errors.js';
import { openStore } from '../storage/open.js';
import type { PrepareDataInput, PreparedData, Ref, SourceContent } from '../contracts/types.js';
import { confineSource, imageFolderSource, loadShard, loadSource, putSplit, sourceListing, tableSource } from './sources.js';
import { ShardedSplitWriter, splitSchema } from './splits.js';
import { dataMemoryBudget, shardRows, streamsTable } from './data-budget.js';
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
    // `shards`: the shards of sharded splits, which must exist as well (older indexes have none).
    const { shards = [], ...found } = JSON.parse(new TextDecoder().decode(indexed)) as PreparedData & { shards?: Ref[] };
    const refs = [found.train, found.val, found.test, ...shards].filter((r): r is Ref => r !== null);
    if ((await Promise.all(refs.map((r) => store.stat(r.uri)))).every((s) => s !== null)) return { ...found, source: input.source, content, reused: true };
  }
  const { prepared, shards } = await prepareSplits(input);
  await store.putNamed(key, new TextEncoder().encode(JSON.stringify({ ...prepared, content, ...(shards.length ? { shards } : {}) })));
  return { ...prepared, content, reused: false };
}

/** Rows (indices into a source's training samples) of each split: see `prepareSplits`. `test` is null when the source has its own test split. */
function cutRows(count: number, ownTest: boolean, input: PrepareDataInput): { train: Int32Array; val: Int32Array | null; test: Int32Array | null; validationSize: number } {
  let trainPart: Int32Array | null = null;
  let test: Int32Array | null = null;
  if (!ownTest) {
    const held = Math.max(1, Math.round(count * (input.read?.testFraction ?? 0.2)));
    if (held >= count) throw new InvalidInputError(`data.source: ${input.source} has ${count} samples, too few to hold out a test split`);
    const s = seededSplit(count, held, input.seed + 2);
    trainPart = s.train;
    test = s.val;
  }
  const trainCount = trainPart ? trainPart.length : count;
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
  return { train: rowsOfAll(trainRows), val: validationSize > 0 ? rowsOfAll(split.val) : null, test, validationSize };
}

/** The reader options of a prepare input. */
const readOptionsOf = (input: PrepareDataInput) => {
  const read = input.read ?? {};
  return {
    format: read.format,
    labelColumn: read.labelColumn,
    imageSize: read.imageSize,
    color: read.color,
    categorical: read.categorical,
    maxCategories: read.maxCategories,
    skipUnreadable: read.skipUnreadable,
  };
};

/**
 * Reads the source and cuts its splits. Every split is copied once out of the source's
 * samples (rows composed, never a subset of a subset), and the source's samples are
 * unreferenced once this returns, before the splits are encoded: the peak is about
 * twice the samples.
 */
async function readAndSplit(input: PrepareDataInput): Promise<{ trainSet: Dataset; valSet: Dataset | null; testSet: Dataset; format: string; validationSize: number }> {
  const { train: all, test: ownTest, format } = await loadSource(input.source, 'data.source', readOptionsOf(input));
  const rows = cutRows(all.count, ownTest !== null, input);
  return {
    trainSet: subsetOf(all, rows.train),
    valSet: rows.val ? subsetOf(all, rows.val) : null,
    testSet: ownTest ?? subsetOf(all, rows.test!),
    format,
    validationSize: rows.validationSize,
  };
}

/** Seed offset of the order a training split's shards are written in (a seeded permutation: every shard a sample of every class). */
const SHARD_ORDER_SEED = 3;

/** The seeded order a training split of `count` rows is stored in shards in (indices into the split). */
const shardOrder = (seed: number, count: number) => Rng.fromSeed(seed + SHARD_ORDER_SEED).shuffle(Int32Array.from({ length: count }, (_, i) => i));

/** What `prepareSplits` returns: the prepared data and the shards of its sharded splits (for the reuse check). */
interface Prepared {
  prepared: PreparedData;
  shards: Ref[];
}

/** Bytes of a data set's samples. */
const bytesOf = (d: Dataset) => d.x.byteLength;

/** Stores `d` as a sharded split of `perShard` rows a shard, rows in `order` (default: as they are). */
async function putSharded(store: ArtifactStore, d: Dataset, split: string, source: string, perShard: number, order: Int32Array | null): Promise<{ ref: Ref; shards: Ref[] }> {
  const writer = new ShardedSplitWriter(store, split, source);
  for (let from = 0; from < d.count; from += perShard) {
    const to = Math.min(d.count, from + perShard);
    await writer.add(subsetOf(d, order ? order.subarray(from, to) : Int32Array.from({ length: to - from }, (_, i) => from + i)));
  }
  return { ref: await writer.finish(d.preprocessing), shards: writer.shards };
}

/**
 * Reads the data source (see `loadSource`), holds out a seeded test split when the
 * source has none (`testFraction`) and a seeded validation split from the training
 * set, standardises table features with statistics of the training split only
 * (recorded with every split), and stores train/val/test as content-addressed bundles.
 * A source larger than the worker's memory budget (data-budget.ts) is stored in shards:
 * an image folder is decoded shard by shard (`prepareImageShards`); other sources are
 * read whole, then every split larger than a shard is stored sharded, the training
 * split's rows in a seeded random order. A table whose files are large for the budget
 * is never read whole (`prepareTableStream`).
 */
async function prepareSplits(input: PrepareDataInput): Promise<Prepared> {
  await confineSource(input.source, input.store, 'data.source');
  const budget = dataMemoryBudget();
  const images = await imageFolderSource(input.source, 'data.source', readOptionsOf(input));
  if (images && imageBytes(images.plan) * (images.plan.train.length + (images.plan.test?.length ?? 0)) > budget) return prepareImageShards(input, images.files, images.plan, budget);
  const table = images ? null : await tableSource(input.source, 'data.source', readOptionsOf(input));
  if (
    table &&
    streamsTable(
      [...table.train, ...table.test].reduce((n, f) => n + f.bytes, 0),
      budget,
    )
  )
    return prepareTableStream(input, table, budget);
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
  const oversize = bytesOf(trainSet) + (valSet ? bytesOf(valSet) : 0) + bytesOf(testSet) > budget;
  const perShard = shardRows(budget, bytesOf(trainSet) / Math.max(1, trainSet.count));
  const shards: Ref[] = [];
  const put = async (d: Dataset, split: string): Promise<Ref> => {
    if (!oversize || d.count <= perShard) return putSplit(store, d, split, input.source);
    const order = split === 'train' ? shardOrder(input.seed, d.count) : null;
    const out = await putSharded(store, d, split, input.source, perShard, order);
    shards.push(...out.shards);
    return out.ref;
  };
  const prepared: PreparedData = {
    train: await put(trainSet, 'train'),
    val: valSet ? await put(valSet, 'val') : null,
    test: await put(testSet, 'test'),
    counts: { train: trainSet.count, val: valSet?.count ?? 0, test: testSet.count },
    ...describe(trainSet, format, input.source, validationSize),
  };
  return { prepared, shards };
}

/** What prepared data says about its samples besides the splits and their counts. */
function describe(d: Pick<Dataset, 'shape' | 'classNames'>, format: string, source: string, validationSize: number): Omit<PreparedData, 'train' | 'val' | 'test' | 'counts'> {
  const images = isImages(d);
  return {
    inputDim: sampleSize(d.shape),
    inputShape: d.shape,
    classes: d.classNames.length,
    classNames: d.classNames,
    kind: images ? 'images' : 'table',
    format,
    defaultModel: images && !MLP_IMAGE_FORMATS.includes(format) ? 'cnn' : 'mlp',
    validationSize,
    source,
  };
}

/**
 * Prepares an image folder larger than the memory budget without holding it: the splits
 * are cut from its file list (as `cutRows` cuts decoded samples; with `skipUnreadable`,
 * an unreadable file drops out of the split it was cut into), and each split is decoded
 * `shardRows` images at a time, every batch stored as a shard as soon as it is decoded.
 * The training split's files are decoded in a seeded random order.
 */
async function prepareImageShards(input: PrepareDataInput, src: DataFiles, plan: ImageFolderPlan, budget: number): Promise<Prepared> {
  const store = openStore(input.store);
  const rows = cutRows(plan.train.length, plan.test !== null, input);
  const perShard = shardRows(budget, imageBytes(plan));
  const shards: Ref[] = [];
  const filesOf = (r: Int32Array) => Array.from(r, (i) => plan.train[i]!);
  const write = async (files: ImageFile[], split: string) => {
    const writer = new ShardedSplitWriter(store, split, input.source);
    let resized = 0;
    let skipped = 0;
    let shape: number[] = [];
    for (let from = 0; from < files.length; from += perShard) {
      const d = await decodeImageFiles(src, plan, files.slice(from, from + perShard));
      resized += d.preprocessing.resized;
      skipped += d.preprocessing.skipped;
      shape = d.shape;
      await writer.add(d);
    }
    if (split === 'train' && writer.count === 0) throw new InvalidInputError(`${src.location}: none of its ${files.length} training images could be read`);
    const ref = await writer.finish({ kind: 'images', size: plan.size, color: plan.color, scale: 1 / 255, resized, skipped });
    shards.push(...writer.shards);
    return { ref, count: writer.count, shape };
  };
  const order = Rng.fromSeed(input.seed + SHARD_ORDER_SEED).shuffle(rows.train.slice());
  const train = await write(filesOf(order), 'train');
  const val = rows.val ? await write(filesOf(rows.val), 'val') : null;
  const test = await write(plan.test ?? filesOf(rows.test!), 'test');
  const prepared: PreparedData = {
    train: train.ref,
    val: val?.ref ?? null,
    test: test.ref,
    counts: { train: train.count, val: val?.count ?? 0, test: test.count },
    ...describe({ shape: train.shape, classNames: plan.classNames }, 'images', input.source, rows.validationSize),
  };
  return { prepared, shards };
}

/** Rows of a split stored as one bundle (`sharded` false) or as one of its shards. */
interface Chunk {
  split: 'train' | 'val' | 'test';
  /** Row numbers (table-stream.ts), in the order stored. */
  rows: Int32Array;
  sharded: boolean;
}

/**
 * Prepares a table too large to parse whole (data-budget.ts `streamsTable`) by streaming
 * its rows (ml/data/table-stream.ts), with the same outcome as the in-memory path:
 *   1. a summary pass: rows, classes, column kinds; the splits are cut from the row count
 *      as `cutRows` cuts read rows;
 *   2. a statistics pass over the training files: the training rows' standardisation
 *      sums, in file order — the in-memory training split's order, so the same mean/std;
 *   3. writing passes: every split is one chunk when the splits fit the budget, else
 *      shards of `shardRows` rows (the training split's rows in `putSharded`'s seeded
 *      order: the same rows in the same shards). Chunks are filled, standardised, at most
 *      half the budget at a time — one pass over the files per fill — and each stored once
 *      filled. Rather than spill rows to disk in a first pass, each pass reads the source
 *      again: it is already on disk or S3, and a pass is a parse, not a sort.
 * Besides the budget, a row's chunk and place take 8 bytes a row (two int32 arrays).
 */
async function prepareTableStream(input: PrepareDataInput, table: StreamedTable, budget: number): Promise<Prepared> {
  const s = await summarizeTable(table, readOptionsOf(input));
  const rows = cutRows(s.trainCount, s.testCount > 0, input);
  const preprocessing = await trainingStatistics(table, s, rows.train);
  const testRows = rows.test ?? Int32Array.from({ length: s.testCount }, (_, i) => s.trainCount + i);
  const rowBytes = s.width * Float32Array.BYTES_PER_ELEMENT;
  const oversize = (rows.train.length + (rows.val?.length ?? 0) + testRows.length) * rowBytes > budget;
  const perShard = shardRows(budget, rowBytes);
  const chunks: Chunk[] = [];
  const cut = (split: Chunk['split'], r: Int32Array) => {
    if (!oversize || r.length <= perShard) return void chunks.push({ split, rows: r, sharded: false });
    const ordered = split === 'train' ? shardOrder(input.seed, r.length).map((i) => r[i]!) : r;
    for (let from = 0; from < r.length; from += perShard) chunks.push({ split, rows: ordered.subarray(from, from + perShard), sharded: true });
  };
  cut('train', rows.train);
  if (rows.val) cut('val', rows.val);
  cut('test', testRows);
  const { refs, shards } = await storeChunks(input, table, s, preprocessing, chunks, rows.test === null, budget / 2);
  const prepared: PreparedData = {
    train: refs.train!,
    val: refs.val ?? null,
    test: refs.test!,
    counts: { train: rows.train.length, val: rows.val?.length ?? 0, test: testRows.length },
    ...describe({ shape: [s.width], classNames: s.classNames }, table.format, input.source, rows.validationSize),
  };
  return { prepared, shards };
}

/** The streamed table's preprocessing with the standardisation statistics of its training rows `train` (ascending, as the in-memory split holds them). */
async function trainingStatistics(table: StreamedTable, s: TableSummary, train: Int32Array): Promise<Preprocessing & { kind: 'table' }> {
  const inTrain = new Uint8Array(s.trainCount);
  for (const r of train) inTrain[r] = 1;
  const sums = new StandardizationSums(s.width);
  // Every training-file row is encoded (its defects refused), the training split's added.
  await forEachEncodedRow(
    table,
    'train',
    s,
    () => true,
    (r, x) => {
      if (inTrain[r] === 1) sums.add(x);
    },
  );
  const { mean, std } = sums.result(oneHotMask(s.columns));
  return { kind: 'table', labelColumn: s.labelColumn, columns: s.columns, mean, std };
}

/**
 * Fills `chunks` from the streamed table, standardised with `preprocessing`, at most
 * `fillBytes` of them at a time (one pass over the files each), and stores each once
 * filled: a whole split as its bundle, a shard with its split's writer.
 */
async function storeChunks(
  input: PrepareDataInput,
  table: StreamedTable,
  s: TableSummary,
  preprocessing: Preprocessing & { kind: 'table' },
  chunks: Chunk[],
  ownTest: boolean,
  fillBytes: number,
): Promise<{ refs: Partial<Record<Chunk['split'], Ref>>; shards: Ref[] }> {
  const store = openStore(input.store);
  const { mean, std } = preprocessing;
  const bytesOf = (c: Chunk) => c.rows.length * s.width * Float32Array.BYTES_PER_ELEMENT;
  const chunkOf = new Int32Array(s.trainCount + s.testCount).fill(-1);
  const placeOf = new Int32Array(s.trainCount + s.testCount);
  chunks.forEach((c, k) => c.rows.forEach((r, i) => ((chunkOf[r] = k), (placeOf[r] = i))));
  const refs: Partial<Record<Chunk['split'], Ref>> = {};
  const writers = new Map<Chunk['split'], ShardedSplitWriter>();
  for (let from = 0; from < chunks.length;) {
    let to = from + 1;
    for (let bytes = bytesOf(chunks[from]!); to < chunks.length && bytes + bytesOf(chunks[to]!) <= fillBytes; to++) bytes += bytesOf(chunks[to]!);
    const filled = chunks.slice(from, to).map((c) => ({ x: new Float32Array(c.rows.length * s.width), labels: new Int32Array(c.rows.length) }));
    // The source's own test split is its test files: a fill reads the files its rows are in.
    const inTestFiles = chunks.slice(from, to).map((c) => c.split === 'test' && ownTest);
    const files = inTestFiles.every(Boolean) ? 'test' : inTestFiles.some(Boolean) ? 'all' : 'train';
    await forEachEncodedRow(
      table,
      files,
      s,
      (r) => chunkOf[r]! >= from && chunkOf[r]! < to,
      (r, x, label) => {
        const out = filled[chunkOf[r]! - from]!;
        const at = placeOf[r]! * s.width;
        for (let k = 0; k < s.width; k++) out.x[at + k] = (x[k]! - mean[k]!) / std[k]!;
        out.labels[placeOf[r]!] = label;
      },
    );
    for (let k = from; k < to; k++) {
      const c = chunks[k]!;
      const d: Dataset = { shape: [s.width], count: c.rows.length, ...filled[k - from]!, classNames: s.classNames, preprocessing };
      if (!c.sharded) refs[c.split] = await putSplit(store, d, c.split, input.source);
      else {
        const writer = writers.get(c.split) ?? new ShardedSplitWriter(store, c.split, input.source);
        writers.set(c.split, writer);
        await writer.add(d);
      }
    }
    from = to;
  }
  const shards: Ref[] = [];
  for (const [split, writer] of writers) {
    refs[split] = await writer.finish(preprocessing);
    shards.push(...writer.shards);
  }
  return { refs, shards };
}

/**
 * Stores the training samples of `source` (`<source>[#k/n]`, see sources.ts) as a split: new data for a retrain.
 * With `like` (a split of the run, e.g. its test split), the source is read the way the run's data was and must
 * have its schema.
 */
export async function importShard(input: { store: string; source: string; like?: Ref | null }): Promise<Ref> {
  await confineSource(input.source, input.store, 'data');
  const like = input.like ? await splitSchema(input.like) : undefined;
  return putSplit(openStore(input.store), await loadShard(input.source, 'data', like), 'shard', input.source);
}
