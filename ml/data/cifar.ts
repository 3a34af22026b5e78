/**
 * CIFAR-10 and CIFAR-100 binary batches (the "binary version" of
 * https://www.cs.toronto.edu/~kriz/cifar.html, what the OUI and Sinusoidal papers
 * train on). CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` and `test_batch.bin`,
 * records of 1 label byte + 3072 pixel bytes, class names in `batches.meta.txt`.
 * CIFAR-100: `train.bin` and `test.bin`, records of a coarse and a fine label byte +
 * 3072 pixel bytes; the fine label (100 classes) is the class, names in
 * `fine_label_names.txt`. Pixels are stored channel-major (1024 R, 1024 G, 1024 B);
 * they become 32×32×3 HWC uint8, × 1/255 for the model.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import type { Dataset, SourceData } from './dataset.js';
import type { DataFile, DataFiles } from './files.js';

const PIXELS = 32 * 32 * 3;

const base = (name: string) => name.slice(name.lastIndexOf('/') + 1);

/** Which CIFAR a listing holds, or null. */
export function cifarKind(files: DataFile[]): 'cifar10' | 'cifar100' | null {
  const names = files.map((f) => base(f.name));
  if (names.some((n) => /^data_batch_\d+\.bin$/.test(n))) return 'cifar10';
  if (names.includes('train.bin') && names.includes('test.bin')) return 'cifar100';
  return null;
}

/** Decodes one batch file (`labelBytes` 1 for CIFAR-10, 2 for CIFAR-100, the fine label last). */
export function parseCifarBatch(bytes: Uint8Array, labelBytes: 1 | 2, file: string): { x: Uint8Array; labels: Int32Array; count: number } {
  const rec = labelBytes + PIXELS;
  if (bytes.length === 0 || bytes.length % rec !== 0) {
    throw new InvalidInputError(`${file}: ${bytes.length} bytes is not a whole number of ${labelBytes === 1 ? 'CIFAR-10' : 'CIFAR-100'} records (${rec} bytes each)`);
  }
  const count = bytes.length / rec;
  const x = new Uint8Array(count * PIXELS);
  const labels = new Int32Array(count);
  const max = labelBytes === 1 ? 10 : 100;
  for (let n = 0; n < count; n++) {
    const r = n * rec;
    const label = bytes[r + labelBytes - 1]!;
    if (label >= max) throw new InvalidInputError(`${file}: record ${n} has label ${label}, outside 0…${max - 1}`);
    labels[n] = label;
    const px = r + labelBytes;
    for (let p = 0; p < 1024; p++) {
      x[n * PIXELS + p * 3] = bytes[px + p]!;
      x[n * PIXELS + p * 3 + 1] = bytes[px + 1024 + p]!;
      x[n * PIXELS + p * 3 + 2] = bytes[px + 2048 + p]!;
    }
  }
  return { x, labels, count };
}

/** Reads a CIFAR-10 or CIFAR-100 binary folder (or prefix). */
export async function readCifar(src: DataFiles): Promise<SourceData> {
  const { files } = await src.list();
  const kind = cifarKind(files);
  if (!kind) throw new InvalidInputError(`${src.location}: no CIFAR batches (data_batch_N.bin + test_batch.bin, or train.bin + test.bin)`);
  const labelBytes = kind === 'cifar10' ? 1 : 2;
  const find = (test: (n: string) => boolean) => files.filter((f) => test(base(f.name))).sort((a, b) => (a.name < b.name ? -1 : 1));
  const trainFiles = kind === 'cifar10' ? find((n) => /^data_batch_\d+\.bin$/.test(n)) : find((n) => n === 'train.bin');
  const testFiles = kind === 'cifar10' ? find((n) => n === 'test_batch.bin') : find((n) => n === 'test.bin');
  const namesFile = find((n) => n === (kind === 'cifar10' ? 'batches.meta.txt' : 'fine_label_names.txt'))[0];
  const classes = kind === 'cifar10' ? 10 : 100;
  let classNames = Array.from({ length: classes }, (_, i) => String(i));
  if (namesFile) {
    const lines = new TextDecoder()
      .decode(await src.read(namesFile.name))
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean);
    if (lines.length === classes) classNames = lines;
  }
  const read = async (list: DataFile[]): Promise<Dataset | null> => {
    if (!list.length) return null;
    const parts = [];
    for (const f of list) parts.push(parseCifarBatch(await src.read(f.name), labelBytes, src.describe(f.name)));
    const count = parts.reduce((n, p) => n + p.count, 0);
    const x = new Uint8Array(count * PIXELS);
    const labels = new Int32Array(count);
    let at = 0;
    for (const p of parts) {
      x.set(p.x, at * PIXELS);
      labels.set(p.labels, at);
      at += p.count;
    }
    return { shape: [32, 32, 3], count, x, labels, classNames, preprocessing: { kind: 'images', size: [32, 32], color: 'rgb', scale: 1 / 255, resized: 0, skipped: 0 } };
  };
  const train = await read(trainFiles);
  if (!train) throw new InvalidInputError(`${src.location}: no CIFAR training batches`);
  return { train, test: await read(testFiles), format: kind };
}

/**
 * CIFAR labels are fixed indices, so batches read without their names file (classes
 * named "0", "1", …) are the same classes as a run's with as many: they take its names.
 * Other data, or named classes, are returned as they are.
 */
export function cifarNamesLike(source: SourceData, like: Pick<Dataset, 'classNames'>): SourceData {
  const byIndex = (names: string[]) => names.every((n, i) => n === String(i));
  const train = source.train;
  if (!source.format.startsWith('cifar') || !byIndex(train.classNames) || train.classNames.length !== like.classNames.length) return source;
  const named = (d: Dataset | null) => d && { ...d, classNames: like.classNames };
  return { ...source, train: named(train)!, test: named(source.test) };
}
