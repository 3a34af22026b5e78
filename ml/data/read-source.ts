/**
 * One entry point for every file-based source: picks the reader from the location's
 * files (or `format`) and returns the same in-memory shape (dataset.ts).
 *
 *   a `.csv` / `.parquet` file, or a folder/prefix of them   → table (csv.ts, parquet.ts, table.ts)
 *   an `.npz` file, or a folder/prefix with x.npy + y.npy    → numpy.ts
 *   a folder/prefix with CIFAR batches                         → cifar.ts
 *   a folder/prefix of class folders of images                → image-folder.ts
 *
 * A table folder's files are one table (same columns); files under `test/` or named
 * `test.<ext>` are its test split; a table too large to parse whole is streamed instead
 * (`tableStream`, table-stream.ts). IDX folders, `.lpb` bundles and the built-in data
 * sets are read by the activities' source layer.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import { subsetOf, type Preprocessing, type SourceData } from './dataset.js';
import { extensionOf, mapLimit, type DataFile, type DataFiles } from './files.js';
import { looksLikeImageFolder, planImageFolder, readImageFolder, type ImageFolderPlan } from './image-folder.js';
import { parseCsv } from './csv.js';
import { parseParquet } from './parquet.js';
import { buildTable, type TablePart } from './table.js';
import type { StreamedTable } from './table-stream.js';
import { numpySource, parseNpy, parseNpz, type NpyArray } from './numpy.js';
import { cifarKind, readCifar } from './cifar.js';

export const SOURCE_FORMATS = ['auto', 'images', 'csv', 'parquet', 'numpy', 'cifar'] as const;
export type SourceFormat = (typeof SOURCE_FORMATS)[number];

/** How to read a source (the `data` options of a config, or the run's preprocessing for new data). */
export interface ReadOptions {
  format?: SourceFormat;
  labelColumn?: string;
  imageSize?: [number, number];
  color?: 'auto' | 'grayscale' | 'rgb';
  categorical?: 'onehot' | 'refuse';
  maxCategories?: number;
  skipUnreadable?: boolean;
  /** The run's preprocessing: new data is read the same way (size, colour, columns, categories). */
  reference?: Preprocessing;
}

const TABLE_EXT: Record<string, 'csv' | 'parquet'> = { '.csv': 'csv', '.parquet': 'parquet', '.pq': 'parquet' };

/** The format of a listing (`auto` resolved), or null when nothing fits. */
export function detectFormat(files: DataFile[], single: boolean): Exclude<SourceFormat, 'auto'> | null {
  if (single) {
    const ext = extensionOf(files[0]?.name ?? '');
    return TABLE_EXT[ext] ?? (ext === '.npz' ? 'numpy' : cifarKind(files) === 'cifar10' ? 'cifar' : null);
  }
  if (cifarKind(files)) return 'cifar';
  const names = new Set(files.map((f) => f.name));
  if ((names.has('x.npy') && names.has('y.npy')) || (names.has('x_train.npy') && names.has('y_train.npy')) || files.some((f) => extensionOf(f.name) === '.npz')) return 'numpy';
  const exts = new Set(files.map((f) => TABLE_EXT[extensionOf(f.name)]).filter(Boolean));
  if (exts.size === 1) return [...exts][0]!;
  if (exts.size > 1) return null;
  if (looksLikeImageFolder(files)) return 'images';
  return null;
}

const isTestFile = (name: string) => name.startsWith('test/') || /^test\.[a-z]+$/i.test(name.slice(name.lastIndexOf('/') + 1));

/** Reads a file-based source (see the module comment). */
export async function readDataSource(src: DataFiles, opts: ReadOptions = {}): Promise<SourceData> {
  const { files } = await src.list();
  if (files.length === 0) throw new InvalidInputError(`${src.location}: no files`);
  const format = opts.format && opts.format !== 'auto' ? opts.format : detectFormat(files, src.single);
  switch (format) {
    case 'images':
      return readImageFolder(src, { size: opts.imageSize, color: opts.color, skipUnreadable: opts.skipUnreadable, reference: opts.reference });
    case 'cifar':
      return readCifar(src);
    case 'csv':
    case 'parquet':
      return readTable(src, files, format, opts);
    case 'numpy':
      return readNumpy(src, files, opts);
    default: {
      const seen = [...new Set(files.map((f) => extensionOf(f.name) || '(none)'))].slice(0, 8).join(', ');
      throw new InvalidInputError(
        `${src.location}: not a data source lightpath reads (found ${files.length} files, extensions ${seen}); expected class folders of images, .csv or .parquet tables, .npz or x.npy + y.npy, CIFAR batches, an IDX folder or an .lpb bundle`,
      );
    }
  }
}

