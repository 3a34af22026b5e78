/**
 * `lightpath/ml`: lightpath's methods for TF.js users who do not use Temporal.
 *
 * - Sinusoidal initialization (METHODS.md §1): the `Sinusoidal` and
 *   `SinusoidalFullRank` initializers (registered, so models serialize), the raw
 *   kernels, and LSUV;
 * - OUI (METHODS.md §2): the per-batch indicator, its epoch meter and the
 *   `OuiPruner` that stops a run whose weight decay over- or underfits.
 *
 *     import { Sinusoidal, OuiPruner } from 'lightpath/ml';
 *     tf.layers.dense({ units: 256, activation: 'relu', kernelInitializer: new Sinusoidal() });
 */
export { Sinusoidal, SinusoidalFullRank, Lsuv, INITIALIZERS, makeInitializer, type InitializerName, type SinusoidalConfig, type LsuvConfig } from './init/registry.js';
export { sinusoidalKernel, sinusoidalMatrix, type SinusoidalMode } from './init/sinusoidal.js';
export { sinusoidalFullRankKernel, sinusoidalFullRankMatrix } from './init/sinusoidal-full-rank.js';
export { applyLsuv, type LsuvOptions } from './init/lsuv.js';
export { ouiBatch, batchOuiLayer, drawPairs, OuiMeter, DEFAULT_OUI, type OuiOptions, type OuiState } from './oui.js';
export { OuiPruner, ouiBandVerdict, type OuiPrunerOptions, type PruneReason, type PruneVerdict } from './oui-pruner.js';
export { Rng } from './rng.js';
