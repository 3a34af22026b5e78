/**
 * What data readers read from: the files under a location (a folder, a single file,
 * an S3 prefix or object). ml/ does no I/O of its own choosing — storage/data-files.ts
 * implements this for local paths and `s3://` locations, tests may implement it in
 * memory — so one reader serves both.
 */

/** One file under a location. */
export interface DataFile {
  /** Path relative to the location, `/`-separated (the file's own name when the location is a file). */
  name: string;
  bytes: number;
  /** A file's mtime, an S3 object's ETag: with name and size, what tells a changed file from a read one. */
  version: string;
}

export interface DataFiles {
  /** The location as given (for messages). */
  readonly location: string;
  /** Whether the location is one file (then `list()` holds just it). */
  readonly single: boolean;
  /** Every file below the location (names starting with `.` skipped), sorted by name; `dirs` are the folders that hold no file at all. */
  list(): Promise<{ files: DataFile[]; emptyDirs: string[] }>;
  /** A file's bytes. */
  read(name: string): Promise<Uint8Array>;
  /** Bytes `start` (inclusive) to `end` (exclusive) of a file: what streaming readers read a file by (absent: they read it whole, once). */
  readRange?(name: string, start: number, end: number): Promise<Uint8Array>;
  /** How messages name a file: its path or URI. */
  describe(name: string): string;
}

/** A reader of byte ranges of one file of `src`: its `readRange`, else slices of the whole file read once. */
export function rangeReader(src: DataFiles, name: string): (start: number, end: number) => Promise<Uint8Array> {
  if (src.readRange) return (start, end) => src.readRange!(name, start, end);
  let whole: Promise<Uint8Array> | null = null;
  return async (start, end) => (await (whole ??= src.read(name))).subarray(start, end);
}

/** The lower-cased extension of a name (`.csv`), or ''. */
export function extensionOf(name: string): string {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
}

/** Runs `fn` over `items` with at most `limit` at once, results in order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
