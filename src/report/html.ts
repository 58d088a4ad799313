import { htmlEscape } from 'escape-goat';
import { formatMoney } from '../domain/money.js';
import type { Report } from '../domain/report.js';
import { percent, type ChartTable, type DrawnChart } from './charts.js';

/**
 * The practice report as one self-contained web page: no script, no request
 * to anything (a Content-Security-Policy says so to the browser), the charts
 * inline as SVG, each an image with a text alternative (role="img", a label,
 * <title> and <desc>) followed by its figures as a table. It reads from a
 * 360-pixel phone to a desktop: wide tables scroll inside their own box, never
 * the page. Every text put into the page is escaped.
 */

export interface ReportScope {
  clinic: string | null;
  template: string | null;
}

const POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

const STYLE = `
:root { color-scheme: light; --ink: #1d2733; --muted: #566372; --rule: #dce2e8; --accent: #2b6f6b; --tint: #f2f5f7; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 "Noto Sans", system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header, main, footer { max-width: 60rem; margin: 0 auto; padding: 0 1rem; }
header { padding-top: 1.5rem; border-bottom: 1px solid var(--rule); }
h1 { font-size: 1.6rem; line-height: 1.25; margin: 0 0 .25rem; color: var(--accent); }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; }
p { margin: .25rem 0 1rem; }
.lede { color: var(--muted); }
figure { margin: 0 0 1rem; }
figure svg { display: block; width: 100%; max-width: 42rem; height: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-top: .25rem; }
.table { overflow-x: auto; max-width: 100%; border: 1px solid var(--rule); border-radius: 4px; }
.table:focus { outline: 2px solid var(--accent); outline-offset: 2px; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
caption { text-align: left; font-weight: 600; padding: .5rem .75rem; background: var(--tint); }
th, td { padding: .35rem .75rem; text-align: left; border-top: 1px solid var(--rule); white-space: nowrap; }
thead th { font-weight: 600; color: var(--muted); }
.num { text-align: right; font-variant-numeric: tabular-nums; }
footer { color: var(--muted); font-size: .85rem; padding-top: 1rem; padding-bottom: 2rem; margin-top: 2rem; border-top: 1px solid var(--rule); }
@media (max-width: 30rem) { body { font-size: 15px; } header, main, footer { padding-left: .75rem; padding-right: .75rem; } th, td { padding: .3rem .5rem; } }
@media print { .table { overflow: visible; border: 0; } section { break-inside: avoid; } }
`;

/** The page, from the report and its drawn charts. */
export function reportHtml(report: Report, charts: readonly DrawnChart[], scope: ReportScope): string {
  const e = (text: string) => htmlEscape(text);
  const title = `Practice report ${report.from} to ${report.to}`;
  const sections = charts.map((chart) => {
    const heading = `${chart.id}-title`;
    return `<section aria-labelledby="${e(heading)}">
<h2 id="${e(heading)}">${e(chart.title)}</h2>
<figure>
${accessibleSvg(chart)}
<figcaption>${e(chart.description)}</figcaption>
</figure>
${table(`${chart.title}: the figures`, chart.table)}
</section>`;
  });
  const money = report.currencies.length
    ? `<section aria-labelledby="money-title">
<h2 id="money-title">Revenue by template</h2>
${table('Revenue by template and currency', {
  headers: ['Template', 'Currency', 'Collected', 'Refunded', 'Net', 'Outstanding', 'Forecast'],
  rows: report.templates.flatMap((t) => Object.entries(t.money).map(([c, m]) => [t.template_id, c, formatMoney(m.collected_minor, c), formatMoney(m.refunded_minor, c), formatMoney(m.net_minor, c), formatMoney(m.outstanding_minor, c), formatMoney(m.forecast_minor, c)])),
  numeric: [2, 3, 4, 5, 6],
})}
</section>`
    : '';
  const visits = `<section aria-labelledby="visits-title">
<h2 id="visits-title">Visits by template</h2>
${table('Visits recommended in the period, by template', {
  headers: ['Template', 'Due', 'On time', 'Late', 'Skipped', 'Pending', 'Outcomes'],
  rows: report.templates.map((t) => [t.template_id, String(t.visits.due), String(t.visits.on_time), String(t.visits.late), String(t.visits.skipped), String(t.visits.pending), String(t.visits.outcomes)]),
  numeric: [1, 2, 3, 4, 5, 6],
})}
</section>`;
  const narrowed = [scope.clinic === null ? null : `clinic ${scope.clinic}`, scope.template === null ? null : `template ${scope.template}`].filter((x): x is string => x !== null);
  const totals = report.totals;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${e(POLICY)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="txplan">
<title>${e(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${e(title)}</h1>
<p class="lede">${e(`As of ${report.today}${narrowed.length ? `, ${narrowed.join(', ')}` : ', every clinic and template'}. ${totals.plans.started} plans started, ${totals.plans.completed} completed (completion rate ${percent(totals.plans.completion_rate)}); ${totals.payments.charges} charges, ${totals.payments.declined} declined, ${totals.payments.recovered} recovered.`)}</p>
</header>
<main>
${sections.join('\n')}
${visits}
${money}
</main>
<footer>
<p>${e('A plan counts in the period it started in; a visit in the one it was recommended for; a charge in the one it was due in; a refund in the one it was made in. Money is shown per currency and never added across currencies.')}</p>
</footer>
</body>
</html>
`;
}

/**
 * The chart's SVG as an image with a text alternative: role="img" and
 * aria-label on the root element, a <title> and a <desc> as its first
 * children. vega escapes the text it draws; the XML declaration, if any, is
 * dropped (the SVG lives inside HTML).
 */
export function accessibleSvg(chart: DrawnChart): string {
  const e = (text: string) => htmlEscape(text);
  const svg = chart.svg.replace(/^<\?xml[^>]*>\s*/, '');
  const open = /^<svg\b([^>]*)>/.exec(svg);
  if (!open) throw new Error('vega drew something other than an SVG document');
  // The only URL left is the SVG namespace: vega's xlink namespace serves images, which the charts have none of.
  const attributes = open[1]!.replace(/\s(?:role|aria-[a-z]+|focusable|xmlns:xlink)="[^"]*"/g, '');
  const label = `${chart.id}-label`;
  const desc = `${chart.id}-desc`;
  return `<svg${attributes} role="img" aria-label="${e(chart.title)}" aria-describedby="${e(desc)}" focusable="false"><title id="${e(label)}">${e(chart.title)}</title><desc id="${e(desc)}">${e(chart.description)}</desc>${svg.slice(open[0].length)}`;
}

function table(caption: string, t: ChartTable): string {
  const e = (text: string) => htmlEscape(text);
  const cls = (i: number) => (t.numeric.includes(i) ? ' class="num"' : '');
  const head = t.headers.map((h, i) => `<th scope="col"${cls(i)}>${e(h)}</th>`).join('');
  const body = t.rows.length
    ? t.rows.map((row) => `<tr>${row.map((cell, i) => (i === 0 ? `<th scope="row">${e(cell)}</th>` : `<td${cls(i)}>${e(cell)}</td>`)).join('')}</tr>`).join('\n')
    : `<tr><td colspan="${t.headers.length}">${e('Nothing in this period.')}</td></tr>`;
  // A wide table scrolls inside its own box, which keyboard users can reach and screen readers name.
  return `<div class="table" role="region" aria-label="${e(caption)}" tabindex="0">
<table>
<caption>${e(caption)}</caption>
<thead><tr>${head}</tr></thead>
<tbody>
${body}
</tbody>
</table>
</div>`;
}
