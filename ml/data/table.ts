/**
 * Tables (CSV, Parquet) into a Dataset: one label column (default `label`), every
 * other column a feature. A column is numeric when most of its values are numbers
 * (then a value that is not is an error naming its row and column); a column whose
 * values are mostly text is categorical: one-hot encoded over its sorted values
 * (`data.categorical: onehot`, at most `maxCategories` of them) or refused naming the
 * column (`refuse`). Missing values, NaN and ±inf are refused (row and column named).
 * Labels: integers 0…k−1 are class indices (names "0"…"k−1"); any other values are
 * class names, sorted. Standardisation of the numeric inputs uses the training split
 * only and happens after the split (see `standardization` in dataset.ts). The checks and
 * encodings of single cells are exported for table-stream.ts, which streams large tables.
 */
import { InvalidInputError } from '../../contracts/errors.js';
import type { ColumnSpec, Dataset, Preprocessing } from './dataset.js';

/** A raw value as CSV or Parquet readers give it. */
export type Cell = string | number | bigint | boolean | null | undefined | Date;

/** One file's columns, as read. */
export interface TablePart {
  /** How messages name the file. */
  file: string;
  columns: string[];
  /** Values per column, each `rows` long. */
  values: Cell[][];
  rows: number;
  /** Number messages give the first data row (CSV: its line, 2 after a header; Parquet: row 1). */
  firstRow: number;
  /** Name of the row numbering in messages (`line`, `row`). */
  rowWord: string;
}

/** Rows of one file read in a stream (csv.ts `csvBatches`, parquet.ts `parquetBatches`): the file's columns, and the next rows, each a value per column. */
export interface RowBatch {
  columns: string[];
  rows: Cell[][];
}

