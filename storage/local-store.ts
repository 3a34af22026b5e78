/**
 * Local-filesystem artifact store: the embedded default, under `.lightpath/store`
 * or `$LIGHTPATH_HOME/store`. Writes go to a temporary file in the same directory
 * and are renamed into place, so a reader never sees a partial object.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { blobKey, type ArtifactRef, type ArtifactStore, type ListedObject } from './artifact-store.js';
import { HashingStream, sha256Hex, verify, verifyingStream } from './hash.js';
import { MissingArtifactError, BadStoreUriError } from '../contracts/errors.js';

export class LocalStore implements ArtifactStore {
  readonly root: string;

  constructor(private readonly dir: string) {
    this.root = pathToFileURL(dir).href.replace(/\/?$/, '/');
  }

  private pathOf(uri: string): string {
    if (!uri.startsWith(this.root)) throw new BadStoreUriError(uri, `not inside the local store ${this.root}`);
    return fileURLToPath(uri);
  }

  private async writeAtomic(path: string, data: Uint8Array): Promise<void> {
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${randomBytes(6).toString('hex')}`;
    await writeFile(tmp, data);
    await rename(tmp, path);
  }

  async put(data: Uint8Array): Promise<ArtifactRef> {
    const sha256 = sha256Hex(data);
    const path = join(this.dir, blobKey(sha256));
    const existing = await stat(path).catch(() => null);
    if (!existing || existing.size !== data.length) await this.writeAtomic(path, data);
    return { uri: pathToFileURL(path).href, sha256, bytes: data.length };
  }

  async putStream(data: Readable): Promise<ArtifactRef> {
    const tmpDir = join(this.dir, 'tmp');
    await mkdir(tmpDir, { recursive: true });
    const tmp = join(tmpDir, randomBytes(8).toString('hex'));
    const hasher = new HashingStream();
    try {
      await pipeline(data, hasher, createWriteStream(tmp));
      const sha256 = hasher.digest();
      const path = join(this.dir, blobKey(sha256));
      await mkdir(dirname(path), { recursive: true });
      await rename(tmp, path);
      return { uri: pathToFileURL(path).href, sha256, bytes: hasher.bytes };
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(ref: ArtifactRef): Promise<Uint8Array> {
    const data = await readFile(this.pathOf(ref.uri)).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new MissingArtifactError(ref.uri) : e;
    });
    verify(ref.uri, data, ref.sha256);
    return data;
  }

  async getStream(ref: ArtifactRef): Promise<Readable> {
    const path = this.pathOf(ref.uri);
    if (!(await stat(path).catch(() => null))) throw new MissingArtifactError(ref.uri);
    return createReadStream(path).pipe(verifyingStream(ref.uri, ref.sha256));
  }

  async stat(uri: string): Promise<{ bytes: number } | null> {
    const s = await stat(this.pathOf(uri)).catch(() => null);
    return s ? { bytes: s.size } : null;
  }

  async *list(prefix: string): AsyncIterable<ListedObject> {
    const base = this.dir;
    async function* walk(dir: string): AsyncIterable<string> {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const p = join(dir, e.name);
        if (e.isDirectory()) yield* walk(p);
        else yield p;
      }
    }
    for await (const p of walk(base)) {
      const key = relative(base, p).split(sep).join('/');
      if (!key.startsWith(prefix) || key.includes('.tmp-') || key.startsWith('tmp/')) continue;
      const s = await stat(p);
      yield { uri: pathToFileURL(p).href, bytes: s.size };
    }
  }

  async putNamed(key: string, data: Uint8Array): Promise<string> {
    const path = join(this.dir, key);
    await this.writeAtomic(path, data);
    return pathToFileURL(path).href;
  }

  async getNamed(key: string): Promise<Uint8Array | null> {
    return readFile(join(this.dir, key)).catch(() => null);
  }
}
