/**
 * The unit tests on Node 24 (`npm test` runs them after the type check, before the
 * full suite on the machine's Node): Node 24 comes from scripts/node-binary.ts
 * (installed by provisioning into the cache; installed here if provisioning could
 * not). Fails when no Node 24 can be had: CI must run this, not skip it.
 * Dev-only (not part of the built package).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ensureNode, nodeVersion } from './node-binary.js';

const node = ensureNode(24);
const files = readdirSync('test/unit')
  .filter((f) => f.endsWith('.test.ts'))
  .sort()
  .map((f) => join('test/unit', f));
process.stderr.write(`[test-node24] ${files.length} unit test files on ${node} (${nodeVersion(node)})\n`);
const r = spawnSync(node, ['--import', 'tsx', '--test', ...files], { stdio: 'inherit' });
process.exit(r.status ?? 1);
