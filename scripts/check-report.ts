/**
 * Dev check (not part of `npm test`): renders a report HTML file in headless
 * Chromium and fails when Chromium is missing or the screenshot is blank-ish.
 *
 *   node --import tsx scripts/check-report.ts report.html [--png out.png] [--height 3000]
 *
 * Exit codes: 0 the page rendered with content, 1 blank-ish screenshot, 2 bad
 * arguments or Chromium missing (Debian: `apt-get install -y chromium`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { PNG } from 'pngjs';
import { onPath } from './on-path.js';

const { positionals, values } = parseArgs({ allowPositionals: true, options: { png: { type: 'string' }, height: { type: 'string', default: '3000' } } });
const html = positionals[0];
if (!html || !existsSync(html)) {
  process.stderr.write('usage: check-report.ts <report.html> [--png out.png] [--height 3000]\n');
  process.exit(2);
}
const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find((b) => onPath(b));
if (!chromium) {
  process.stderr.write('chromium not found on PATH (Debian: apt-get install -y chromium)\n');
  process.exit(2);
}
const png = resolve(values.png ?? join(tmpdir(), 'lightpath-report.png'));
execFileSync(chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars', `--screenshot=${png}`, `--window-size=1200,${values.height}`, pathToFileURL(resolve(html)).href], {
  stdio: 'ignore',
});

const image = PNG.sync.read(readFileSync(png));
const counts = new Map<number, number>();
for (let i = 0; i < image.data.length; i += 4) {
  const key = image.data.readUInt32BE(i);
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
const pixels = image.width * image.height;
const dominant = Math.max(...counts.values()) / pixels;
const summary = `${png}: ${image.width}×${image.height}, ${counts.size} colours, the commonest covers ${(dominant * 100).toFixed(1)} %`;
if (dominant > 0.985 || counts.size < 16) {
  process.stderr.write(`blank-ish screenshot: ${summary}\n`);
  process.exit(1);
}
process.stdout.write(`${summary}\n`);
