/**
 * Tables too large to parse whole (activities/data.ts decides which): read as streams of
 * row batches (csv.ts `csvBatches`, parquet.ts `parquetBatches`), several times, never
 * holding more than a batch of raw rows.
 *
 *   `summarizeTable` — one pass over every file: columns checked, each feature column's
 *   kind decided as table.ts decides it (numbers against texts counted; categories
 *   collected, at most `maxCategories` + 1 of them), the classes, the rows per split.
 *   `forEachEncodedRow` — a later pass: rows encoded as table.ts encodes them (float32
 *   features, one-hot categories, class indices), refusing the same defects with the
 *   same messages (file, line or row, column).
 *
 * Rows are numbered across the training files in order, then the test files; what a
 * caller keeps of each pass (the training split's statistics, the rows of one shard)
 * is its own.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import type { ColumnSpec } from './dataset.js';
import type { DataFiles } from './files.js';
import { csvBatches } from './csv.js';
import { parquetBatches } from './parquet.js';
import {
  categoricalRefused,
  categoryAt,
  checkColumns,
  checkLabelColumn,
  labelInt,
  MAX_CLASS_INDEX,
  missingLabel,
  notClassIndex,
  numberAt,
  numeric,
  tooManyCategories,
  type Cell,
  type RowBatch,
} from './table.js';

/** One file of a streamed table. */
export interface TableFileRef {
  name: string;
  bytes: number;
}

/** A table read as a stream: its files, training ones and the source's own test split (`test/…`, `test.<ext>`). */
export interface StreamedTable {
  src: DataFiles;
  format: 'csv' | 'parquet';
  train: TableFileRef[];
  test: TableFileRef[];
}

/** What a summary pass finds (see the module comment). */
export interface TableSummary {
  labelColumn: string;
  columns: ColumnSpec[];
  /** Model inputs per row (a categorical column counts its categories). */
  width: number;
  classNames: string[];
  /** Rows of the training files, and of the test files. */
  trainCount: number;
  testCount: number;
  /** A label cell's class index. */
  classOf: (v: Cell) => number;
}

export interface StreamOptions {
  labelColumn?: string;
  categorical?: 'onehot' | 'refuse';
  maxCategories?: number;
}

/** How messages number a file's rows (as csv.ts and parquet.ts's parts do). */
const numbering = (format: 'csv' | 'parquet') => (format === 'csv' ? { firstRow: 2, rowWord: 'line' } : { firstRow: 1, rowWord: 'row' });

/** Every file's batches, in order: the training files, then the test ones; `visit` gets each batch with its file's name and its first row's index in the file. */
async function eachBatch(t: StreamedTable, files: TableFileRef[], visit: (b: RowBatch, file: string, first: number) => void): Promise<void> {
  for (const f of files) {
    let first = 0;
    const batches = t.format === 'csv' ? csvBatches(t.src, f.name, f.bytes) : parquetBatches(t.src, f.name, f.bytes);
    for await (const b of batches) {
      visit(b, t.src.describe(f.name), first);
      first += b.rows.length;
    }
  }
}

interface Tally {
  numbers: number;
  texts: number;
  sample: Cell;
  categories: Set<string>;
}

