/**
 * Parquet tables, read with hyparquet (pure JavaScript; SNAPPY and uncompressed
 * pages — files compressed with GZIP/ZSTD/… are refused naming the codec). Flat
 * columns only: a nested column (list, struct) is refused naming it. Values become
 * a Dataset through table.ts.
 */
import { parquetMetadata, parquetRead, parquetSchema } from 'hyparquet';
import { InvalidInputError } from '../../contracts/errors.js';
import type { Cell, TablePart } from './table.js';

/** Parses one Parquet file into a table part; `file` names it in messages. */
export async function parseParquet(bytes: Uint8Array, file: string): Promise<TablePart> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let columns: string[];
  let rows: Cell[][] = [];
  try {
    const metadata = parquetMetadata(buffer);
    const schema = parquetSchema(metadata);
    const nested = schema.children.find((c) => c.children.length > 0);
    if (nested) throw new InvalidInputError(`${file}: column "${nested.element.name}" is nested (list or struct); only flat columns are features`);
    columns = schema.children.map((c) => c.element.name);
    await parquetRead({ file: buffer, metadata, rowFormat: 'array', onComplete: (r: Cell[][]) => (rows = r) });
  } catch (e) {
    if (e instanceof InvalidInputError) throw e;
    throw new InvalidInputError(`${file}: unreadable Parquet (${String((e as Error).message).split('\n')[0]})`);
  }
  if (rows.length === 0) throw new InvalidInputError(`${file}: has no rows`);
  const values = columns.map((_, c) => rows.map((r) => r[c] as Cell));
  return { file, columns, values, rows: rows.length, firstRow: 1, rowWord: 'row' };
}
