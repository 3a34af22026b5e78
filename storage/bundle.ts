/**
 * Tensor bundle: one binary file holding JSON metadata and named typed arrays
 * (checkpoints, data sets). Layout: "LPB1", u32 LE header length, header JSON,
 * zero padding to 8 bytes, then each array's bytes at its recorded offset (8-aligned).
 */
import { InvalidInputError } from '../contracts/errors.js';

export type BundleArray = Float32Array | Float64Array | Int32Array | Uint8Array;
type DType = 'float32' | 'float64' | 'int32' | 'uint8';

/** Metadata plus named arrays: what a bundle holds. */
export interface Bundle {
  meta: unknown;
  arrays: Record<string, BundleArray>;
}

interface Entry {
  name: string;
  dtype: DType;
  offset: number;
  length: number;
}

const MAGIC = 'LPB1';
const CTORS = { float32: Float32Array, float64: Float64Array, int32: Int32Array, uint8: Uint8Array } as const;

function dtypeOf(a: BundleArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  return 'uint8';
}

const align8 = (n: number) => (n + 7) & ~7;

/** Encodes a bundle to bytes. */
export function encodeBundle(b: Bundle): Uint8Array {
  const entries: Entry[] = [];
  let offset = 0;
  for (const [name, a] of Object.entries(b.arrays)) {
    entries.push({ name, dtype: dtypeOf(a), offset, length: a.length });
    offset = align8(offset + a.byteLength);
  }
  const header = new TextEncoder().encode(JSON.stringify({ meta: b.meta, entries }));
  const dataStart = align8(8 + header.length);
  const out = new Uint8Array(dataStart + offset);
  out.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(out.buffer).setUint32(4, header.length, true);
  out.set(header, 8);
  for (const e of entries) {
    const a = b.arrays[e.name]!;
    out.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), dataStart + e.offset);
  }
  return out;
}

/** The metadata of a bundle alone (its arrays not copied); errors as `decodeBundle`'s. */
export function bundleMeta(bytes: Uint8Array, source: string): unknown {
  return readHeader(bytes, source).header.meta;
}

function readHeader(bytes: Uint8Array, source: string): { header: { meta: unknown; entries: Entry[] }; headerLen: number } {
  const bad = (why: string) => new InvalidInputError(`${source} ${why}`);
  const magic = bytes.length >= 4 ? new TextDecoder().decode(bytes.subarray(0, 4)) : '';
  if (/^LPB\d$/.test(magic) && magic !== MAGIC) throw bad(`is a lightpath tensor bundle of unsupported version ${magic.slice(3)} (this lightpath reads version 1)`);
  if (magic !== MAGIC) throw bad('is not a lightpath tensor bundle (bad magic)');
  if (bytes.length < 8) throw bad(`is truncated: ${bytes.length} bytes, shorter than the bundle header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = view.getUint32(4, true);
  if (8 + headerLen > bytes.length) throw bad(`is truncated: its header needs ${headerLen} bytes, the file has ${bytes.length - 8} after the magic`);
  let header: { meta: unknown; entries: Entry[] };
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLen))) as typeof header;
  } catch (e) {
    throw bad(`has a malformed header (${(e as Error).message.split('\n')[0]})`);
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.entries)) throw bad('has a malformed header (no entries list)');
  return { header, headerLen };
}

/** Decodes bytes written by `encodeBundle`; `source` names the file in errors (InvalidInputError, one line, non-retryable). */
export function decodeBundle(bytes: Uint8Array, source: string): Bundle {
  const bad = (why: string) => new InvalidInputError(`${source} ${why}`);
  const { header, headerLen } = readHeader(bytes, source);
  const dataStart = align8(8 + headerLen);
  const arrays: Record<string, BundleArray> = {};
  for (const e of header.entries) {
    const Ctor = e && typeof e.dtype === 'string' && Object.hasOwn(CTORS, e.dtype) ? CTORS[e.dtype] : undefined;
    if (!Ctor || typeof e.name !== 'string' || !Number.isSafeInteger(e.offset) || !Number.isSafeInteger(e.length) || e.offset < 0 || e.length < 0) {
      throw bad(`has a malformed entry ${JSON.stringify(e).slice(0, 100)}`);
    }
    const start = dataStart + e.offset;
    const end = start + e.length * Ctor.BYTES_PER_ELEMENT;
    if (end > bytes.length) throw bad(`is truncated: array ${e.name} ends past the file`);
    // Copy through Uint8Array: `bytes` may be a Node Buffer, whose slice() is a view of a shared pool.
    arrays[e.name] = new Ctor(new Uint8Array(bytes.subarray(start, end)).buffer);
  }
  return { meta: header.meta, arrays };
}
