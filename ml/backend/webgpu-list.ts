/**
 * Child process of `listGpuAdaptersQuietly` (webgpu.ts): lists Dawn's adapters
 * and prints them as one marked JSON line, so that what Dawn and the Vulkan
 * loader print while enumerating stays in this process's captured output.
 */
import { ADAPTERS_MARK, listGpuAdapters } from './webgpu.js';

listGpuAdapters().then(
  (adapters) => process.stdout.write(`\n${ADAPTERS_MARK}${JSON.stringify({ adapters })}\n`),
  (e: Error) => process.stdout.write(`\n${ADAPTERS_MARK}${JSON.stringify({ error: e.message.split('\n')[0] })}\n`),
);
