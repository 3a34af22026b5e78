/**
 * Tables (CSV, Parquet) into a Dataset: one label column (default `label`), every
 * other column a feature. A column is numeric when most of its values are numbers
 * (then a value that is not is an error naming its row and column); a column whose
 * values are mostly text is categorical: one-hot encoded over its sorted values
 * (`data.categorical: onehot`, at most `maxCategories` of them) or refused naming the
 * column (`refuse`). Missing values, NaN and ±inf are refused (row and column named).
 * Labels: integers 0…k−1 are class indices (names "0"…"k−1"); any other values are
 * class names, sorted. Standardisation of the numeric inputs uses the training split
 * only and happens after the split (see `standardization` in dataset.ts).
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

export interface TableOptions {
  labelColumn?: string;
  categorical?: 'onehot' | 'refuse';
  maxCategories?: number;
  /** The run's preprocessing: columns, categories and order are taken from it. */
  reference?: Preprocessing;
}

const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A cell as a number: a finite number, NaN for NaN/inf text or values, null when missing, undefined when not numeric. */
function numeric(v: Cell): number | null | undefined {
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

const show = (v: Cell) => JSON.stringify(typeof v === 'bigint' ? v.toString() : v)?.slice(0, 40);

/** Builds the dataset of `parts` (one or more files of one table). */
export function buildTable(parts: TablePart[], opts: TableOptions = {}): Dataset {
  const ref = opts.reference?.kind === 'table' ? opts.reference : null;
  const label = ref?.labelColumn ?? opts.labelColumn ?? 'label';
  const first = parts[0]!;
  for (const p of parts) {
    if (!p.columns.includes(label)) {
      throw new InvalidInputError(`${p.file}: no label column "${label}" (columns: ${p.columns.slice(0, 20).join(', ')}${p.columns.length > 20 ? ', …' : ''}); set data.labelColumn`);
    }
  }
  const featureNames = ref ? ref.columns.map((c) => c.name) : first.columns.filter((c) => c !== label);
  for (const p of parts) {
    const have = p.columns.filter((c) => c !== label);
    const missing = featureNames.filter((c) => !have.includes(c));
    const extra = have.filter((c) => !featureNames.includes(c));
    if (missing.length || extra.length) {
      const whose = ref ? "the run's" : `${first.file}'s`;
      throw new InvalidInputError(
        `${p.file}: columns differ from ${whose}: ${[missing.length ? `missing ${missing.join(', ')}` : '', extra.length ? `extra ${extra.join(', ')}` : ''].filter(Boolean).join('; ')}`,
      );
    }
  }
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
        if (opts.categorical === 'refuse') {
          throw new InvalidInputError(
            `${first.file}: column "${name}" is categorical (values such as ${show(sample)}) and data.categorical is refuse; drop or encode it, or set data.categorical: onehot`,
          );
        }
        const categories = new Set<string>();
        for (const p of parts) for (const v of col(p, name)) if (v !== null && v !== undefined && String(v).trim() !== '') categories.add(String(v).trim());
        const max = opts.maxCategories ?? 100;
        if (categories.size > max) {
          throw new InvalidInputError(
            `${first.file}: column "${name}" has ${categories.size} distinct text values, more than data.maxCategories ${max} for one-hot encoding; drop it or encode it numerically`,
          );
        }
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
        for (let r = 0; r < p.rows; r++) {
          const n = numeric(values[r]);
          if (n === null) throw new InvalidInputError(`${at(p, r, s.name)}: missing value`);
          if (n === undefined) throw new InvalidInputError(`${at(p, r, s.name)}: ${show(values[r])} is not a number`);
          if (!Number.isFinite(n)) throw new InvalidInputError(`${at(p, r, s.name)}: ${show(values[r])} is NaN or infinite`);
          x[(base + r) * width + offset] = n;
        }
        offset++;
      } else {
        for (let r = 0; r < p.rows; r++) {
          const v = values[r];
          if (v === null || v === undefined || String(v).trim() === '') throw new InvalidInputError(`${at(p, r, s.name)}: missing value`);
          const k = s.categories.indexOf(String(v).trim());
          if (k < 0) throw new InvalidInputError(`${at(p, r, s.name)}: category ${show(v)} is not among the run's (${s.categories.slice(0, 10).join(', ')})`);
          x[(base + r) * width + offset + k] = 1;
        }
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

/** Class indices and names: integer labels are indices 0…max, anything else names classes (sorted). */
function labelsOf(raw: { v: Cell; where: string }[]): { labels: Int32Array; classNames: string[] } {
  for (const { v, where } of raw) if (v === null || v === undefined || String(v).trim() === '') throw new InvalidInputError(`${where}: missing label`);
  const ints = raw.map(({ v }) => {
    const n = typeof v === 'string' ? (/^\s*\d+\s*$/.test(v) ? Number(v) : NaN) : numeric(v);
    return typeof n === 'number' && Number.isInteger(n) && n >= 0 ? n : NaN;
  });
  if (ints.every((n) => !Number.isNaN(n))) {
    const max = ints.reduce((a, b) => Math.max(a, b), 0);
    if (max >= 100_000) throw new InvalidInputError(`${raw[ints.indexOf(max)]!.where}: label ${max} is no class index (integer labels must be 0…k−1)`);
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
