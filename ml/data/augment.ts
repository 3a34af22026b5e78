/**
 * Seeded image augmentation on the host batch buffer, before the forward pass (so OUI is
 * measured on the augmented training pass, METHODS.md §2): random crop with zero padding
 * — the image shifted by (dy, dx) drawn uniformly from [−pad, pad], what padding by `pad`
 * and cropping back to the original size at a random offset gives — and a horizontal flip
 * with probability ½ (the CIFAR recipe of the OUI and Sinusoidal papers). Draws come from
 * their own generator, whose state the training checkpoint keeps, so a resumed run
 * augments exactly as an uninterrupted one.
 */
import type { Rng } from '../rng.js';

/** Augmentation settings; `pad` 0 and `flip` false is none. */
export interface AugmentSpec {
  /** Padding in pixels of the random crop (0: no crop). */
  pad: number;
  /** Random horizontal flip. */
  flip: boolean;
}

/** Whether `spec` changes anything. */
export const augments = (spec: AugmentSpec | null | undefined): spec is AugmentSpec => !!spec && (spec.pad > 0 || spec.flip);

/**
 * Augments `n` images of `shape` [h, w, c] held row-major in `x` in place, drawing three
 * numbers per image from `rng` (dy, dx, flip) whatever the settings, so the draws per
 * batch do not depend on which parts are on. `scratch` holds one image.
 */
export function augmentBatch(x: Float32Array, n: number, shape: readonly number[], spec: AugmentSpec, rng: Rng, scratch: Float32Array = new Float32Array(shape[0]! * shape[1]! * shape[2]!)): void {
  const [h, w, c] = shape as [number, number, number];
  const dim = h * w * c;
  for (let s = 0; s < n; s++) {
    const dy = rng.int(2 * spec.pad + 1) - spec.pad;
    const dx = rng.int(2 * spec.pad + 1) - spec.pad;
    const flip = spec.flip && rng.next() < 0.5;
    if (!flip && dy === 0 && dx === 0) continue;
    const img = x.subarray(s * dim, (s + 1) * dim);
    scratch.set(img);
    for (let y = 0; y < h; y++) {
      const sy = y + dy;
      for (let xx = 0; xx < w; xx++) {
        const tx = flip ? w - 1 - xx : xx;
        const sx = xx + dx;
        const to = (y * w + tx) * c;
        if (sy < 0 || sy >= h || sx < 0 || sx >= w) img.fill(0, to, to + c);
        else img.set(scratch.subarray((sy * w + sx) * c, (sy * w + sx) * c + c), to);
      }
    }
  }
}
