/** Writing the run manifest (with the versions of what ran). */
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import { openStore } from '../storage/open.js';
import { writeManifest, type RunManifest } from '../storage/manifest.js';

const pkg = createRequire(import.meta.url)('../package.json') as { version: string };

/** The manifest fields a workflow supplies; timestamps and versions are added here. */
export type ManifestDraft = Omit<RunManifest, 'updatedAt' | 'versions'>;

/** Writes (replaces) the run manifest in the store; returns its URI. */
export async function writeRunManifest(input: { store: string; manifest: ManifestDraft }): Promise<string> {
  const versions = { lightpath: pkg.version, node: process.version, tfjs: tf.version.tfjs };
  return writeManifest(openStore(input.store), { ...input.manifest, updatedAt: new Date().toISOString(), versions });
}
