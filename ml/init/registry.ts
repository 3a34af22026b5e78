/**
 * TF.js initializer classes for lightpath's initializers, registered by name so
 * `kernelInitializer: 'sinusoidal'` works in `tf.layers` and models serialize.
 */
import * as tf from '@tensorflow/tfjs';
import { sinusoidalKernel, type SinusoidalMode } from './sinusoidal.js';

/**
 * tfjs-layers does not export its Initializer base class; take it from a built-in
 * initializer so `instanceof Initializer` checks inside tf.layers accept ours.
 */
type InitializerBase = abstract new () => tf.serialization.Serializable & {
  apply(shape: number[], dtype?: tf.DataType): tf.Tensor;
};
const Initializer = Object.getPrototypeOf(tf.initializers.zeros().constructor) as InitializerBase;

/** Configuration of the sinusoidal initializer. */
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

/** Lower-case alias so the string identifier `'sinusoidal'` resolves in tf.layers. */
class SinusoidalAlias extends Sinusoidal {
  static className = 'sinusoidal';
}

tf.serialization.registerClass(Sinusoidal as never);
tf.serialization.registerClass(SinusoidalAlias as never);

/** Names accepted in configs for kernel initialization. */
export const INITIALIZERS = ['sinusoidal', 'glorotUniform', 'glorotNormal', 'heUniform', 'heNormal'] as const;
export type InitializerName = (typeof INITIALIZERS)[number];

/** An initializer instance by config name; random ones are seeded for reproducibility. */
export function makeInitializer(name: InitializerName, seed: number): tf.serialization.Serializable {
  switch (name) {
    case 'sinusoidal':
      return new Sinusoidal();
    case 'glorotUniform':
      return tf.initializers.glorotUniform({ seed });
    case 'glorotNormal':
      return tf.initializers.glorotNormal({ seed });
    case 'heUniform':
      return tf.initializers.heUniform({ seed });
    case 'heNormal':
      return tf.initializers.heNormal({ seed });
  }
}