export interface TableOptions {
  labelColumn?: string;
  categorical?: 'onehot' | 'refuse';
  maxCategories?: number;
  /** The run's preprocessing: columns, categories and order are taken from it. */
  reference?: Preprocessing;
}

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A cell as a number: a finite number, NaN for NaN/inf text or values, null when missing, undefined when not numeric. */
export function numeric(v: Cell): number | null | undefined {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (v instanceof Date) return v.getTime();
  const s = v.trim();
  if (s === '') return null;
  if (NON_FINITE.test(s)) return Number.NaN;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** A cell as messages show it (at most 40 characters). */
export const show = (v: Cell) => JSON.stringify(typeof v === 'bigint' ? v.toString() : v)?.slice(0, 40);

/** Builds the dataset of `parts` (one or more files of one table). */
export function buildTable(parts: TablePart[], opts: TableOptions = {}): Dataset {
  const ref = opts.reference?.kind === 'table' ? opts.reference : null;
  const label = ref?.labelColumn ?? opts.labelColumn ?? 'label';
  const first = parts[0]!;
  for (const p of parts) checkLabelColumn(p, label);
  const featureNames = ref ? ref.columns.map((c) => c.name) : first.columns.filter((c) => c !== label);
  for (const p of parts) checkColumns(p, label, featureNames, ref ? "the run's" : `${first.file}'s`);
  if (featureNames.length === 0) throw new InvalidInputError(`${first.file}: no feature columns besides the label column "${label}"`);
  const col = (p: TablePart, name: string) => p.values[p.columns.indexOf(name)]!;
  const at = (p: TablePart, r: number, name: string) => `${p.file}: ${p.rowWord} ${p.firstRow + r}, column "${name}"`;

  const specs: ColumnSpec[] = ref
    ? ref.columns
    : featureNames.map((name) => {
        let numbers = 0;
        let texts = 0;
        let sample: Cell = null;
        for (const p of parts) {
          for (const v of col(p, name)) {
            const n = numeric(v);
            if (n === undefined) {
              texts++;
              sample ??= v;
            } else if (n !== null) numbers++;
          }
        }
        if (texts <= numbers) return { name, kind: 'numeric' as const };
        if (opts.categorical === 'refuse') throw categoricalRefused(first.file, name, sample);
        const categories = new Set<string>();
        for (const p of parts) for (const v of col(p, name)) if (v !== null && v !== undefined && String(v).trim() !== '') categories.add(String(v).trim());
        const max = opts.maxCategories ?? 100;
        if (categories.size > max) throw tooManyCategories(first.file, name, String(categories.size), max);
        return { name, kind: 'categorical' as const, categories: [...categories].sort() };
      });

  const width = specs.reduce((n, s) => n + (s.kind === 'numeric' ? 1 : s.categories.length), 0);
  const count = parts.reduce((n, p) => n + p.rows, 0);
  const x = new Float32Array(count * width);
  let base = 0;
  for (const p of parts) {
    let offset = 0;
    for (const s of specs) {
      const values = col(p, s.name);
      if (s.kind === 'numeric') {
        for (let r = 0; r < p.rows; r++) x[(base + r) * width + offset] = numberAt(values[r], () => at(p, r, s.name));
        offset++;
      } else {
        for (let r = 0; r < p.rows; r++) x[(base + r) * width + offset + categoryAt(values[r], s.categories, () => at(p, r, s.name))] = 1;
        offset += s.categories.length;
      }
    }
    base += p.rows;
  }

  const raw: { v: Cell; where: string }[] = [];
  for (const p of parts) col(p, label).forEach((v, r) => raw.push({ v, where: at(p, r, label) }));
  const { labels, classNames } = labelsOf(raw);
  return { shape: [width], count, x, labels, classNames, preprocessing: { kind: 'table', labelColumn: label, columns: specs, mean: [], std: [] } };
}

/** Refuses a file without the label column. */
export function checkLabelColumn(p: { file: string; columns: string[] }, label: string): void {
  if (!p.columns.includes(label)) {
    throw new InvalidInputError(`${p.file}: no label column "${label}" (columns: ${p.columns.slice(0, 20).join(', ')}${p.columns.length > 20 ? ', …' : ''}); set data.labelColumn`);
  }
}

/** Refuses a file whose feature columns (all but `label`) are not `featureNames` (`whose` names where those come from). */
export function checkColumns(p: { file: string; columns: string[] }, label: string, featureNames: string[], whose: string): void {
  const have = p.columns.filter((c) => c !== label);
  const missing = featureNames.filter((c) => !have.includes(c));
  const extra = have.filter((c) => !featureNames.includes(c));
  if (missing.length || extra.length) {
    throw new InvalidInputError(
      `${p.file}: columns differ from ${whose}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`,
    );
  }
}

/** The refusal of a categorical column under `data.categorical: refuse`. */
export const categoricalRefused = (file: string, name: string, sample: Cell) =>
  new InvalidInputError(`${file}: column "${name}" is categorical (values such as ${show(sample)}) and data.categorical is refuse; drop or encode it, or set data.categorical: onehot`);

/** The refusal of a categorical column with `count` (more than `max`) distinct values. */
export const tooManyCategories = (file: string, name: string, count: string, max: number) =>
  new InvalidInputError(`${file}: column "${name}" has ${count} distinct text values, more than data.maxCategories ${max} for one-hot encoding; drop it or encode it numerically`);

/** A numeric feature cell's value; missing, non-numeric, NaN and infinite values are refused naming `where()` (file, row and column). */
export function numberAt(v: Cell, where: () => string): number {
  const n = numeric(v);
  if (n === null) throw new InvalidInputError(`${where()}: missing value`);
  if (n === undefined) throw new InvalidInputError(`${where()}: ${show(v)} is not a number`);
  if (!Number.isFinite(n)) throw new InvalidInputError(`${where()}: ${show(v)} is NaN or infinite`);
  return n;
}

/** A categorical cell's index among `categories`; a missing or unknown value is refused naming `where()`. */
export function categoryAt(v: Cell, categories: string[], where: () => string): number {
  if (v === null || v === undefined || String(v).trim() === '') throw new InvalidInputError(`${where()}: missing value`);
  const k = categories.indexOf(String(v).trim());
  if (k < 0) throw new InvalidInputError(`${where()}: category ${show(v)} is not among the run's (${categories.slice(0, 10).join(', ')})`);
  return k;
}

/** Whether a label cell is missing (refused: `${where}: missing label`). */
export const missingLabel = (v: Cell): boolean => v === null || v === undefined || String(v).trim() === '';

/** A label cell as a class index (a non-negative integer), else NaN. */
export function labelInt(v: Cell): number {
  const n = typeof v === 'string' ? (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN) : numeric(v);
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : NaN;
}

/** Integer labels from this on are no class indices. */
export const MAX_CLASS_INDEX = 100_000;

/** The refusal of an integer label too large to be a class index. */
export const notClassIndex = (where: string, label: number) => new InvalidInputError(`${where}: label ${label} is no class index (integer labels must be 0…k−1)`);

/** Class indices and names: integer labels are indices 0…max, anything else names classes (sorted). */
function labelsOf(raw: { v: Cell; where: string }[]): { labels: Int32Array; classNames: string[] } {
  for (const { v, where } of raw) if (missingLabel(v)) throw new InvalidInputError(`${where}: missing label`);
  const ints = raw.map(({ v }) => labelInt(v));
  if (ints.every((n) => !Number.isNaN(n))) {
    const max = ints.reduce((a, b) => Math.max(a, b), 0);
    if (max >= MAX_CLASS_INDEX) throw notClassIndex(raw[ints.indexOf(max)]!.where, max);
    return { labels: Int32Array.from(ints), classNames: Array.from({ length: max + 1 }, (_, i) => String(i)) };
  }
  const names = raw.map(({ v }) => String(v).trim());
  const classNames = [...new Set(names)].sort();
  const index = new Map(classNames.map((c, i) => [c, i]));
  return { labels: Int32Array.from(names, (n) => index.get(n)!), classNames };
}

/** Inputs of `columns` that are one-hot categories (left unstandardised). */
export function oneHotMask(columns: ColumnSpec[]): boolean[] {
  return columns.flatMap((c) => (c.kind === 'numeric' ? [false] : c.categories.map(() => true)));
}
