/**
 * NumPy arrays: `.npy` files (format versions 1–3, little-endian or byte-sized
 * integer, float and bool dtypes, C order) and `.npz` archives (zip, stored or
 * deflated — what `np.savez`/`np.savez_compressed` write, read with fflate).
 *
 * A source holds `x` and `y` (`x.npy`/`y.npy` in a folder or prefix, or arrays of an
 * `.npz`), or `x_train`/`y_train` with optional `x_test`/`y_test` (Keras' `mnist.npz`
 * layout). `x` of shape [n, f] is a feature matrix (standardised like a table's
 * numeric columns), [n, h, w] grey images, [n, h, w, c] images; uint8 images stay
 * pixels (× 1/255 for the model), float images are taken as they are. `y` holds
 * integer class indices 0…k−1 ([n] or [n, 1]).
 */
import { unzipSync } from 'fflate';
import { InvalidInputError } from '../../contracts/errors.js';
import type { Dataset, Preprocessing, SourceData } from './dataset.js';

/** A parsed `.npy` array. */
export interface NpyArray {
  dtype: string;
  shape: number[];
  data: Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array | Float32Array | Float64Array;
}

const CTORS = {
  u1: Uint8Array,
  i1: Int8Array,
  b1: Uint8Array,
  i2: Int16Array,
  u2: Uint16Array,
  i4: Int32Array,
  u4: Uint32Array,
  i8: BigInt64Array,
  u8: BigUint64Array,
  f4: Float32Array,
  f8: Float64Array,
} as const;

/** Parses `.npy` bytes; `file` names it in messages. */
export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const bad = (why: string) => new InvalidInputError(`${file}: ${why}`);
  if (bytes.length < 10 || bytes[0] !== 0x93 || new TextDecoder().decode(bytes.subarray(1, 6)) !== 'NUMPY') throw bad('not a .npy file (bad magic)');
  const major = bytes[6]!;
  if (major < 1 || major > 3) throw bad(`unsupported .npy format version ${major}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + headerLen;
  if (start > bytes.length) throw bad(`truncated: header of ${headerLen} bytes runs past the file`);
  const header = new TextDecoder().decode(bytes.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad('malformed .npy header');
  if (fortran === 'True') throw bad('Fortran-ordered array; save it in C order (np.ascontiguousarray)');
  const m = /^([<|=])([uifb][1248])$/.exec(descr);
  const kind = m?.[2] as keyof typeof CTORS | undefined;
  if (!m || !kind || !(kind in CTORS)) throw bad(`unsupported dtype ${descr} (little-endian integer, float32/64 or bool only)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  const Ctor = CTORS[kind];
  const count = shape.reduce((a, b) => a * b, 1);
  const need = count * Ctor.BYTES_PER_ELEMENT;
  if (bytes.length - start < need) throw bad(`truncated: shape (${shape.join(', ')}) of ${descr} needs ${need} data bytes, the file has ${bytes.length - start}`);
  const data = new Ctor(bytes.slice(start, start + need).buffer);
  return { dtype: descr, shape, data };
}

/** The arrays of an `.npz` archive, by name without `.npy`. */
export function parseNpz(bytes: Uint8Array, file: string): Map<string, NpyArray> {
  let entries: Record<string, Uint8Array>;
  try {
    entries = unzipSync(bytes);
  } catch (e) {
    throw new InvalidInputError(`${file}: not a readable .npz (zip) archive (${(e as Error).message})`);
  }
  const out = new Map<string, NpyArray>();
  for (const [name, data] of Object.entries(entries)) if (name.endsWith('.npy')) out.set(name.slice(0, -4), parseNpy(data, `${file}:${name}`));
  return out;
}

/** The names under which a NumPy source holds its splits, in the order they are looked for. */
export const NUMPY_LAYOUTS = [
  { x: 'x', y: 'y', xTest: 'x_test', yTest: 'y_test' },
  { x: 'x_train', y: 'y_train', xTest: 'x_test', yTest: 'y_test' },
] as const;

/** Builds the source's splits from named arrays (`get` returns null for an absent name). */
export async function numpySource(get: (name: string) => Promise<NpyArray | null>, names: string[], where: string, reference?: Preprocessing): Promise<SourceData> {
  for (const l of NUMPY_LAYOUTS) {
    if (!names.includes(l.x) || !names.includes(l.y)) continue;
    const train = toDataset((await get(l.x))!, (await get(l.y))!, `${where} ${l.x}/${l.y}`, reference);
    const test = names.includes(l.xTest) && names.includes(l.yTest) ? toDataset((await get(l.xTest))!, (await get(l.yTest))!, `${where} ${l.xTest}/${l.yTest}`, reference) : null;
    const classes = Math.max(train.classNames.length, test?.classNames.length ?? 0);
    const names2 = Array.from({ length: classes }, (_, i) => String(i));
    return { train: { ...train, classNames: names2 }, test: test ? { ...test, classNames: names2 } : null, format: 'numpy' };
  }
  throw new InvalidInputError(`${where}: holds ${names.length ? names.join(', ') : 'no arrays'}; a NumPy source needs arrays x and y (or x_train and y_train)`);
}

function toDataset(x: NpyArray, y: NpyArray, where: string, reference?: Preprocessing): Dataset {
  const n = x.shape[0] ?? 0;
  if (x.shape.length < 2 || x.shape.length > 4) throw new InvalidInputError(`${where}: x has shape (${x.shape.join(', ')}); expected (n, features), (n, h, w) or (n, h, w, c)`);
  if (!(y.shape.length === 1 || (y.shape.length === 2 && y.shape[1] === 1))) throw new InvalidInputError(`${where}: y has shape (${y.shape.join(', ')}); expected (n,) class indices`);
  if (y.shape[0] !== n) throw new InvalidInputError(`${where}: ${y.shape[0]} labels for ${n} samples`);
  if (n === 0) throw new InvalidInputError(`${where}: no samples`);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = Number(y.data[i]!);
    if (!Number.isInteger(v) || v < 0 || v >= 100_000) throw new InvalidInputError(`${where}: y[${i}] = ${v} is no class index (integers 0…k−1)`);
    labels[i] = v;
  }
  const shape = x.shape.length === 3 ? [x.shape[1]!, x.shape[2]!, 1] : x.shape.slice(1);
  const images = shape.length === 3;
  let data: Uint8Array | Float32Array;
  if (images && x.data instanceof Uint8Array && x.dtype.endsWith('u1')) data = x.data;
  else {
    data = new Float32Array(x.data.length);
    for (let i = 0; i < data.length; i++) {
      const v = Number(x.data[i]!);
      if (!Number.isFinite(v)) throw new InvalidInputError(`${where}: x holds ${v} at sample ${Math.floor(i / (data.length / n))} (NaN or infinite)`);
      data[i] = v;
    }
  }
  const classNames = Array.from({ length: labels.reduce((a, b) => Math.max(a, b), 0) + 1 }, (_, i) => String(i));
  const scale = data instanceof Uint8Array ? 1 / 255 : 1;
  const preprocessing: Preprocessing = images
    ? { kind: 'images', size: [shape[0]!, shape[1]!], color: shape[2] === 1 ? 'grayscale' : 'rgb', scale, resized: 0, skipped: 0 }
    : reference?.kind === 'array'
      ? reference
      : { kind: 'array', mean: [], std: [], scale: 1 };
  return { shape, count: n, x: data, labels, classNames, preprocessing };
}
