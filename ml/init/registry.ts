/**
 * TF.js initializer classes for lightpath's initializers, registered by name so
 * `kernelInitializer: 'sinusoidal'` (or 'sinusoidalFullRank', 'lsuv') works in
 * `tf.layers` and models serialize. The random baselines (Glorot, He, orthogonal)
 * are TF.js's own, registered by TF.js under the same names.
 */
import { INITIALIZER_NAMES } from '../../contracts/config.js';
import * as tf from '@tensorflow/tfjs';
import { sinusoidalKernel, type SinusoidalMode } from './sinusoidal.js';
import { sinusoidalFullRankKernel } from './sinusoidal-full-rank.js';

/**
 * tfjs-layers does not export its Initializer base class; take it from a built-in
 * initializer so `instanceof Initializer` checks inside tf.layers accept ours.
 */
type InitializerBase = abstract new () => tf.serialization.Serializable & {
  apply(shape: number[], dtype?: tf.DataType): tf.Tensor;
};
const Initializer = Object.getPrototypeOf(tf.initializers.zeros().constructor) as InitializerBase;

/** Configuration of the sinusoidal initializers. */
export interface SinusoidalConfig {
  mode?: SinusoidalMode;
}

/** Sinusoidal initializer (METHODS.md §1), paper-exact form. */
export class Sinusoidal extends Initializer {
  static className = 'Sinusoidal';
  readonly mode: SinusoidalMode;

  constructor(config: SinusoidalConfig = {}) {
    super();
    this.mode = config.mode ?? 'glorot';
  }

  apply(shape: number[]): tf.Tensor {
    return tf.tensor(sinusoidalKernel(shape, this.mode), shape, 'float32');
  }

  getConfig(): tf.serialization.ConfigDict {
    return { mode: this.mode };
  }
}

/** Sinusoidal initializer, full-rank variant (see sinusoidal-full-rank.ts). */
export class SinusoidalFullRank extends Sinusoidal {
  static className = 'SinusoidalFullRank';

  apply(shape: number[]): tf.Tensor {
    return tf.tensor(sinusoidalFullRankKernel(shape, this.mode), shape, 'float32');
  }
}

/** Configuration of the LSUV initializer's orthogonal start. */
export interface LsuvConfig {
  seed?: number;
}

/**
 * LSUV's data-free part: orthogonal kernels (gain 1). The data-dependent rescaling
 * runs afterwards with `applyLsuv(model, batch)` (ml/init/lsuv.ts).
 */
export class Lsuv extends Initializer {
  static className = 'Lsuv';
  readonly seed: number | undefined;

  constructor(config: LsuvConfig = {}) {
    super();
    this.seed = config.seed;
  }

  apply(shape: number[]): tf.Tensor {
    const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const flat = tf.initializers.orthogonal({ gain: 1, seed: this.seed }).apply([rows, shape.at(-1)!]);
    return tf.tidy(() => flat.reshape(shape));
  }

  getConfig(): tf.serialization.ConfigDict {
    return this.seed === undefined ? {} : { seed: this.seed };
  }
}

/** Lower-case aliases so string identifiers (`kernelInitializer: 'sinusoidal'`) resolve in tf.layers. */
class SinusoidalAlias extends Sinusoidal {
  static className = 'sinusoidal';
}
class SinusoidalFullRankAlias extends SinusoidalFullRank {
  static className = 'sinusoidalFullRank';
}
class LsuvAlias extends Lsuv {
  static className = 'lsuv';
}

for (const cls of [Sinusoidal, SinusoidalFullRank, Lsuv, SinusoidalAlias, SinusoidalFullRankAlias, LsuvAlias]) {
  tf.serialization.registerClass(cls as never);
}

/** Names accepted in configs for kernel initialization. */
export const INITIALIZERS = INITIALIZER_NAMES;
export type InitializerName = (typeof INITIALIZERS)[number];

/**
 * An initializer instance by config name; random ones are seeded for reproducibility.
 * `lsuv` needs `applyLsuv` on a data batch after the model is built.
 */
export function makeInitializer(name: InitializerName, seed: number): tf.serialization.Serializable {
  switch (name) {
    case 'sinusoidal':
      return new Sinusoidal();
    case 'sinusoidalFullRank':
      return new SinusoidalFullRank();
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed });
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
    case 'orthogonal':
      return tf.initializers.orthogonal({ gain: 1, seed });
    case 'lsuv':
      return new Lsuv({ seed });
  }
}