/** The reading plan of `src` when it is an image folder (read image by image, e.g. into shards), else null. */
export async function imageFolderPlan(src: DataFiles, opts: ReadOptions = {}): Promise<ImageFolderPlan | null> {
  const { files } = await src.list();
  const format = opts.format && opts.format !== 'auto' ? opts.format : detectFormat(files, src.single);
  if (format !== 'images' || files.length === 0) return null;
  return planImageFolder(src, { size: opts.imageSize, color: opts.color, skipUnreadable: opts.skipUnreadable, reference: opts.reference });
}

/** The table files of `src` (a table's format), training ones and test ones (see the module comment). */
function tableFiles(src: DataFiles, files: DataFile[], format: 'csv' | 'parquet'): { trainFiles: DataFile[]; testFiles: DataFile[] } {
  const mine = files.filter((f) => TABLE_EXT[extensionOf(f.name)] === format);
  if (!mine.length) throw new InvalidInputError(`${src.location}: no .${format} files`);
  const trainFiles = mine.filter((f) => !isTestFile(f.name));
  const testFiles = mine.filter((f) => isTestFile(f.name));
  if (!trainFiles.length) throw new InvalidInputError(`${src.location}: only test files (${testFiles.map((f) => f.name).join(', ')}); training data is every other .${format} file`);
  return { trainFiles, testFiles };
}

/** `src` as a table to stream (table-stream.ts) when it is a CSV or Parquet table, else null. */
export async function tableStream(src: DataFiles, opts: ReadOptions = {}): Promise<StreamedTable | null> {
  const { files } = await src.list();
  const format = opts.format && opts.format !== 'auto' ? opts.format : detectFormat(files, src.single);
  if ((format !== 'csv' && format !== 'parquet') || files.length === 0) return null;
  const { trainFiles, testFiles } = tableFiles(src, files, format);
  const ref = (f: DataFile) => ({ name: f.name, bytes: f.bytes });
  return { src, format, train: trainFiles.map(ref), test: testFiles.map(ref) };
}

async function readTable(src: DataFiles, files: DataFile[], format: 'csv' | 'parquet', opts: ReadOptions): Promise<SourceData> {
  const { trainFiles, testFiles } = tableFiles(src, files, format);
  const parse = async (f: DataFile): Promise<TablePart> => {
    const bytes = await src.read(f.name);
    return format === 'csv' ? parseCsv(bytes, src.describe(f.name)) : parseParquet(bytes, src.describe(f.name));
  };
  const parts = await mapLimit([...trainFiles, ...testFiles], 4, parse);
  const all = buildTable(parts, { labelColumn: opts.labelColumn, categorical: opts.categorical, maxCategories: opts.maxCategories, reference: opts.reference });
  const trainRows = parts.slice(0, trainFiles.length).reduce((n, p) => n + p.rows, 0);
  const index = (from: number, to: number) => Int32Array.from({ length: to - from }, (_, i) => from + i);
  return {
    train: subsetOf(all, index(0, trainRows)),
    test: testFiles.length ? subsetOf(all, index(trainRows, all.count)) : null,
    format,
  };
}

async function readNumpy(src: DataFiles, files: DataFile[], opts: ReadOptions): Promise<SourceData> {
  const npz = files.filter((f) => extensionOf(f.name) === '.npz');
  if (npz.length > 1) throw new InvalidInputError(`${src.location}: ${npz.length} .npz files (${npz.map((f) => f.name).join(', ')}); name one of them as the source`);
  if (npz.length === 1) {
    const arrays = parseNpz(await src.read(npz[0]!.name), src.describe(npz[0]!.name));
    return numpySource(async (n) => arrays.get(n) ?? null, [...arrays.keys()], src.describe(npz[0]!.name), opts.reference);
  }
  const npy = new Map(files.filter((f) => extensionOf(f.name) === '.npy' && !f.name.includes('/')).map((f) => [f.name.slice(0, -4), f.name]));
  const cache = new Map<string, NpyArray>();
  const get = async (n: string) => {
    const file = npy.get(n);
    if (!file) return null;
    if (!cache.has(n)) cache.set(n, parseNpy(await src.read(file), src.describe(file)));
    return cache.get(n)!;
  };
  return numpySource(get, [...npy.keys()], src.location, opts.reference);
}
