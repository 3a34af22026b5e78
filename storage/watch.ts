/**
 * Watch locations: a folder or an S3 prefix (`s3://bucket/prefix`) where new
 * training data arrives, in subfolders too: image-set bundles (`*.lpb`), table files
 * (`*.csv`, `*.parquet`), NumPy arrays (`*.npz`, `x.npy` + `y.npy`), CIFAR batches
 * (`*.bin`) and images in class folders (`<class>/*.png|jpg|jpeg|webp`); other files
 * are not listed, and names starting with `.` are skipped (write there, then rename).
 * Listing gives each object a version — a file's mtime, an S3 object's ETag — so a
 * reader can tell a new or replaced object from one it has read.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { GetObjectCommand, HeadBucketCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isNotFound, s3Client } from './s3-store.js';
import { BadWatchLocationError } from '../contracts/errors.js';

/** Extensions of the files a watch location picks up (lower case). */
export const WATCHED_EXTENSIONS = ['.lpb', '.csv', '.parquet', '.pq', '.npz', '.npy', '.bin', '.png', '.jpg', '.jpeg', '.webp'];

const extension = (name: string) => {
  const base = name.slice(name.lastIndexOf('/') + 1);
  const dot = base.lastIndexOf('.');
  return dot <= 0 ? '' : base.slice(dot).toLowerCase();
};

/** One object of a watch location. */
export interface WatchEntry {
  /** Path relative to the location, `/`-separated. */
  name: string;
  uri: string;
  bytes: number;
  version: string;
}

type Location = { kind: 'folder'; dir: string } | { kind: 's3'; bucket: string; prefix: string };

function locate(watch: string): Location {
  if (watch.startsWith('s3://')) {
    const m = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/.exec(watch);
    if (!m) throw new BadWatchLocationError(watch, 'expected s3://bucket/prefix');
    const prefix = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
    return { kind: 's3', bucket: m[1]!, prefix: prefix ? `${prefix}/` : '' };
  }
  if (watch.startsWith('file://')) return { kind: 'folder', dir: fileURLToPath(watch) };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(watch)) throw new BadWatchLocationError(watch, 'only folders and s3:// prefixes can be watched');
  return { kind: 'folder', dir: resolve(watch) };
}

/** The canonical form of a watch location: an absolute folder path, or `s3://bucket/prefix`. */
export function watchLocation(watch: string): string {
  const l = locate(watch);
  return l.kind === 'folder' ? l.dir : `s3://${l.bucket}/${l.prefix.replace(/\/$/, '')}`;
}

let client: S3Client | null = null;
const s3 = () => (client ??= s3Client());

/** Throws BadWatchLocationError when the location certainly cannot be watched: a missing folder, a file, a missing bucket. */
export async function checkWatch(watch: string): Promise<void> {
  const l = locate(watch);
  if (l.kind === 'folder') {
    const s = await stat(l.dir).catch(() => null);
    if (!s) throw new BadWatchLocationError(watch, 'no such folder');
    if (!s.isDirectory()) throw new BadWatchLocationError(watch, 'not a folder');
    return;
  }
  try {
    await s3().send(new HeadBucketCommand({ Bucket: l.bucket }));
  } catch (e) {
    if (isNotFound(e)) throw new BadWatchLocationError(watch, `bucket ${l.bucket} does not exist`);
    throw e;
  }
}

const picked = (name: string) => WATCHED_EXTENSIONS.includes(extension(name)) && !name.split('/').some((part) => part.startsWith('.'));

async function* walk(dir: string, rel = ''): AsyncIterable<string> {
  for (const e of await readdir(join(dir, rel), { withFileTypes: true })) {
    if (e.name.startsWith('.')) continue;
    const name = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* walk(dir, name);
    else yield name;
  }
}

/** The data objects of a watch location (see WATCHED_EXTENSIONS), by name. */
export async function listWatch(watch: string): Promise<WatchEntry[]> {
  const l = locate(watch);
  const out: WatchEntry[] = [];
  if (l.kind === 'folder') {
    await checkWatch(watch);
    for await (const name of walk(l.dir)) {
      if (!picked(name)) continue;
      const path = join(l.dir, name);
      const s = await stat(path).catch(() => null);
      if (s?.isFile()) out.push({ name, uri: pathToFileURL(path).href, bytes: s.size, version: s.mtime.toISOString() });
    }
  } else {
    let token: string | undefined;
    do {
      const page = await s3().send(new ListObjectsV2Command({ Bucket: l.bucket, Prefix: l.prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) {
        const name = o.Key!.slice(l.prefix.length);
        if (picked(name)) out.push({ name, uri: `s3://${l.bucket}/${o.Key}`, bytes: o.Size ?? 0, version: (o.ETag ?? '').replaceAll('"', '') });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Reads a listed object whole, with the version read; null when it is gone. */
export async function readWatched(uri: string): Promise<{ data: Uint8Array; version: string } | null> {
  if (uri.startsWith('file://')) {
    const path = fileURLToPath(uri);
    const s = await stat(path).catch(() => null);
    const data = s && (await readFile(path).catch(() => null));
    return data ? { data, version: s.mtime.toISOString() } : null;
  }
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!m) throw new BadWatchLocationError(uri, 'not a watched object');
  try {
    const out = await s3().send(new GetObjectCommand({ Bucket: m[1], Key: m[2] }));
    return { data: await out.Body!.transformToByteArray(), version: (out.ETag ?? '').replaceAll('"', '') };
  } catch (e) {
    if (isNotFound(e)) return null;
    throw e;
  }
}
