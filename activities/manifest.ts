/** Writing the run manifest (with the versions of what ran). */
import * as tf from '@tensorflow/tfjs';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { openStore } from '../storage/open.js';
import { writeManifest } from '../storage/manifest.js';
import type { ManifestDraft } from '../contracts/types.js';
import { addonPath, nativeBlas } from '../ml/backend/native/addon.js';

const pkg = createRequire(import.meta.url)('lightpath/package.json') as { version: string };

/**
 * The OpenBLAS build and core of this worker's native BLAS provider (core.ts: the core
 * and how it was chosen) and the library of its float32 products, where it is built
 * and on; nothing otherwise.
 */
function blasVersions(): Record<string, string> {
  if (process.env.LIGHTPATH_NATIVE === '0' || !existsSync(addonPath())) return {};
  const s = nativeBlas();
  if (!s.active) return {};
  const { config, products } = s.blas.info();
  return { openblas: config, blasCore: `${s.core.name} (${s.core.how}: ${s.core.detail})`, products };
}

/** Writes (replaces) the run manifest in the store; returns its URI. */
export async function writeRunManifest(input: { store: string; manifest: ManifestDraft }): Promise<string> {
  const versions = { lightpath: pkg.version, node: process.version, tfjs: tf.version.tfjs, ...blasVersions() };
  return writeManifest(openStore(input.store), { ...input.manifest, updatedAt: new Date().toISOString(), versions });
}
