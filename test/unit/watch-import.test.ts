/**
 * What a schedule reads from its watch location, per kind (the activity on a local store,
 * no server): a Parquet file for a CSV-trained run, read with the run's columns; NumPy
 * arrays for a table run refused naming the difference; an `x.npy` that waits for its
 * `y.npy`; a CIFAR batch for a CIFAR-trained run; other files not listed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { prepareData } from '../../activities/data.js';
import { importWatched } from '../../activities/schedule.js';
import { readDataset } from '../../activities/artifacts.js';
import { listWatch } from '../../storage/watch.js';
import { npy, parquetOf, put, tableRows } from '../helpers/data-files.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'lp-watch-import-'));

test('a table run takes a new Parquet file with its columns, refuses NumPy arrays naming the kind, and lists only data files', async () => {
  const root = tmp();
  try {
    const store = pathToFileURL(join(root, 'store')).href + '/';
    const prepared = await prepareData({ store, source: put(root, 'data/t.csv', tableRows(200).csv), seed: 1 });
    const watch = join(root, 'watch');
    put(watch, 'day1/part.parquet', parquetOf(tableRows(40, 9).columns));
    put(watch, 'day1/notes.md', '# not data');
    const listed = await listWatch(watch);
    assert.deepEqual(
      listed.map((o) => o.name),
      ['day1/part.parquet'],
    );
    const got = await importWatched({ store, scheduleId: 's', run: 'r1', test: prepared.test, objects: listed });
    assert.equal(got.samples, 40);
    assert.deepEqual(
      got.consumed.map((c) => [c.name, c.samples, c.duplicateOf]),
      [['day1/part.parquet', 40, null]],
    );
    const data = await readDataset(got.data!);
    const testSplit = await readDataset(prepared.test);
    assert.deepEqual(data.preprocessing, testSplit.preprocessing, 'read with the run’s columns and standardisation');
    assert.deepEqual(data.classNames, testSplit.classNames);

    put(
      watch,
      'day2/x.npy',
      npy(
        '<f4',
        [3, 5],
        Array.from({ length: 15 }, (_, i) => i),
      ),
    );
    const waiting = await importWatched({ store, scheduleId: 's', run: 'r2', test: prepared.test, objects: (await listWatch(watch)).filter((o) => o.name.startsWith('day2/')) });
    assert.deepEqual(waiting, { data: null, samples: 0, consumed: [] }, 'an x.npy waits for its y.npy');
    put(watch, 'day2/y.npy', npy('<i4', [3], [0, 1, 2]));
    await assert.rejects(
      importWatched({ store, scheduleId: 's', run: 'r3', test: prepared.test, objects: (await listWatch(watch)).filter((o) => o.name.startsWith('day2/')) }),
      /day2\/: is array data; the run was trained on table data/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a CIFAR-10 run takes a new batch file, one sample per record, with its classes', async () => {
  const root = tmp();
  try {
    const record = (label: number, v: number) => {
      const rec = new Uint8Array(3073);
      rec[0] = label;
      rec.fill(v, 1);
      return rec;
    };
    const batch = (labels: number[]) => Buffer.concat(labels.map((l, i) => record(l, (l * 25 + i) % 256)));
    const labels = Array.from({ length: 30 }, (_, i) => i % 10);
    put(root, 'c10/data_batch_1.bin', batch(labels));
    put(root, 'c10/test_batch.bin', batch(labels.slice(0, 10)));
    put(root, 'c10/batches.meta.txt', 'airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n');
    const store = pathToFileURL(join(root, 'store')).href + '/';
    const prepared = await prepareData({ store, source: join(root, 'c10'), seed: 1, validationSize: 3 });
    const watch = join(root, 'watch');
    put(watch, 'new/data_batch_6.bin', batch([3, 5, 5, 9]));
    const got = await importWatched({ store, scheduleId: 'c', run: 'r1', test: prepared.test, objects: await listWatch(watch) });
    assert.equal(got.samples, 4);
    const data = await readDataset(got.data!);
    assert.deepEqual(Array.from(data.labels), [3, 5, 5, 9]);
    assert.equal(data.classNames[3], 'cat');
    assert.deepEqual(data.shape, [32, 32, 3]);
    put(watch, 'new/broken.bin', new Uint8Array(100));
    await assert.rejects(
      importWatched({ store, scheduleId: 'c', run: 'r2', test: prepared.test, objects: (await listWatch(watch)).filter((o) => o.name.endsWith('broken.bin')) }),
      /broken\.bin: 100 bytes is not a whole number of CIFAR-10 records/,
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
