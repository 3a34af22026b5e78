/** Writing the run manifest (with the versions of what ran). */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { openStore } from '../storage/open.js';
import { writeManifest } from '../storage/manifest.js';
import type { ManifestDraft } from '../contracts/types.js';

const pkg = createRequire(import.meta.url)('lightpath/package.json') as { version: string };

/** Writes (replaces) the run manifest in the store; returns its URI. */
export async function writeRunManifest(input: { store: string; manifest: ManifestDraft }): Promise<string> {
  const versions = { lightpath: pkg.version, node: process.version, tfjs: tf.version.tfjs };
  return writeManifest(openStore(input.store), { ...input.manifest, updatedAt: new Date().toISOString(), versions });
}
