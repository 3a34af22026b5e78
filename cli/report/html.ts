/** HTML building blocks of the report: escaping, tables, links, the page (inline CSS, nothing external). */

/** Escapes text for HTML element content and quoted attribute values. */
export function esc(s: unknown): string {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A URI as a link when a browser can open it (http, https, file), else as code. */
export function uriHtml(uri: string): string {
  return /^(https?|file):\/\//i.test(uri) ? `<a href="${esc(uri)}"><code>${esc(uri)}</code></a>` : `<code>${esc(uri)}</code>`;
}

/** A table cell: raw HTML (already escaped) or text to escape; numbers right-aligned. */
export type Cell = { html: string } | string | number | null;

function cellHtml(c: Cell): string {
  if (c === null) return '<td class="na">—</td>';
  if (typeof c === 'number') return `<td class="num">${esc(c)}</td>`;
  if (typeof c === 'string') return `<td>${esc(c)}</td>`;
  return `<td>${c.html}</td>`;
}

/** A table with a header row; `rowClass` may mark rows (e.g. the winner). */
export function table(head: string[], rows: Cell[][], rowClass: (i: number) => string | null = () => null): string {
  const body = rows.map((r, i) => {
    const cls = rowClass(i);
    return `<tr${cls ? ` class="${esc(cls)}"` : ''}>${r.map(cellHtml).join('')}</tr>`;
  });
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table>`;
}

/** A definition list of label → value (values escaped unless given as HTML). */
export function facts(items: [string, Cell][]): string {
  const value = (c: Cell) => (c === null ? '—' : typeof c === 'object' ? c.html : esc(c));
  return `<dl class="facts">${items.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${value(v)}</dd>`).join('')}</dl>`;
}

/** `v` as a percentage with two decimals, or null. */
export function pct(v: number | null | undefined): string | null {
  return v === null || v === undefined ? null : `${(v * 100).toFixed(2)} %`;
}

/** `v` to `digits` significant digits, or null. */
export function num(v: number | null | undefined, digits = 4): string | null {
  return v === null || v === undefined ? null : Number(v.toPrecision(digits)).toString();
}

/** One section of the report: an id (anchor), a title and its HTML body. */
export interface Section {
  id: string;
  title: string;
  body: string;
}

const CSS = `
:root { color-scheme: light; --fg: #1d2329; --muted: #5b6670; --line: #dfe3e8; --accent: #2f6fb0; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: #fff; }
header { padding: 24px 32px 12px; border-bottom: 1px solid var(--line); }
header h1 { margin: 0 0 4px; font-size: 20px; }
header p { margin: 0; color: var(--muted); }
nav { padding: 8px 32px; border-bottom: 1px solid var(--line); background: #f7f9fb; position: sticky; top: 0; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; }
main { padding: 8px 32px 32px; max-width: 1200px; }
section { margin-top: 24px; }
h2 { font-size: 17px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; }
.charts svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 13px; }
th, td { border: 1px solid var(--line); padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f3f5f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: var(--muted); text-align: center; }
tr.winner td { background: #eef7ee; font-weight: 600; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 2px 16px; margin: 8px 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
pre { background: #f7f9fb; border: 1px solid var(--line); padding: 8px; overflow: auto; font-size: 12px; }
.status-completed { color: #2e7d32; } .status-failed { color: #c62828; } .status-running, .status-cancelled { color: #b26a00; }
.note { color: var(--muted); }
footer { padding: 16px 32px; color: var(--muted); border-top: 1px solid var(--line); font-size: 12px; }
`;

/** The whole page: header, section navigation, sections, footer; one file, no external resources. */
export function page(o: { title: string; subtitle: string; sections: Section[]; footer: string }): string {
  const nav = o.sections.map((s) => `<a href="#${esc(s.id)}">${esc(s.title)}</a>`).join('');
  const sections = o.sections.map((s) => `<section id="${esc(s.id)}" data-section="${esc(s.id)}"><h2>${esc(s.title)}</h2>${s.body}</section>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(o.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>${esc(o.title)}</h1><p>${o.subtitle}</p></header>
<nav>${nav}</nav>
<main>
${sections}
</main>
<footer>${esc(o.footer)}</footer>
</body>
</html>
`;
}
