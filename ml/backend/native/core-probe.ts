/**
 * Child process of `prepareBlasCore` (core.ts): loads the addon given as the
 * first argument under the caller's `OPENBLAS_CORETYPE` and prints one JSON line
 * with the core OpenBLAS loaded, its build and the self-test's result.
 */
import { createRequire } from 'node:module';
import type { NativeBlas } from './addon.js';
import { selfTest } from './core.js';

const blas = createRequire(import.meta.url)(process.argv[2]!) as NativeBlas;
const { config, corename } = blas.info();
process.stdout.write(`${JSON.stringify({ corename, config, ...selfTest(blas) })}\n`);
