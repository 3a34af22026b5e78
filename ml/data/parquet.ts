/**
 * Parquet tables, read with hyparquet (pure JavaScript; SNAPPY and uncompressed
 * pages — files compressed with GZIP/ZSTD/… are refused naming the codec). Flat
 * columns only: a nested column (list, struct) is refused naming it. Values become
 * a Dataset through table.ts; a large file is read a row group at a time
 * (`parquetBatches`, for table-stream.ts), fetching only the byte ranges it needs.
 */
import { parquetMetadata, parquetMetadataAsync, parquetRead, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { InvalidInputError } from '../../contracts/errors.js';
import { rangeReader, type DataFiles } from './files.js';
import type { Cell, RowBatch, TablePart } from './table.js';

/** The flat columns of a file's schema; a nested one is refused naming it. */
function flatColumns(metadata: FileMetaData, file: string): string[] {
  const schema = parquetSchema(metadata);
  const nested = schema.children.find((c) => c.children.length > 0);
  if (nested) throw new InvalidInputError(`${file}: column "${nested.element.name}" is nested (list or struct); only flat columns are features`);
  return schema.children.map((c) => c.element.name);
}

/** `e` as the refusal of an unreadable file (an InvalidInputError as it is). */
const unreadable = (file: string, e: unknown) => (e instanceof InvalidInputError ? e : new InvalidInputError(`${file}: unreadable Parquet (${String((e as Error).message).split('\n')[0]})`));

/** Parses one Parquet file into a table part; `file` names it in messages. */
export async function parseParquet(bytes: Uint8Array, file: string): Promise<TablePart> {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let columns: string[];
  let rows: Cell[][] = [];
  try {
    const metadata = parquetMetadata(buffer);
    columns = flatColumns(metadata, file);
    await parquetRead({ file: buffer, metadata, rowFormat: 'array', onComplete: (r: Cell[][]) => (rows = r) });
  } catch (e) {
    throw unreadable(file, e);
  }
  if (rows.length === 0) throw new InvalidInputError(`${file}: has no rows`);
  const values = columns.map((_, c) => rows.map((r) => r[c] as Cell));
  return { file, columns, values, rows: rows.length, firstRow: 1, rowWord: 'row' };
}

/** Streams Parquet file `name` (`bytes` long) of `src` a row group at a time (see the module comment). */
export async function* parquetBatches(src: DataFiles, name: string, bytes: number): AsyncGenerator<RowBatch> {
  const file = src.describe(name);
  const read = rangeReader(src, name);
  const buffer: AsyncBuffer = {
    byteLength: bytes,
    slice: async (start, end) => {
      const b = await read(start, end ?? bytes);
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
    },
  };
  let metadata: FileMetaData;
  let columns: string[];
  try {
    metadata = await parquetMetadataAsync(buffer);
    columns = flatColumns(metadata, file);
  } catch (e) {
    throw unreadable(file, e);
  }
  if (Number(metadata.num_rows) === 0) throw new InvalidInputError(`${file}: has no rows`);
  let start = 0;
  for (const group of metadata.row_groups) {
    const end = start + Number(group.num_rows);
    let rows: Cell[][] = [];
    try {
      await parquetRead({ file: buffer, metadata, rowStart: start, rowEnd: end, rowFormat: 'array', onComplete: (r: Cell[][]) => (rows = r) });
    } catch (e) {
      throw unreadable(file, e);
    }
    yield { columns, rows };
    start = end;
  }
}
