/**
 * The artifact store interface. Blobs are content-addressed by SHA-256: the key of
 * a blob is derived from its bytes, so writing the same output twice (an activity
 * retry, a resumed run) finds the finished object instead of writing another.
 * Named objects (run manifests) are the only mutable entries.
 */
import type { Readable } from 'node:stream';
import type { Ref } from '../contracts/types.js';
import { BadStoreUriError } from '../contracts/errors.js';

/** A reference to a stored artifact (contracts' `Ref`): what Temporal payloads carry instead of data. */
export type ArtifactRef = Ref;

/** One listed object. */
export interface ListedObject {
  uri: string;
  bytes: number;
}

export interface ArtifactStore {
  /** URI prefix of this store (`file:///…/` or `s3://bucket/prefix/`). */
  readonly root: string;
  /** Stores bytes content-addressed (atomically; skipped when already present). */
  put(data: Uint8Array): Promise<ArtifactRef>;
  /** Stores a stream content-addressed, hashing while it writes (multipart on S3). */
  putStream(data: Readable): Promise<ArtifactRef>;
  /** Reads a blob whole and verifies its SHA-256 against the reference. */
  get(ref: ArtifactRef): Promise<Uint8Array>;
  /** Streams a blob; the stream errors with CorruptArtifactError at its end on a mismatch. */
  getStream(ref: ArtifactRef): Promise<Readable>;
  /** Size of the object at `uri`, or null when absent. */
  stat(uri: string): Promise<{ bytes: number } | null>;
  /** Objects whose URI starts with `root + prefix`. */
  list(prefix: string): AsyncIterable<ListedObject>;
  /** Writes a named, mutable object (e.g. `runs/<id>/manifest.json`) atomically; returns its URI. */
  putNamed(key: string, data: Uint8Array): Promise<string>;
  /** Reads a named object, or null when absent. */
  getNamed(key: string): Promise<Uint8Array | null>;
  /** Deletes the object at `uri` (a blob purged on request); false when it was not there. */
  remove(uri: string): Promise<boolean>;
  /** The named-object key of a URI inside this store (percent-decoded for `file://`); BadStoreUriError outside it. */
  keyOf(uri: string): string;
}

/** Key of a content-addressed blob relative to the store root. */
export function blobKey(sha256: string): string {
  return `blobs/sha256/${sha256}`;
}

/**
 * Refuses a named object's key that could leave the store or mean different
 * objects on different stores: empty, absolute, with a backslash, a NUL or other
 * control character, or an empty, `.` or `..` segment (also percent-encoded).
 * `root` names the store in the error.
 */
export function checkKey(key: string, root: string): void {
  const why =
    typeof key !== 'string' || key.length === 0
      ? 'an empty key'
      : key.length > 1024
        ? 'a key longer than 1024 characters'
        : key.startsWith('/')
          ? 'an absolute key'
          : [...key].some((c) => c === '\\' || c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f)
            ? 'a key with a backslash or control character'
            : key.split('/').some((s) => s === '' || /^(\.|%2e){1,2}$/i.test(s))
              ? 'a key with an empty, . or .. segment'
              : null;
  if (why) throw new BadStoreUriError(`${root}${JSON.stringify(String(key).slice(0, 200)).slice(1, -1)}`, `${why} escapes or is not a name in this store`);
}
