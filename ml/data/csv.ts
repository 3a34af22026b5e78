/**
 * CSV tables (RFC 4180, read with csv-parse): a header row names the columns; a UTF-8
 * byte-order mark is skipped; delimiter `,` (`;` or tab when the header holds those and
 * no comma). A row with another number of fields than the header is refused naming its
 * line. Values become a Dataset through table.ts; a large file is read as a stream of
 * row batches (`csvBatches`, for table-stream.ts) with the same options and refusals.
 */
import { parse as parseStream } from 'csv-parse';
import { parse } from 'csv-parse/sync';
import { InvalidInputError } from '../../contracts/errors.js';
import { rangeReader, type DataFiles } from './files.js';
import type { RowBatch, TablePart } from './table.js';

/** The delimiter a header line uses. */
const delimiterOf = (header: string) => (header.includes(',') ? ',' : header.includes(';') ? ';' : header.includes('\t') ? '\t' : ',');

const options = (delimiter: string) => ({ bom: true, delimiter, skip_empty_lines: true, relax_column_count: false, trim: false });

/** The refusal of a file csv-parse could not parse. */
function malformed(file: string, e: unknown): InvalidInputError {
  const m = e as Error & { lines?: number };
  return new InvalidInputError(`${file}: malformed CSV${m.lines ? ` at line ${m.lines}` : ''} (${m.message.split('\n')[0]})`);
}

/** The columns of a header record; a name appearing twice is refused. */
function headerColumns(record: string[], file: string): string[] {
  const columns = record.map((c) => c.trim());
  const dup = columns.find((c, i) => columns.indexOf(c) !== i);
  if (dup !== undefined) throw new InvalidInputError(`${file}: column "${dup}" appears twice in the header`);
  return columns;
}

/** Parses one CSV file into a table part; `file` names it in messages. */
export function parseCsv(bytes: Uint8Array, file: string): TablePart {
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes);
  let records: string[][];
  try {
    records = parse(text, options(delimiterOf(text.slice(0, text.search(/\r?\n|$/))))) as string[][];
  } catch (e) {
    throw malformed(file, e);
  }
  if (records.length === 0) throw new InvalidInputError(`${file}: empty CSV (no header row)`);
  const columns = headerColumns(records[0]!, file);
  const rows = records.length - 1;
  if (rows === 0) throw new InvalidInputError(`${file}: has a header but no data rows`);
  const values = columns.map((_, c) => Array.from({ length: rows }, (_, r) => records[r + 1]![c]!));
  return { file, columns, values, rows, firstRow: 2, rowWord: 'line' };
}

/** Bytes read from a file at once when streaming. */
const CHUNK_BYTES = 4 << 20;

/** Rows handed on at once when streaming. */
const BATCH_ROWS = 8192;

/** Resolves when `stream` drains or closes (its listeners removed). */
function drained(stream: NodeJS.EventEmitter): Promise<void> {
  return new Promise((done) => {
    const go = () => {
      stream.off('drain', go).off('close', go);
      done();
    };
    stream.on('drain', go).on('close', go);
  });
}

/** Streams CSV file `name` (`bytes` long) of `src` in batches of rows, reading it a chunk at a time (see the module comment). */
export async function* csvBatches(src: DataFiles, name: string, bytes: number): AsyncGenerator<RowBatch> {
  const file = src.describe(name);
  const read = rangeReader(src, name);
  const head = new TextDecoder('utf-8', { fatal: false }).decode(await read(0, Math.min(bytes, 64 * 1024)));
  const parser = parseStream(options(delimiterOf(head.slice(0, head.search(/\r?\n|$/)))));
  let failed: unknown = null;
  const feed = async () => {
    for (let at = 0; at < bytes && !parser.destroyed; at += CHUNK_BYTES) {
      const chunk = await read(at, Math.min(bytes, at + CHUNK_BYTES));
      if (!parser.write(chunk)) await drained(parser);
    }
    parser.end();
  };
  void feed().catch((e: unknown) => {
    failed = e;
    parser.destroy(e as Error);
  });
  let columns: string[] | null = null;
  let rows: string[][] = [];
  let any = false;
  try {
    for await (const record of parser as AsyncIterable<string[]>) {
      if (!columns) columns = headerColumns(record, file);
      else {
        any = true;
        if (rows.push(record) === BATCH_ROWS) {
          yield { columns, rows };
          rows = [];
        }
      }
    }
  } catch (e) {
    if (e === failed || e instanceof InvalidInputError) throw e;
    throw malformed(file, e);
  } finally {
    parser.destroy();
  }
  if (!columns) throw new InvalidInputError(`${file}: empty CSV (no header row)`);
  if (!any) throw new InvalidInputError(`${file}: has a header but no data rows`);
  if (rows.length) yield { columns, rows };
}
