/**
 * Image folders in the convention of Keras' `image_dataset_from_directory` and
 * torchvision's `ImageFolder`: `root/<class>/*.{png,jpg,jpeg,webp}` (class names sorted,
 * as both do), or `root/train/<class>/…` with an optional `root/test/<class>/…`.
 *
 * Decoded with sharp (libvips). Every image is resized to one size — the configured
 * one, else the run's (new data), else the first training image's — stretched to fill
 * (`fit: fill`, bilinear: Keras' default interpolation, no aspect-ratio crop), and
 * converted to grayscale (1 channel) or sRGB (3 channels, alpha dropped); colour
 * `auto` takes RGB when the first training image has colour channels. Pixels stay
 * uint8; the model sees them × 1/255 (recorded as `scale`).
 */
import sharp from 'sharp';
import { InvalidInputError } from '../../contracts/errors.js';
import { extensionOf, mapLimit, type DataFile, type DataFiles } from './files.js';
import type { Dataset, Preprocessing, SourceData } from './dataset.js';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.webp'];

/** Options of the image-folder reader. */
export interface ImageFolderOptions {
  /** [height, width] to resize to; default: the reference's, else the first training image's. */
  size?: [number, number];
  color?: 'auto' | 'grayscale' | 'rgb';
  /** Skip unreadable images (counted in `preprocessing.skipped`) instead of refusing the source. */
  skipUnreadable?: boolean;
  /** The run's preprocessing: new data is read the same way. */
  reference?: Preprocessing;
}

/** Images decoded at once. */
const DECODE_CONCURRENCY = 8;

const isImage = (name: string) => IMAGE_EXTENSIONS.includes(extensionOf(name));

/** Whether a listing looks like an image folder (some image file inside a subfolder). */
export function looksLikeImageFolder(files: DataFile[]): boolean {
  return files.some((f) => isImage(f.name) && f.name.includes('/'));
}

interface Split {
  /** Files by class name. */
  byClass: Map<string, string[]>;
  /** The folder of each class (for messages). */
  prefix: string;
}

function firstLine(e: unknown): string {
  return String((e as Error)?.message ?? e).split('\n')[0]!;
}

/** Groups image files by class folder below `prefix` and refuses class folders without images. */
function splitOf(files: DataFile[], emptyDirs: string[], prefix: string, src: DataFiles): Split {
  const byClass = new Map<string, string[]>();
  const noImages = new Set<string>();
  for (const f of files) {
    if (!f.name.startsWith(prefix)) continue;
    const rest = f.name.slice(prefix.length);
    const slash = rest.indexOf('/');
    if (slash < 0) {
      if (isImage(rest)) throw new InvalidInputError(`${src.describe(f.name)}: an image outside any class folder (an image folder holds ${prefix || 'root/'}<class>/<image>)`);
      continue;
    }
    const cls = rest.slice(0, slash);
    if (!isImage(rest)) {
      noImages.add(cls);
      continue;
    }
    const list = byClass.get(cls) ?? [];
    list.push(f.name);
    byClass.set(cls, list);
  }
  for (const d of emptyDirs) {
    if (!d.startsWith(prefix)) continue;
    const rest = d.slice(prefix.length).replace(/\/$/, '');
    if (rest && !rest.includes('/')) noImages.add(rest);
  }
  for (const cls of noImages) {
    if (!byClass.has(cls)) throw new InvalidInputError(`${src.describe(`${prefix}${cls}`)}: class folder holds no images (${IMAGE_EXTENSIONS.join(', ')})`);
  }
  return { byClass, prefix };
}

/** One image file of a split and its class index. */
export interface ImageFile {
  name: string;
  label: number;
}

/** What reading an image folder decodes, found from its listing and first image: classes, files per split, size and colour. */
export interface ImageFolderPlan {
  classNames: string[];
  train: ImageFile[];
  /** The `test/` split's files, or null when the folder has none. */
  test: ImageFile[] | null;
  size: [number, number];
  color: 'grayscale' | 'rgb';
  skipUnreadable: boolean;
}

/** Plans the reading of an image folder (see the module comment); decodes only the first image, when size or colour is not given. */
export async function planImageFolder(src: DataFiles, opts: ImageFolderOptions = {}): Promise<ImageFolderPlan> {
  const { files, emptyDirs } = await src.list();
  const tops = new Set(files.map((f) => f.name.split('/')[0]!));
  const splitLayout = tops.has('train') && files.some((f) => f.name.startsWith('train/') && f.name.split('/').length >= 3 && isImage(f.name));
  const train = splitOf(files, emptyDirs, splitLayout ? 'train/' : '', src);
  const test = splitLayout && tops.has('test') ? splitOf(files, emptyDirs, 'test/', src) : null;
  if (train.byClass.size === 0) throw new InvalidInputError(`${src.location}: no images in class folders (<class>/<image>.png|jpg|jpeg|webp)`);
  const classNames = [...train.byClass.keys()].sort();
  if (test) {
    const unknown = [...test.byClass.keys()].filter((c) => !train.byClass.has(c));
    if (unknown.length) throw new InvalidInputError(`${src.describe('test')}: class folders ${unknown.join(', ')} have no training images under ${src.describe('train')}`);
  }
  const ref = opts.reference?.kind === 'images' ? opts.reference : null;
  const trainFiles = classNames.flatMap((c, label) =>
    train.byClass
      .get(c)!
      .sort()
      .map((name) => ({ name, label })),
  );
  const testFiles = test ? classNames.flatMap((c, label) => (test.byClass.get(c) ?? []).sort().map((name) => ({ name, label }))) : null;
  const skipUnreadable = opts.skipUnreadable ?? false;
  let size = opts.size ?? ref?.size ?? null;
  let color = opts.color && opts.color !== 'auto' ? opts.color : (ref?.color ?? null);
  if (!size || !color) {
    const first = await firstReadable(src, trainFiles, skipUnreadable);
    size ??= [first.height, first.width];
    color ??= first.rgb ? 'rgb' : 'grayscale';
  }
  return { classNames, train: trainFiles, test: testFiles, size, color, skipUnreadable };
}

