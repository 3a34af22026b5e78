/**
 * Fashion-MNIST from its four gzip IDX files (Debian's `dataset-fashion-mnist`
 * installs them in /usr/share/datasets/fashion-mnist; `scripts/provision.ts`
 * downloads and checksums them elsewhere).
 */
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir } from '../cache-dir.js';
import { parseIdx } from './idx.js';
import { InvalidInputError } from '../../contracts/errors.js';

/** A labelled image set: uint8 pixels [n, h, w] and uint8 labels [n]. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
  height: number;
  width: number;
}

export const FASHION_MNIST_FILES = {
  trainImages: 'train-images-idx3-ubyte.gz',
  trainLabels: 'train-labels-idx1-ubyte.gz',
  testImages: 't10k-images-idx3-ubyte.gz',
  testLabels: 't10k-labels-idx1-ubyte.gz',
} as const;

/** Folders searched for the files, in order: `$LIGHTPATH_FASHION_MNIST`, Debian's, the user cache. */
export function fashionMnistDirs(): string[] {
  return [process.env.LIGHTPATH_FASHION_MNIST, '/usr/share/datasets/fashion-mnist', join(cacheDir(), 'fashion-mnist')].filter((d): d is string => !!d);
}

/** The first folder holding all four files, or null. */
export function findFashionMnist(): string | null {
  return fashionMnistDirs().find((d) => Object.values(FASHION_MNIST_FILES).every((f) => existsSync(join(d, f)))) ?? null;
}

/** Reads an image file and its label file into an ImageSet, checking they agree. */
export async function readImageSet(imagesPath: string, labelsPath: string): Promise<ImageSet> {
  const images = parseIdx(await readFile(imagesPath), imagesPath);
  const labels = parseIdx(await readFile(labelsPath), labelsPath);
  if (images.shape.length !== 3) throw new InvalidInputError(`${imagesPath}: expected 3 dimensions [n, h, w], got ${images.shape.length}`);
  if (labels.shape.length !== 1) throw new InvalidInputError(`${labelsPath}: expected 1 dimension [n], got ${labels.shape.length}`);
  if (images.shape[0] !== labels.shape[0]) {
    throw new InvalidInputError(`${labelsPath}: ${labels.shape[0]} labels for ${images.shape[0]} images in ${imagesPath}`);
  }
  for (let i = 0; i < labels.data.length; i++) {
    if (labels.data[i]! > 9) throw new InvalidInputError(`${labelsPath}: label ${labels.data[i]} at index ${i} is outside 0..9`);
  }
  return { images: images.data, labels: labels.data, count: images.shape[0]!, height: images.shape[1]!, width: images.shape[2]! };
}

/** Loads the train and test splits from `dir` (default: the first folder that has them). */
export async function loadFashionMnist(dir: string | null = findFashionMnist()): Promise<{ train: ImageSet; test: ImageSet }> {
  if (!dir) {
    throw new InvalidInputError(`Fashion-MNIST not found in ${fashionMnistDirs().join(', ')}; run \`npm run provision\` or set LIGHTPATH_FASHION_MNIST`);
  }
  const f = FASHION_MNIST_FILES;
  const [train, test] = await Promise.all([readImageSet(join(dir, f.trainImages), join(dir, f.trainLabels)), readImageSet(join(dir, f.testImages), join(dir, f.testLabels))]);
  return { train, test };
}