/** Reads every file once and finds what encoding the table needs (see the module comment). */
export async function summarizeTable(t: StreamedTable, opts: StreamOptions = {}): Promise<TableSummary> {
  const label = opts.labelColumn ?? 'label';
  const max = opts.maxCategories ?? 100;
  const { firstRow, rowWord } = numbering(t.format);
  let firstFile = '';
  let features: string[] = [];
  let tallies: Tally[] = [];
  const counts = new Map<string, number>();
  const names = new Set<string>();
  let ints = true;
  let maxInt = -1;
  let maxWhere = '';
  let checked: string[] | null = null;
  await eachBatch(t, [...t.train, ...t.test], (b, file, first) => {
    if (checked !== b.columns) {
      checkLabelColumn({ file, columns: b.columns }, label);
      if (!firstFile) {
        firstFile = file;
        features = b.columns.filter((c) => c !== label);
        if (features.length === 0) throw new InvalidInputError(`${file}: no feature columns besides the label column "${label}"`);
        tallies = features.map(() => ({ numbers: 0, texts: 0, sample: null, categories: new Set<string>() }));
      }
      checkColumns({ file, columns: b.columns }, label, features, `${firstFile}'s`);
      checked = b.columns;
    }
    counts.set(file, (counts.get(file) ?? 0) + b.rows.length);
    const at = features.map((c) => b.columns.indexOf(c));
    const labelAt = b.columns.indexOf(label);
    for (let r = 0; r < b.rows.length; r++) {
      const row = b.rows[r]!;
      for (let c = 0; c < at.length; c++) {
        const v = row[at[c]!];
        const s = tallies[c]!;
        const n = numeric(v);
        if (n === undefined) {
          s.texts++;
          s.sample ??= v;
        } else if (n !== null) s.numbers++;
        if (s.categories.size <= max && n !== null) s.categories.add(String(v).trim());
      }
      const v = row[labelAt];
      const where = () => `${file}: ${rowWord} ${firstRow + first + r}, column "${label}"`;
      if (missingLabel(v)) throw new InvalidInputError(`${where()}: missing label`);
      const k = labelInt(v);
      if (Number.isNaN(k)) ints = false;
      else if (k > maxInt) [maxInt, maxWhere] = [k, where()];
      if (names.size <= MAX_CLASS_INDEX) names.add(String(v).trim());
    }
  });
  const columns: ColumnSpec[] = features.map((name, c) => {
    const s = tallies[c]!;
    if (s.texts <= s.numbers) return { name, kind: 'numeric' };
    if (opts.categorical === 'refuse') throw categoricalRefused(firstFile, name, s.sample);
    if (s.categories.size > max) throw tooManyCategories(firstFile, name, `over ${max}`, max);
    return { name, kind: 'categorical', categories: [...s.categories].sort() };
  });
  const rowsOf = (files: TableFileRef[]) => files.reduce((n, f) => n + counts.get(t.src.describe(f.name))!, 0);
  const width = columns.reduce((n, s) => n + (s.kind === 'numeric' ? 1 : s.categories.length), 0);
  const base = { labelColumn: label, columns, width, trainCount: rowsOf(t.train), testCount: rowsOf(t.test) };
  if (ints) {
    if (maxInt >= MAX_CLASS_INDEX) throw notClassIndex(maxWhere, maxInt);
    return { ...base, classNames: Array.from({ length: maxInt + 1 }, (_, i) => String(i)), classOf: labelInt };
  }
  if (names.size > MAX_CLASS_INDEX) throw new InvalidInputError(`${firstFile}: column "${label}" has over ${MAX_CLASS_INDEX} distinct labels; data.labelColumn names the class column`);
  const classNames = [...names].sort();
  const index = new Map(classNames.map((c, i) => [c, i]));
  return { ...base, classNames, classOf: (v) => index.get(String(v).trim())! };
}

/** A numeric cell's value: the common case (a finite number, or the text of one) at once, anything else through `numberAt` (its value or its refusal). */
function numberOf(v: Cell, where: () => string): number {
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : Number.NaN;
  return Number.isFinite(n) && (typeof v === 'number' || n !== 0 || (v as string).trim() !== '') ? n : numberAt(v, where);
}

/**
 * Reads `files` of the table again (see the module comment) and calls `visit` with every
 * row `want` asks for: its number, its inputs (a buffer reused for the next row) and its
 * class index.
 */
export async function forEachEncodedRow(
  t: StreamedTable,
  files: 'train' | 'test' | 'all',
  s: TableSummary,
  want: (row: number) => boolean,
  visit: (row: number, x: Float32Array, label: number) => void,
): Promise<void> {
  const { firstRow, rowWord } = numbering(t.format);
  const x = new Float32Array(s.width);
  let row = files === 'test' ? s.trainCount : 0;
  await eachBatch(t, files === 'train' ? t.train : files === 'test' ? t.test : [...t.train, ...t.test], (b, file, first) => {
    const at = s.columns.map((c) => b.columns.indexOf(c.name));
    const labelAt = b.columns.indexOf(s.labelColumn);
    for (let r = 0; r < b.rows.length; r++, row++) {
      if (!want(row)) continue;
      const cells = b.rows[r]!;
      const where = (name: string) => `${file}: ${rowWord} ${firstRow + first + r}, column "${name}"`;
      x.fill(0);
      let offset = 0;
      for (let c = 0; c < at.length; c++) {
        const spec = s.columns[c]!;
        const v = cells[at[c]!];
        if (spec.kind === 'numeric') x[offset++] = numberOf(v, () => where(spec.name));
        else {
          x[offset + categoryAt(v, spec.categories, () => where(spec.name))] = 1;
          offset += spec.categories.length;
        }
      }
      visit(row, x, s.classOf(cells[labelAt]));
    }
  });
}
