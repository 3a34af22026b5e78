/** Writers for the data formats lightpath reads, so tests build their own small data sets. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { zipSync } from 'fflate';

/** A `.npy` file (format 1.0, C order) holding `data` with numpy dtype `descr` (e.g. `<f4`, `|u1`, `<i8`). */
export function npy(descr: string, shape: number[], data: ArrayLike<number> | ArrayLike<bigint>): Uint8Array {
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const Ctor = { '<f4': Float32Array, '<f8': Float64Array, '|u1': Uint8Array, '<i4': Int32Array, '<i8': BigInt64Array } as const;
  const C = Ctor[descr as keyof typeof Ctor];
  const arr = C === BigInt64Array ? BigInt64Array.from(Array.from(data as ArrayLike<number>, (v) => BigInt(v))) : (C as Float32ArrayConstructor).from(data as ArrayLike<number>);
  const out = new Uint8Array(10 + header.length + arr.byteLength);
  out.set([0x93, ...new TextEncoder().encode('NUMPY'), 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(new TextEncoder().encode(header), 10);
  out.set(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength), 10 + header.length);
  return out;
}

/** Writes `bytes` to `root/name`, creating folders. */
export function put(root: string, name: string, bytes: Uint8Array | string): string {
  const path = join(root, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

/** A `height`×`width` image whose pixels are `value + class-dependent pattern`, encoded as `ext` (png, jpg, webp); grey (1 channel) or RGB. */
export async function image(width: number, height: number, seed: number, ext: 'png' | 'jpg' | 'webp', channels: 1 | 3 = 1): Promise<Uint8Array> {
  const px = Buffer.alloc(width * height * channels);
  for (let i = 0; i < px.length; i++) px[i] = (seed * 37 + i * (seed + 3)) % 256;
  let s = sharp(px, { raw: { width, height, channels } });
  if (channels === 1) s = s.toColourspace('b-w');
  const enc = ext === 'png' ? s.png() : ext === 'jpg' ? s.jpeg({ quality: 95 }) : s.webp({ lossless: true });
  return new Uint8Array(await enc.toBuffer());
}

/**
 * An image folder `root/<class>/<i>.png` of `perClass` images per class; class `c`'s
 * images are bright in the left half (c = 0) or the right half (c = 1), etc., plus noise —
 * learnable. `sizes` cycles image sizes (to test resizing).
 */
export async function imageFolder(root: string, classes: string[], perClass: number, sizes: [number, number][] = [[12, 12]], channels: 1 | 3 = 1, prefix = ''): Promise<void> {
  let k = 0;
  for (const [c, name] of classes.entries()) {
    for (let i = 0; i < perClass; i++) {
      const [w, h] = sizes[k++ % sizes.length]!;
      const px = Buffer.alloc(w * h * channels);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const band = Math.floor((x * classes.length) / w) === c;
          for (let ch = 0; ch < channels; ch++) px[(y * w + x) * channels + ch] = (band ? 200 : 40) + ((i * 7 + x * 3 + y * 5 + ch) % 40);
        }
      }
      let s = sharp(px, { raw: { width: w, height: h, channels } });
      if (channels === 1) s = s.toColourspace('b-w');
      put(root, `${prefix}${name}/${String(i).padStart(4, '0')}.png`, new Uint8Array(await s.png().toBuffer()));
    }
  }
}

/** A learnable table: numeric features f0..f(n−1), a categorical `colour`, string label `kind` ∈ {a, b, c}. Rows as CSV text. */
export function tableRows(rows: number, seed = 1): { columns: Record<string, (number | string)[]>; csv: string } {
  const f0: number[] = [];
  const f1: number[] = [];
  const colour: string[] = [];
  const label: string[] = [];
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let r = 0; r < rows; r++) {
    const c = r % 3;
    f0.push(Number((c * 2 + rnd()).toFixed(4)));
    f1.push(Number((100 + 50 * rnd() - c * 20).toFixed(3)));
    colour.push(['red', 'green', 'blue'][(c + (rnd() < 0.2 ? 1 : 0)) % 3]!);
    label.push(['a', 'b', 'c'][c]!);
  }
  const columns = { f0, f1, colour, label };
  const csv = ['f0,f1,colour,label', ...f0.map((_, r) => `${f0[r]},${f1[r]},${colour[r]},${label[r]}`)].join('\n') + '\n';
  return { columns, csv };
}

/** The table of `tableRows` as a Parquet file. */
export function parquetOf(columns: Record<string, (number | string)[]>): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: Object.entries(columns).map(([name, data]) => ({ name, data, type: typeof data[0] === 'number' ? ('DOUBLE' as const) : ('STRING' as const) })),
    }),
  );
}

/** A learnable feature set for NumPy sources: `count` samples of 4 float features, labels 0…2 cycling, class c shifted by 2c in feature c. */
export function featureArrays(count: number, seed = 1): { x: number[]; y: number[] } {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const x: number[] = [];
  const y: number[] = [];
  for (let n = 0; n < count; n++) {
    const c = n % 3;
    for (let f = 0; f < 4; f++) x.push((f === c ? 2 * c + 2 : 0) + rnd());
    y.push(c);
  }
  return { x, y };
}

/** An `.npz` archive (uncompressed zip) of `x.npy` (float32, `count`×4) and `y.npy` (int64) from `featureArrays`. */
export function npzOf({ x, y }: { x: number[]; y: number[] }): Uint8Array {
  return zipSync({ 'x.npy': npy('<f4', [y.length, x.length / y.length], x), 'y.npy': npy('<i8', [y.length], y) }, { level: 0 });
}

/** A CIFAR-10 binary batch of `count` records (1 label byte + 3072 channel-major pixels); labels 0…2 cycle and class c is bright in channel c, plus noise — learnable. */
export function cifarBatch(count: number, seed = 1): Uint8Array {
  const out = new Uint8Array(count * 3073);
  for (let n = 0; n < count; n++) {
    const c = n % 3;
    const r = n * 3073;
    out[r] = c;
    for (let p = 0; p < 3072; p++) out[r + 1 + p] = (Math.floor(p / 1024) === c ? 180 : 40) + ((seed * 31 + n * 7 + p * 13) % 60);
  }
  return out;
}
