/**
 * Seeded pseudo-random generator with a serializable state.
 *
 * sfc32 (Chris Doty-Humphrey's Small Fast Counting generator, 32-bit variant):
 * four 32-bit words of state, so a checkpoint can store it and a resumed run
 * draws exactly the numbers an uninterrupted run would have drawn.
 */
export type RngState = [number, number, number, number];

export class Rng {
  private s: Uint32Array;

  private constructor(state: RngState) {
    this.s = Uint32Array.from(state);
  }

  /** A generator seeded from an integer; the first 12 outputs are discarded to mix the seed. */
  static fromSeed(seed: number): Rng {
    const r = new Rng([0x9e3779b9, seed >>> 0, (seed / 0x100000000) >>> 0, 1]);
    for (let i = 0; i < 12; i++) r.nextUint32();
    return r;
  }

  /** A generator that continues from a state captured with `state()`. */
  static fromState(state: RngState): Rng {
    return new Rng(state);
  }

  /** The current state, to be stored in a checkpoint. */
  state(): RngState {
    return [this.s[0]!, this.s[1]!, this.s[2]!, this.s[3]!];
  }

  /** Next uniform 32-bit unsigned integer. */
  nextUint32(): number {
    const s = this.s;
    const t = (((s[0]! + s[1]!) >>> 0) + s[3]!) >>> 0;
    s[3] = (s[3]! + 1) >>> 0;
    s[0] = s[1]! ^ (s[1]! >>> 9);
    s[1] = (s[2]! + (s[2]! << 3)) >>> 0;
    s[2] = ((s[2]! << 21) | (s[2]! >>> 11)) >>> 0;
    s[2] = (s[2]! + t) >>> 0;
    return t;
  }

  /** Uniform float in [0, 1). */
  next(): number {
    return this.nextUint32() / 0x100000000;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }
}
