/** Renders a Vega-Lite spec to an SVG file (benchmarks' plots; headless, no browser). */
import { writeFileSync } from 'node:fs';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Compiles `spec` and writes it as SVG to `path`. */
export async function writeSvg(spec: TopLevelSpec, path: string): Promise<void> {
  const svg = await new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG();
  writeFileSync(path, svg);
}
