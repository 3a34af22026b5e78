/**
 * The artifact store interface. Blobs are content-addressed by SHA-256: the key of
 * a blob is derived from its bytes, so writing the same output twice (an activity
 * retry, a resumed run) finds the finished object instead of writing another.
 * Named objects (run manifests) are the only mutable entries.
 */
import type { Readable } from 'node:stream';
import type { Ref } from '../contracts/types.js';

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
}

/** Key of a content-addressed blob relative to the store root. */
export function blobKey(sha256: string): string {
  return `blobs/sha256/${sha256}`;
}
