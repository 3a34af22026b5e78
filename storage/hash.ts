/** SHA-256 helpers for content addressing and verification. */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { CorruptArtifactError } from '../contracts/errors.js';

/** Hex SHA-256 of bytes. */
export function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Pass-through stream that hashes and counts what flows through it. */
export class HashingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;

  _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** The hex digest; call after the stream ended. */
  digest(): string {
    return this.hash.digest('hex');
  }
}

/** Pass-through stream that fails at its end when the content's hash differs from `expected`. */
export function verifyingStream(uri: string, expected: string): Transform {
  const hash = createHash('sha256');
  return new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      cb(null, chunk);
    },
    flush(cb) {
      const actual = hash.digest('hex');
      cb(actual === expected ? null : new CorruptArtifactError(uri, expected, actual));
    },
  });
}

/** Throws CorruptArtifactError when `data` does not hash to `expected`. */
export function verify(uri: string, data: Uint8Array, expected: string): void {
  const actual = sha256Hex(data);
  if (actual !== expected) throw new CorruptArtifactError(uri, expected, actual);
}
