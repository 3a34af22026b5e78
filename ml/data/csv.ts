/**
 * CSV tables (RFC 4180, read with csv-parse): a header row names the columns; a UTF-8
 * byte-order mark is skipped; delimiter `,` (`;` or tab when the header holds those and
 * no comma). A row with another number of fields than the header is refused naming its
 * line. Values become a Dataset through table.ts.
 */
import { parse } from 'csv-parse/sync';
import { InvalidInputError } from '../../contracts/errors.js';
import type { TablePart } from './table.js';

/** Parses one CSV file into a table part; `file` names it in messages. */
export function parseCsv(bytes: Uint8Array, file: string): TablePart {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  const header = text.slice(0, text.search(/\r?\n|$/));
  const delimiter = header.includes(',') ? ',' : header.includes(';') ? ';' : header.includes('\t') ? '\t' : ',';
  let records: string[][];
  try {
    records = parse(text, { bom: true, delimiter, skip_empty_lines: true, relax_column_count: false, trim: false }) as string[][];
  } catch (e) {
    const m = e as Error & { lines?: number };
    throw new InvalidInputError(`${file}: malformed CSV${m.lines ? ` at line ${m.lines}` : ''} (${m.message.split('\n')[0]})`);
  }
  if (records.length === 0) throw new InvalidInputError(`${file}: empty CSV (no header row)`);
  const columns = records[0]!.map((c) => c.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) throw new InvalidInputError(`${file}: column "${dup}" appears twice in the header`);
  const rows = records.length - 1;
  if (rows === 0) throw new InvalidInputError(`${file}: has a header but no data rows`);
  const values = columns.map((_, c) => Array.from({ length: rows }, (_, r) => records[r + 1]![c]!));
  return { file, columns, values, rows, firstRow: 2, rowWord: 'line' };
}
