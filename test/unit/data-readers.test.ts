import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { zipSync } from 'fflate';
import { readDataSource } from '../../ml/data/read-source.js';
import { parseNpy } from '../../ml/data/numpy.js';
import { checkSameSchema } from '../../ml/data/dataset.js';
import { openDataFiles } from '../../storage/data-files.js';
import { prepareData } from '../../activities/data.js';
import { readDataset } from '../../activities/artifacts.js';
import { loadShard } from '../../activities/sources.js';
import { InvalidInputError } from '../../contracts/errors.js';
import { image, imageFolder, npy, parquetOf, put, tableRows } from '../helpers/data-files.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lp-data-'));
const read = async (location: string, opts = {}) => readDataSource(await openDataFiles(location, 'data.source'), opts);
const refuses = async (p: Promise<unknown>, message: RegExp) => {
  await assert.rejects(p, (e: Error) => {
    assert.ok(e instanceof InvalidInputError, `InvalidInputError, got ${e.name}: ${e.message}`);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    assert.match(e.message, message);
    return true;
  });
};

test('image folder: classes from folders, sizes resized to the first image, grey or RGB, pixel scaling recorded', async () => {
  const root = tmp();
  try {
    await imageFolder(root, ['cat', 'dog'], 4, [
      [12, 12],
      [16, 10],
    ]);
    put(root, 'dog/extra.jpg', await image(9, 7, 3, 'jpg'));
    put(root, 'cat/extra.webp', await image(12, 12, 5, 'webp'));
    put(root, 'README.txt', 'not an image');
    const { train, test: t, format } = await read(root);
    assert.equal(format, 'images');
    assert.equal(t, null);
    assert.deepEqual(train.classNames, ['cat', 'dog']);
    assert.deepEqual(train.shape, [12, 12, 1]);
    assert.equal(train.count, 10);
    assert.deepEqual(Array.from(train.labels), [0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
    assert.ok(train.x instanceof Uint8Array && train.x.length === 10 * 144);
    const p = train.preprocessing;
    assert.ok(p.kind === 'images');
    assert.equal(p.color, 'grayscale');
    assert.equal(p.scale, 1 / 255);
    assert.equal(p.resized, 5, 'the four 16×10 images and the 9×7 JPEG were resized');
    // Class 0 (cat) is bright on the left half.
    assert.ok(train.x[12 * 6 + 1]! > 150 && train.x[12 * 6 + 10]! < 100);

    const rgb = await read(root, { imageSize: [8, 6], color: 'rgb' });
    assert.deepEqual(rgb.train.shape, [8, 6, 3]);
    assert.equal(rgb.train.x.length, 10 * 8 * 6 * 3);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('image folder with train/ and test/ splits; colour auto-detected', async () => {
  const root = tmp();
  try {
    await imageFolder(root, ['a', 'b', 'c'], 3, [[8, 8]], 3, 'train/');
    await imageFolder(root, ['a', 'b'], 2, [[8, 8]], 3, 'test/');
    const { train, test: t } = await read(root);
    assert.deepEqual(train.classNames, ['a', 'b', 'c']);
    assert.deepEqual(train.shape, [8, 8, 3]);
    assert.equal(train.count, 9);
    assert.equal(t!.count, 4);
    assert.deepEqual(t!.classNames, ['a', 'b', 'c']);
    assert.deepEqual(Array.from(t!.labels), [0, 0, 1, 1]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bad images: truncated (named, or skipped and counted), an empty class folder', async () => {
  const root = tmp();
  try {
    await imageFolder(root, ['a', 'b'], 3, [[8, 8]]);
    const good = readFileSync(join(root, 'a/0001.png'));
    writeFileSync(join(root, 'a/0001.png'), good.subarray(0, good.length - 30));
    await refuses(read(root), /a\/0001\.png: unreadable or truncated image .*data\.skipUnreadable/);
    const skipped = await read(root, { skipUnreadable: true });
    assert.equal(skipped.train.count, 5);
    assert.equal(skipped.train.preprocessing.kind === 'images' && skipped.train.preprocessing.skipped, 1);
    writeFileSync(join(root, 'a/0001.png'), good);
    mkdirSync(join(root, 'empty'));
    await refuses(read(root), /empty: class folder holds no images/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CSV: numeric and one-hot columns, string labels, configurable label column', async () => {
  const root = tmp();
  try {
    const { csv } = tableRows(30);
    const file = put(root, 'churn.csv', csv);
    const { train, test: t, format } = await read(file);
    assert.equal(format, 'csv');
    assert.equal(t, null);
    assert.deepEqual(train.classNames, ['a', 'b', 'c']);
    assert.deepEqual(train.shape, [5], 'f0, f1 and colour one-hot over blue, green, red');
    const p = train.preprocessing;
    assert.ok(p.kind === 'table');
    assert.deepEqual(
      p.columns.map((c) => c.name),
      ['f0', 'f1', 'colour'],
    );
    assert.deepEqual(p.columns[2], { name: 'colour', kind: 'categorical', categories: ['blue', 'green', 'red'] });
    const row0 = Array.from(train.x.subarray(0, 5));
    assert.equal(
      row0.slice(2).reduce((a, b) => a + b, 0),
      1,
      'one-hot',
    );

    put(root, 'int.csv', 'x,target\n1.5,0\n2,2\n3,1\n');
    const ints = await read(join(root, 'int.csv'), { labelColumn: 'target' });
    assert.deepEqual(ints.train.classNames, ['0', '1', '2']);
    assert.deepEqual(Array.from(ints.train.labels), [0, 2, 1]);

    // A folder of CSV files with test.csv: one table, its test split.
    const dir = join(root, 'folder');
    put(dir, 'part-1.csv', tableRows(12, 2).csv);
    put(dir, 'part-2.csv', tableRows(9, 3).csv);
    put(dir, 'test.csv', tableRows(6, 4).csv);
    const folder = await read(dir);
    assert.equal(folder.train.count, 21);
    assert.equal(folder.test!.count, 6);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bad tables: missing label column, non-numeric value (line and column), NaN/inf, categorical refused', async () => {
  const root = tmp();
  try {
    const at = (name: string, text: string) => put(root, name, text);
    await refuses(read(at('nolabel.csv', 'a,b\n1,2\n')), /nolabel\.csv: no label column "label" \(columns: a, b\); set data\.labelColumn/);
    await refuses(read(at('text.csv', 'a,b,label\n1,2,x\n3,4,y\n5,oops,x\n6,7,y\n')), /text\.csv: line 4, column "b": "oops" is not a number/);
    await refuses(read(at('nan.csv', 'a,label\n1,x\nNaN,y\n3,x\n')), /nan\.csv: line 3, column "a": "NaN" is NaN or infinite/);
    await refuses(read(at('inf.csv', 'a,label\n1,x\n2,y\ninf,x\n')), /inf\.csv: line 4, column "a": "inf" is NaN or infinite/);
    await refuses(read(at('missing.csv', 'a,label\n1,x\n,y\n3,x\n')), /missing\.csv: line 3, column "a": missing value/);
    await assert.doesNotReject(read(at('cat.csv', 'a,city,label\n1,paris,x\n2,rome,y\n')));
    await refuses(read(join(root, 'cat.csv'), { categorical: 'refuse' }), /cat\.csv: column "city" is categorical \(values such as "paris"\) and data\.categorical is refuse/);
    await refuses(read(at('ragged.csv', 'a,label\n1,x\n2,y,3\n')), /ragged\.csv: malformed CSV/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('Parquet: same table as CSV gives the same data set', async () => {
  const root = tmp();
  try {
    const { columns, csv } = tableRows(25);
    const fromCsv = await read(put(root, 't.csv', csv));
    const fromParquet = await read(put(root, 't.parquet', parquetOf(columns)));
    assert.equal(fromParquet.format, 'parquet');
    assert.deepEqual(fromParquet.train.classNames, fromCsv.train.classNames);
    assert.deepEqual(Array.from(fromParquet.train.labels), Array.from(fromCsv.train.labels));
    assert.deepEqual(Array.from(fromParquet.train.x), Array.from(fromCsv.train.x));
    await refuses(read(put(root, 'bad.parquet', 'PAR1 not really')), /bad\.parquet: unreadable Parquet/);
    const { label: _l, ...noLabel } = columns;
    await refuses(read(put(root, 'nolabel.parquet', parquetOf(noLabel))), /nolabel\.parquet: no label column "label"/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('NumPy: .npy pairs and .npz (x/y and x_train/y_train/x_test/y_test), images and features', async () => {
  const root = tmp();
  try {
    const x = Array.from({ length: 6 * 3 }, (_, i) => i / 10);
    put(root, 'feat/x.npy', npy('<f4', [6, 3], x));
    put(root, 'feat/y.npy', npy('<i8', [6], [0, 1, 2, 0, 1, 2]));
    const feat = await read(join(root, 'feat'));
    assert.equal(feat.format, 'numpy');
    assert.deepEqual(feat.train.shape, [3]);
    assert.deepEqual(feat.train.classNames, ['0', '1', '2']);
    assert.ok(Math.abs(feat.train.x[4]! - 0.4) < 1e-6);
    assert.equal(parseNpy(npy('<f8', [2], [1.5, 2.5]), 'a.npy').data[1], 2.5);

    const pixels = Array.from({ length: 4 * 5 * 5 }, (_, i) => i % 256);
    const npz = zipSync({
      'x_train.npy': npy('|u1', [4, 5, 5], pixels),
      'y_train.npy': npy('<i4', [4], [1, 0, 1, 0]),
      'x_test.npy': npy('|u1', [2, 5, 5], pixels.slice(0, 50)),
      'y_test.npy': npy('<i4', [2], [0, 1]),
    });
    const imgs = await read(put(root, 'mnist-like.npz', npz));
    assert.deepEqual(imgs.train.shape, [5, 5, 1]);
    assert.ok(imgs.train.x instanceof Uint8Array);
    assert.equal(imgs.test!.count, 2);
    assert.equal(imgs.train.preprocessing.kind === 'images' && imgs.train.preprocessing.scale, 1 / 255);

    await refuses(read(put(root, 'other.npz', zipSync({ 'a.npy': npy('<f4', [1], [1]) }))), /other\.npz: holds a; a NumPy source needs arrays x and y/);
    put(root, 'nan/x.npy', npy('<f4', [2, 2], [1, NaN, 3, 4]));
    put(root, 'nan/y.npy', npy('<i8', [2], [0, 1]));
    await refuses(read(join(root, 'nan')), /x holds NaN at sample 0/);
    put(root, 'short/x.npy', npy('<f4', [3, 2], [1, 2, 3, 4, 5, 6]).subarray(0, 100));
    put(root, 'short/y.npy', npy('<i8', [3], [0, 1, 0]));
    await refuses(read(join(root, 'short')), /short\/x\.npy: truncated/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('CIFAR-10 and CIFAR-100 batches: channel-major to HWC, class names, wrong length named', async () => {
  const root = tmp();
  try {
    const record = (labels: number[], r: number, g: number, b: number) => {
      const rec = new Uint8Array(labels.length + 3072);
      rec.set(labels, 0);
      rec.fill(r, labels.length, labels.length + 1024);
      rec.fill(g, labels.length + 1024, labels.length + 2048);
      rec.fill(b, labels.length + 2048);
      return rec;
    };
    const cat = (...a: Uint8Array[]) => Buffer.concat(a);
    put(root, 'c10/data_batch_1.bin', cat(record([3], 10, 20, 30), record([7], 1, 2, 3)));
    put(root, 'c10/data_batch_2.bin', cat(record([0], 5, 5, 5)));
    put(root, 'c10/test_batch.bin', cat(record([9], 9, 9, 9)));
    put(root, 'c10/batches.meta.txt', 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
    const c10 = await read(join(root, 'c10'));
    assert.equal(c10.format, 'cifar10');
    assert.deepEqual(c10.train.shape, [32, 32, 3]);
    assert.equal(c10.train.count, 3);
    assert.deepEqual(Array.from(c10.train.labels), [3, 7, 0]);
    assert.equal(c10.train.classNames[3], 'cat');
    assert.deepEqual(Array.from(c10.train.x.subarray(0, 6)), [10, 20, 30, 10, 20, 30]);
    assert.equal(c10.test!.count, 1);

    put(root, 'c100/train.bin', cat(record([1, 42], 1, 1, 1), record([2, 99], 2, 2, 2)));
    put(root, 'c100/test.bin', cat(record([0, 5], 0, 0, 0)));
    const c100 = await read(join(root, 'c100'));
    assert.equal(c100.format, 'cifar100');
    assert.equal(c100.train.classNames.length, 100);
    assert.deepEqual(Array.from(c100.train.labels), [42, 99]);

    put(root, 'c10/data_batch_3.bin', new Uint8Array(3073 * 2 - 5));
    await refuses(read(join(root, 'c10')), /data_batch_3\.bin: 6141 bytes is not a whole number of CIFAR-10 records \(3073 bytes each\)/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("prepare: a table is standardised with training-split statistics, recorded with the splits; new data is read the run's way", async () => {
  const root = tmp();
  try {
    const { csv } = tableRows(200);
    const file = put(root, 'data.csv', csv);
    const store = join(root, 'store');
    const prepared = await prepareData({ store, source: file, seed: 1, read: {} });
    assert.equal(prepared.kind, 'table');
    assert.equal(prepared.defaultModel, 'mlp');
    assert.deepEqual(prepared.inputShape, [5]);
    assert.deepEqual(prepared.classNames, ['a', 'b', 'c']);
    assert.equal(prepared.counts.test, 40, 'testFraction 0.2 held out');
    assert.equal(prepared.validationSize, 16, '10 % of the 160 training rows');
    const train = await readDataset(prepared.train);
    const p = train.preprocessing;
    assert.ok(p.kind === 'table');
    // Mean of the standardised numeric column over the training split is 0, its std 1; one-hot columns untouched.
    const col = Array.from({ length: train.count }, (_, n) => train.x[n * 5]!);
    const mean = col.reduce((a, b) => a + b, 0) / col.length;
    const sd = Math.sqrt(col.reduce((a, b) => a + (b - mean) ** 2, 0) / col.length);
    assert.ok(Math.abs(mean) < 1e-5 && Math.abs(sd - 1) < 1e-4, `standardised: mean ${mean}, sd ${sd}`);
    assert.deepEqual([p.mean[2], p.std[2]], [0, 1]);
    const test = await readDataset(prepared.test);
    assert.deepEqual(test.preprocessing, p, 'the test split records the same preprocessing');

    // New data for this run: read with its columns and statistics; a table with other columns is refused naming them.
    const more = put(root, 'more.csv', tableRows(30, 9).csv);
    const shard = await loadShard(more, 'data', test);
    assert.deepEqual(shard.classNames, ['a', 'b', 'c']);
    assert.equal(shard.count, 30);
    const other = put(root, 'other.csv', 'f0,f1,size,label\n1,2,3,a\n');
    await refuses(loadShard(other, 'data', test), /other\.csv: columns differ from the run's: missing colour; extra size/);
    const fewer = put(root, 'classes.csv', 'f0,f1,colour,label\n1,2,red,z\n');
    await refuses(loadShard(fewer, 'data', test), /classes z are not among the run's 3 classes/);
    assert.throws(() => checkSameSchema({ ...shard, shape: [4] }, test, 'x'), /features of shape 4; the run's are 5/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
