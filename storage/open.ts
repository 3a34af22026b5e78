/**
 * Choosing a store. `useStore` (the Temporal plugin's `store` option) or else
 * `LIGHTPATH_STORE` names it: `s3://bucket/prefix` for S3 (any
 * S3-compatible endpoint via `LIGHTPATH_S3_ENDPOINT` or `AWS_ENDPOINT_URL_S3`), a
 * path or `file://` URL for a local folder. Unset: S3 when `LIGHTPATH_S3_BUCKET` is
 * set, else the local store under `$LIGHTPATH_HOME/store` (default `.lightpath/store`).
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ArtifactStore } from './artifact-store.js';
import { LocalStore } from './local-store.js';
import { S3Store } from './s3-store.js';
import { BadStoreUriError } from '../contracts/errors.js';
import { isDotSegment } from './data-roots.js';

/** lightpath's home folder for embedded state (`$LIGHTPATH_HOME`, default `./.lightpath`). */
export function lightpathHome(): string {
  return resolve(process.env.LIGHTPATH_HOME ?? '.lightpath');
}

let processStore: string | null = null;

/**
 * Makes `uri` this process's store, over the environment (the Temporal plugin's
 * `store`). The URI is checked at once; a process has one store.
 */
export function useStore(uri: string): void {
  if (processStore !== null && processStore !== uri) throw new Error(`this process already uses the store ${processStore}; it cannot also use ${uri}`);
  openStore(uri);
  processStore = uri;
}

/** The store URI this process uses: the one `useStore` set, else the environment's. */
export function configuredStoreUri(): string {
  if (processStore !== null) return processStore;
  if (process.env.LIGHTPATH_STORE) return process.env.LIGHTPATH_STORE;
  if (process.env.LIGHTPATH_S3_BUCKET) {
    return `s3://${process.env.LIGHTPATH_S3_BUCKET}/${process.env.LIGHTPATH_S3_PREFIX ?? 'lightpath'}`;
  }
  return resolve(lightpathHome(), 'store');
}

/** Opens the store at `uri` (default: the configured one). */
export function openStore(uri: string = configuredStoreUri()): ArtifactStore {
  if (uri.startsWith('s3://')) {
    const m = /^s3:\/\/([^/]+)\/?(.*)$/.exec(uri);
    if (!m || !m[1]) throw new BadStoreUriError(uri, 'expected s3://bucket/prefix');
    if (m[2]!.split('/').some(isDotSegment)) throw new BadStoreUriError(uri, 'the prefix has . or .. segments');
    return new S3Store({ bucket: m[1], prefix: m[2] });
  }
  if (uri.startsWith('file://')) return new LocalStore(fileURLToPath(uri));
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) throw new BadStoreUriError(uri, 'only s3:// and file:// stores are supported');
  return new LocalStore(resolve(uri));
}

const byRoot = new Map<string, ArtifactStore>();

/**
 * A store that can read the artifact at `uri`: the bucket root for `s3://` URIs,
 * the filesystem root for `file://` URIs. Cached per root.
 *
 * What "escapes its store" means: a store opened on `s3://bucket/prefix` (or a
 * folder) never reads or writes a key outside that prefix (or folder); URIs of
 * another bucket or prefix are refused by it. Artifact references, though, name
 * their own store: a retrain or merge reads the artifacts of runs that wrote to
 * other stores, and `export` reads a run's model wherever it is. They are read
 * through this function, which opens the whole bucket (or filesystem) the URI
 * names — references come from lightpath's own results, not from callers — but
 * still refuses a URI with `.`/`..` segments (raw or percent-encoded), which
 * lightpath never writes, so a URI cannot walk out of the folder or prefix it
 * names.
 */
export function storeForUri(uri: string): ArtifactStore {
  if (
    typeof uri === 'string' &&
    /^(s3|file):\/\//.test(uri) &&
    uri
      .replace(/^[a-z0-9]+:\/\//, '')
      .split(/[/?#]/)
      .some(isDotSegment)
  ) {
    throw new BadStoreUriError(uri, 'has . or .. segments (also percent-encoded)');
  }
  const root = uri.startsWith('s3://') ? `s3://${uri.slice(5).split('/')[0]}/` : uri.startsWith('file://') ? 'file:///' : null;
  if (!root) throw new BadStoreUriError(uri, 'only s3:// and file:// artifact URIs are supported');
  let s = byRoot.get(root);
  if (!s) {
    s = openStore(root);
    byRoot.set(root, s);
  }
  return s;
}