/** Bytes one decoded image of `plan` takes (uint8 pixels). */
export const imageBytes = (plan: ImageFolderPlan): number => plan.size[0] * plan.size[1] * (plan.color === 'rgb' ? 3 : 1);

/** Decodes `files` (of `plan`, in this order) into a data set; unreadable ones are refused or, with `skipUnreadable`, skipped and counted. */
export async function decodeImageFiles(src: DataFiles, plan: ImageFolderPlan, files: ImageFile[]): Promise<Dataset & { preprocessing: { kind: 'images' } }> {
  const d = await decodeAll(src, files, plan.classNames, { size: plan.size, channels: plan.color === 'rgb' ? 3 : 1, skip: plan.skipUnreadable });
  const { resized, skipped, ...set } = d;
  return { ...set, preprocessing: { kind: 'images', size: plan.size, color: plan.color, scale: 1 / 255, resized, skipped } };
}

/** Reads an image folder (see the module comment). */
export async function readImageFolder(src: DataFiles, opts: ImageFolderOptions = {}): Promise<SourceData> {
  const plan = await planImageFolder(src, opts);
  const trainSet = await decodeImageFiles(src, plan, plan.train);
  const testSet = plan.test ? await decodeImageFiles(src, plan, plan.test) : null;
  if (trainSet.count === 0) throw new InvalidInputError(`${src.location}: none of its ${plan.train.length} training images could be read`);
  return { train: trainSet, test: testSet, format: 'images' };
}

async function firstReadable(src: DataFiles, files: { name: string }[], skip: boolean): Promise<{ height: number; width: number; rgb: boolean }> {
  for (const f of files) {
    try {
      const m = await sharp(await src.read(f.name)).metadata();
      if (!m.width || !m.height) throw new Error('no size in its header');
      return { height: m.height, width: m.width, rgb: (m.channels ?? 1) >= 3 && m.space !== 'b-w' };
    } catch (e) {
      if (e instanceof InvalidInputError || !skip) throw unreadable(src, f.name, e);
    }
  }
  throw new InvalidInputError(`${src.location}: no readable image`);
}

const unreadable = (src: DataFiles, name: string, e: unknown) =>
  e instanceof InvalidInputError ? e : new InvalidInputError(`${src.describe(name)}: unreadable or truncated image (${firstLine(e)}); set data.skipUnreadable: true to skip such files`);

/** Decodes one image to `size` and `channels` uint8 pixels [h, w, c]; returns whether it was resized. */
export async function decodeImage(bytes: Uint8Array, size: [number, number], channels: number): Promise<{ pixels: Uint8Array; resized: boolean }> {
  const img = sharp(bytes, { failOn: 'warning' });
  const m = await img.metadata();
  const resized = m.height !== size[0] || m.width !== size[1];
  img.removeAlpha();
  if (channels === 1) img.grayscale();
  else img.toColourspace('srgb');
  if (resized) img.resize(size[1], size[0], { fit: 'fill', kernel: 'linear' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.width !== size[1] || info.height !== size[0]) throw new Error(`decoded to ${info.width}×${info.height}`);
  if (info.channels === channels) return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), resized };
  // Fewer channels than asked (a grey image read as RGB): repeat the first.
  const px = size[0] * size[1];
  const out = new Uint8Array(px * channels);
  for (let p = 0; p < px; p++) for (let c = 0; c < channels; c++) out[p * channels + c] = data[p * info.channels + Math.min(c, info.channels - 1)]!;
  return { pixels: out, resized };
}

async function decodeAll(
  src: DataFiles,
  files: { name: string; label: number }[],
  classNames: string[],
  d: { size: [number, number]; channels: number; skip: boolean },
): Promise<Omit<Dataset, 'preprocessing'> & { resized: number; skipped: number }> {
  const dim = d.size[0] * d.size[1] * d.channels;
  const x = new Uint8Array(files.length * dim);
  const ok = new Uint8Array(files.length);
  let resized = 0;
  await mapLimit(files, DECODE_CONCURRENCY, async (f, i) => {
    const bytes = await src.read(f.name);
    try {
      const img = await decodeImage(bytes, d.size, d.channels);
      x.set(img.pixels, i * dim);
      ok[i] = 1;
      if (img.resized) resized++;
    } catch (e) {
      if (!d.skip) throw unreadable(src, f.name, e);
    }
  });
  const keep = files.map((_, i) => i).filter((i) => ok[i]);
  const labels = Int32Array.from(keep, (i) => files[i]!.label);
  if (keep.length !== files.length) for (let r = 0; r < keep.length; r++) x.copyWithin(r * dim, keep[r]! * dim, (keep[r]! + 1) * dim);
  return {
    shape: [d.size[0], d.size[1], d.channels],
    count: keep.length,
    x: keep.length === files.length ? x : x.slice(0, keep.length * dim),
    labels,
    classNames,
    resized,
    skipped: files.length - keep.length,
  };
}
