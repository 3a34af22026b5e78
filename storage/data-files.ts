/**
 * The files of a data location, for the readers in ml/data/ (their `DataFiles`
 * interface, structurally): a local file or folder (a path or `file://` URL), an S3
 * object or prefix (`s3://bucket/prefix`, read with the store's S3 client
 * configuration and its retry budget for outages). Names starting with `.` are
 * skipped, in subfolders too. Every file has a version — its mtime, an S3 ETag — so
 * a listing identifies the content it read (content-addressed preparation, watches).
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, s3Client } from './s3-store.js';
import { withStoreRetry } from './retry.js';
import { InvalidInputError } from '../contracts/errors.js';

/** One listed file (ml/data/files.ts's `DataFile`). */
export interface LocationFile {
  name: string;
  bytes: number;
  version: string;
}

/** The files of one location (implements ml/data/files.ts's `DataFiles`). */
export interface LocationFiles {
  readonly location: string;
  readonly single: boolean;
  list(): Promise<{ files: LocationFile[]; emptyDirs: string[] }>;
  read(name: string): Promise<Uint8Array>;
  readRange(name: string, start: number, end: number): Promise<Uint8Array>;
  describe(name: string): string;
}

/** Bytes `start`…`end` (exclusive) of a local file. */
async function readFileRange(path: string, start: number, end: number): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const out = new Uint8Array(Math.max(0, end - start));
    let at = 0;
    while (at < out.length) {
      const { bytesRead } = await handle.read(out, at, out.length - at, start + at);
      if (bytesRead === 0) break;
      at += bytesRead;
    }
    return out.subarray(0, at);
  } finally {
    await handle.close();
  }
}

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

let client: S3Client | null = null;
const s3 = () => (client ??= s3Client());
const endpoint = () => process.env.LIGHTPATH_S3_ENDPOINT ?? process.env.AWS_ENDPOINT_URL_S3 ?? process.env.AWS_ENDPOINT_URL ?? 'AWS S3';

/** Whether `location` is an `s3://` or local location lightpath can read data from (not a built-in name). */
export function isFileLocation(location: string): boolean {
  return location.startsWith('s3://') || location.startsWith('file://') || location.includes('/') || location.includes('\\') || /\.[a-z0-9]+$/i.test(location);
}

/** Opens a data location; refuses (InvalidInputError naming `field`) one that does not exist. */
export async function openDataFiles(location: string, field: string): Promise<LocationFiles> {
  if (location.startsWith('s3://')) return openS3(location, field);
  const path = location.startsWith('file://') ? fileURLToPath(location) : resolve(location);
  const s = await stat(path).catch(() => null);
  if (!s) throw new InvalidInputError(`${field}: ${location} does not exist`);
  if (s.isFile()) {
    const name = basename(path);
    return {
      location,
      single: true,
      list: async () => ({ files: [{ name, bytes: s.size, version: s.mtime.toISOString() }], emptyDirs: [] }),
      read: async () => new Uint8Array(await readFile(path)),
      readRange: (_name, start, end) => readFileRange(path, start, end),
      describe: () => path,
    };
  }
  return {
    location,
    single: false,
    list: async () => {
      const files: LocationFile[] = [];
      const emptyDirs: string[] = [];
      const walk = async (rel: string): Promise<number> => {
        let found = 0;
        for (const e of await readdir(join(path, rel), { withFileTypes: true })) {
          if (e.name.startsWith('.')) continue;
          const name = rel ? `${rel}/${e.name}` : e.name;
          if (e.isDirectory()) {
            const n = await walk(name);
            if (n === 0) emptyDirs.push(`${name}/`);
            found += n;
          } else {
            const st = await stat(join(path, name)).catch(() => null);
            if (st?.isFile()) {
              files.push({ name, bytes: st.size, version: st.mtime.toISOString() });
              found++;
            }
          }
        }
        return found;
      };
      await walk('');
      return { files: files.sort(byName), emptyDirs: emptyDirs.sort() };
    },
    read: async (name) => new Uint8Array(await readFile(join(path, name))),
    readRange: (name, start, end) => readFileRange(join(path, name), start, end),
    describe: (name) => join(path, name),
  };
}

async function openS3(location: string, field: string): Promise<LocationFiles> {
  const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(location);
  if (!m || !m[1]) throw new InvalidInputError(`${field}: ${location} is not an s3://bucket/prefix location`);
  const bucket = m[1];
  const key = m[2]!;
  const get = async (k: string, range?: [number, number]): Promise<Uint8Array> =>
    withStoreRetry(endpoint(), `GET s3://${bucket}/${k}`, async () => {
      if (range && range[1] <= range[0]) return new Uint8Array(0);
      try {
        const out = await s3().send(new GetObjectCommand({ Bucket: bucket, Key: k, Range: range && `bytes=${range[0]}-${range[1] - 1}` }));
        return await out.Body!.transformToByteArray();
      } catch (e) {
        if (isNotFound(e)) throw new InvalidInputError(`${field}: s3://${bucket}/${k} does not exist (it was listed; removed since?)`);
        throw e;
      }
    });
  if (key && !key.endsWith('/')) {
    const head = await withStoreRetry(endpoint(), `HEAD ${location}`, () =>
      s3()
        .send(new HeadObjectCommand({ Bucket: bucket, Key: key }))
        .catch((e) => (isNotFound(e) ? null : Promise.reject(e))),
    );
    if (head) {
      const name = key.slice(key.lastIndexOf('/') + 1);
      return {
        location,
        single: true,
        list: async () => ({ files: [{ name, bytes: head.ContentLength ?? 0, version: (head.ETag ?? '').replaceAll('"', '') }], emptyDirs: [] }),
        read: () => get(key),
        readRange: (_name, start, end) => get(key, [start, end]),
        describe: () => location,
      };
    }
  }
  const prefix = key ? key.replace(/\/*$/, '/') : '';
  const list = async () => {
    const files: LocationFile[] = [];
    const markers: string[] = [];
    let token: string | undefined;
    do {
      const page = await withStoreRetry(endpoint(), `LIST s3://${bucket}/${prefix}`, () => s3().send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token })));
      for (const o of page.Contents ?? []) {
        const name = o.Key!.slice(prefix.length);
        if (!name || name.split('/').some((p) => p.startsWith('.'))) continue;
        if (name.endsWith('/')) markers.push(name);
        else files.push({ name, bytes: o.Size ?? 0, version: (o.ETag ?? '').replaceAll('"', '') });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    const emptyDirs = markers.filter((d) => !files.some((f) => f.name.startsWith(d)));
    return { files: files.sort(byName), emptyDirs };
  };
  const first = await list();
  if (first.files.length === 0 && first.emptyDirs.length === 0) throw new InvalidInputError(`${field}: ${location} does not exist (no object, nothing under the prefix)`);
  return {
    location,
    single: false,
    list: async () => first,
    read: (name) => get(prefix + name),
    readRange: (name, start, end) => get(prefix + name, [start, end]),
    describe: (name) => `s3://${bucket}/${prefix}${name}`,
  };
}
