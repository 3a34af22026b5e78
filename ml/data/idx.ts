/**
 * IDX files (the MNIST/Fashion-MNIST format), optionally gzip-compressed.
 * Header: two zero bytes, a type byte, the number of dimensions, then each
 * dimension as a big-endian uint32; the data follows, row-major.
 */
import { gunzipSync } from 'node:zlib';
import { InvalidInputError } from '../../contracts/errors.js';

/** A parsed IDX array (unsigned bytes: the only type the image/label files use). */
export interface IdxArray {
  shape: number[];
  data: Uint8Array;
}

/** Parses IDX bytes; `file` names the source in errors. Gzip input is detected and inflated. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  let raw = bytes;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      raw = gunzipSync(raw);
    } catch (e) {
      throw new InvalidInputError(`${file}: not a valid gzip stream (${(e as Error).message})`);
    }
  }
  if (raw.length < 4) throw new InvalidInputError(`${file}: too short for an IDX header (${raw.length} bytes)`);
  if (raw[0] !== 0 || raw[1] !== 0) {
    throw new InvalidInputError(`${file}: bad IDX magic (first two bytes must be 0, got ${raw[0]}, ${raw[1]})`);
  }
  if (raw[2] !== 0x08) {
    throw new InvalidInputError(`${file}: unsupported IDX element type 0x${raw[2]!.toString(16)} (expected 0x08, unsigned byte)`);
  }
  const ndim = raw[3]!;
  if (ndim < 1 || ndim > 4) throw new InvalidInputError(`${file}: unsupported IDX rank ${ndim}`);
  const headerLen = 4 + 4 * ndim;
  if (raw.length < headerLen) throw new InvalidInputError(`${file}: header truncated (${raw.length} bytes)`);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const shape: number[] = [];
  for (let d = 0; d < ndim; d++) shape.push(view.getUint32(4 + 4 * d, false));
  const count = shape.reduce((a, b) => a * b, 1);
  if (raw.length - headerLen !== count) {
    throw new InvalidInputError(`${file}: header declares shape [${shape.join(', ')}] = ${count} values but the file holds ${raw.length - headerLen}`);
  }
  return { shape, data: raw.subarray(headerLen) };
}
