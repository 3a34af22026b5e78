/** Writes a Vega-Lite spec as an SVG file (benchmarks' plots), rendered as the report renders its charts. */
import { writeFileSync } from 'node:fs';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg } from '../cli/report/svg.js';

/** Compiles `spec` and writes it as SVG to `path`. */
export async function writeSvg(spec: TopLevelSpec, path: string): Promise<void> {
  writeFileSync(path, await renderSvg(spec));
}
