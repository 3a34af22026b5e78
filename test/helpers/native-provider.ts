/**
 * Setup shared by the tests of the native provider's fused kernels: build the
 * addon, skip (saying why) only where it cannot be built for want of OpenBLAS,
 * a C compiler or Node's headers (or LIGHTPATH_NATIVE=0), and otherwise require
 * the wasm backend with the provider active.
 */
import assert from 'node:assert/strict';
import { selectBackend } from '../../ml/backend/select.js';
import { buildNativeBlas } from '../../scripts/build-native.js';

const build = buildNativeBlas();

/** The reason to skip, or false where the addon must build and load. */
export const nativeSkip: string | false = 'skipped' in build && /LIGHTPATH_NATIVE=0|OpenBLAS development files not found|no C compiler|Node's headers/.test(build.skipped) ? build.skipped : false;

/** Fails unless the addon built and the wasm backend runs with the native provider (call it in `before`, unless skipping). */
export async function requireNativeProvider(): Promise<void> {
  assert.ok('built' in build, `the addon did not build: ${'skipped' in build ? build.skipped : ''}`);
  const info = await selectBackend('wasm');
  assert.equal(info.name, 'wasm+openblas', `native provider not active: ${info.native?.detail}`);
}
