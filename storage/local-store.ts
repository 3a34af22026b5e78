/**
 * Local-filesystem artifact store: the embedded default, under `.lightpath/store`
 * or `$LIGHTPATH_HOME/store`. Writes go to a temporary file in the same directory
 * and are renamed into place, so a reader never sees a partial object.
 *
 * Confinement: no URI or key reaches a file outside the store's folder. A URI is
 * refused when its path has `.` or `..` segments (raw or percent-encoded: lightpath
 * never writes one), then decoded (`fileURLToPath`) and resolved, and the path must
 * be inside the folder; a key must pass `checkKey`. Symlinks: the real path of the
 * file (or, for a file not written yet, of its nearest existing folder) must be
 * inside the real path of the store's folder, so a link inside the store to a
 * file outside it is refused too.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile, readdir, rm } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { randomBytes } from 'node:crypto';
import { blobKey, checkKey, type ArtifactRef, type ArtifactStore, type ListedObject } from './artifact-store.js';
import { HashingStream, sha256Hex, verify, verifyingStream } from './hash.js';
import { MissingArtifactError, BadStoreUriError } from '../contracts/errors.js';
import { insideFolders, isDotSegment } from './data-roots.js';

export class LocalStore implements ArtifactStore {
  readonly root: string;

  private readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
    this.root = pathToFileURL(this.dir).href.replace(/\/?$/, '/');
  }

  /** The file `uri` names, decoded and resolved, required to be inside the store (symlinks followed). */
  private async pathOf(uri: string): Promise<string> {
    if (typeof uri !== 'string' || !uri.startsWith('file://')) throw new BadStoreUriError(String(uri), `not a file:// URI of the local store ${this.root}`);
    if (uri.slice('file://'.length).split(/[/?#]/).some(isDotSegment)) throw new BadStoreUriError(uri, 'has . or .. segments (also percent-encoded); give the path without them');
    let path: string;
    try {
      path = fileURLToPath(uri);
    } catch (e) {
      throw new BadStoreUriError(uri, (e as Error).message.split('\n')[0]!);
    }
    return this.confine(path, uri);
  }

  /** `path` when it is inside the store's folder, lexically and after following symlinks; else BadStoreUriError naming `what`. */
  private async confine(path: string, what: string): Promise<string> {
    if (!(await insideFolders(resolve(path), [this.dir]))) throw new BadStoreUriError(what, `outside the local store ${this.root}`);
    return path;
  }

  /** The file of named object `key`, checked (`checkKey`) and confined. */
  private async namedPath(key: string): Promise<string> {
    checkKey(key, this.root);
    return this.confine(join(this.dir, key), `${this.root}${key}`);
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
    const data = await readFile(await this.pathOf(ref.uri)).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new MissingArtifactError(ref.uri) : e;
    });
    verify(ref.uri, data, ref.sha256);
    return data;
  }

  async getStream(ref: ArtifactRef): Promise<Readable> {
    const path = await this.pathOf(ref.uri);
    if (!(await stat(path).catch(() => null))) throw new MissingArtifactError(ref.uri);
    return createReadStream(path).pipe(verifyingStream(ref.uri, ref.sha256));
  }

  async stat(uri: string): Promise<{ bytes: number } | null> {
    const s = await stat(await this.pathOf(uri)).catch(() => null);
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
    const path = await this.namedPath(key);
    await this.writeAtomic(path, data);
    return pathToFileURL(path).href;
  }

  async getNamed(key: string): Promise<Uint8Array | null> {
    return readFile(await this.namedPath(key)).catch(() => null);
  }

  keyOf(uri: string): string {
    if (typeof uri !== 'string' || !uri.startsWith(this.root)) throw new BadStoreUriError(String(uri), `not inside the local store ${this.root}`);
    return decodeURIComponent(uri.slice(this.root.length));
  }

  async remove(uri: string): Promise<boolean> {
    const path = await this.pathOf(uri);
    if (!(await stat(path).catch(() => null))) return false;
    await rm(path, { force: true });
    return true;
  }
}
