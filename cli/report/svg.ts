/** Vega-Lite specs rendered to SVG markup in Node (headless: no browser, no canvas). */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** Compiles `spec` and renders it to an SVG string (to inline in HTML or write to a file). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  return new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' }).toSVG();
}
