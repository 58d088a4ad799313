import { describe, expect, it } from 'vitest';
import { parse, type DefaultTreeAdapterMap } from 'parse5';
import { computeReport, type ReportRows } from '../../src/domain/report.js';
import { drawCharts, funnelChart, recoveryChart, reportCharts, revenueChart } from '../../src/report/charts.js';
import { reportHtml } from '../../src/report/html.js';

/**
 * The report's chart specifications carry the report's own figures: a small
 * history in two currencies (glow in USD at downtown, acne in NOK at oslo),
 * Q1 2026 seen on 2026-02-15.
 */
const ROWS: ReportRows = {
  declined_starts: [],
  plans: [
    { template_id: 'glow', clinic_id: 'downtown', start_date: '2026-01-10', status: 'active', cancel_reason: null, plans: 3 },
    { template_id: 'glow', clinic_id: 'downtown', start_date: '2026-01-12', status: 'completed', cancel_reason: null, plans: 2 },
    { template_id: 'acne', clinic_id: 'oslo', start_date: '2026-02-01', status: 'cancelled', cancel_reason: 'Price', plans: 1 },
  ],
  visits: [],
  charges: [
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', due_date: '2026-01-10', status: 'succeeded', retried: 0, charges: 3, amount_minor: 50700 },
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', due_date: '2026-02-10', status: 'succeeded', retried: 1, charges: 1, amount_minor: 16900 },
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', due_date: '2026-02-10', status: 'failed', retried: 1, charges: 1, amount_minor: 16900 },
    { template_id: 'acne', clinic_id: 'oslo', currency: 'NOK', due_date: '2026-02-01', status: 'succeeded', retried: 0, charges: 1, amount_minor: 150000 },
  ],
  refunds: [],
  forecast: [
    { template_id: 'glow', clinic_id: 'downtown', currency: 'USD', month: '2026-03', amount_minor: 84500 },
    { template_id: 'acne', clinic_id: 'oslo', currency: 'NOK', month: '2026-03', amount_minor: 150000 },
  ],
};
const report = computeReport(ROWS, { from: '2026-01-01', to: '2026-03-31' }, '2026-02-15');

type Datum = Record<string, unknown>;
const values = (spec: { data?: unknown }) => ((spec.data as Array<{ values: Datum[] }>)[0]!.values);

describe('report chart specifications', () => {
  it('revenue by month: one chart per currency, each month collected and forecast from that currency only', () => {
    expect(reportCharts(report).map((c) => c.id)).toEqual(['revenue-nok', 'revenue-usd', 'funnel', 'recovery']);
    const usd = values(revenueChart(report, 'USD').spec);
    expect(usd.map((v) => [v.group, v.series, v.amount_minor, v.value])).toEqual([
      ['2026-01', 'Collected', 50700, 507],
      ['2026-01', 'Forecast', 0, 0],
      ['2026-02', 'Collected', 16900, 169],
      ['2026-02', 'Forecast', 0, 0],
      ['2026-03', 'Collected', 0, 0],
      ['2026-03', 'Forecast', 84500, 845],
    ]);
    for (const v of usd) expect(v.amount_minor).toBe(report.months.find((m) => m.month === v.group)!.money.USD![v.series === 'Collected' ? 'collected_minor' : 'forecast_minor']);
    const nok = values(revenueChart(report, 'NOK').spec);
    expect(nok.map((v) => v.amount_minor)).toEqual([0, 0, 150000, 0, 0, 150000]);
    expect(revenueChart(report, 'NOK').table.rows[1]).toEqual(['2026-02', 'NOK\u00a01,500.00', 'NOK\u00a00.00', 'NOK\u00a00.00']);
  });

  it('completion funnel: started, active, completed and cancelled per template', () => {
    const data = values(funnelChart(report).spec);
    for (const t of report.templates) {
      const of = (stage: string) => data.find((v) => v.group === t.template_id && v.series === stage)!.value;
      expect([of('Started'), of('Active'), of('Completed'), of('Cancelled')]).toEqual([t.plans.started, t.plans.active, t.plans.completed, t.plans.cancelled]);
    }
    expect(funnelChart(report).table.rows).toEqual([
      ['acne', '1', '0', '0', '1', '0.0%'],
      ['glow', '5', '3', '2', '0', '100.0%'],
    ]);
  });

  it('payment recovery: charges, declined and recovered per template', () => {
    const data = values(recoveryChart(report).spec);
    expect(data.filter((v) => v.group === 'glow').map((v) => [v.series, v.value])).toEqual([['Charges', 5], ['Declined', 2], ['Recovered', 1]]);
    expect(data.filter((v) => v.group === 'acne').map((v) => [v.series, v.value])).toEqual([['Charges', 1], ['Declined', 0], ['Recovered', 0]]);
    expect(recoveryChart(report).description).toContain('6 charges, 2 declined at the first attempt (33.3%), 1 of them recovered by a retry (50.0%)');
  });

  it('draws the same SVG for the same report, and the page gives each chart a text alternative', async () => {
    const [first, second] = [await drawCharts(reportCharts(report)), await drawCharts(reportCharts(report))];
    expect(first.map((c) => c.svg)).toEqual(second.map((c) => c.svg));
    expect(first[1]!.svg).toMatch(/^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    const html = reportHtml(report, first, { clinic: null, template: 'glow<script>' });
    expect(html).not.toContain('glow<script>');
    expect(html).toContain('glow&lt;script&gt;');
    const svgs: DefaultTreeAdapterMap['element'][] = [];
    const walk = (node: DefaultTreeAdapterMap['parentNode']) => {
      for (const child of node.childNodes) {
        if ('tagName' in child) {
          if (child.tagName === 'svg') svgs.push(child);
          walk(child);
        }
      }
    };
    walk(parse(html));
    expect(svgs.map((svg) => svg.attrs.find((a) => a.name === 'aria-label')?.value)).toEqual(['Revenue by month, NOK', 'Revenue by month, USD', 'Completion funnel by template', 'Payment recovery by template']);
  });

  it('an empty period still gives a page: the funnel and recovery charts say nothing started, the tables say so', async () => {
    const empty = computeReport({ plans: [], visits: [], charges: [], refunds: [], forecast: [], declined_starts: [] }, { from: '2026-01-01', to: '2026-01-31' }, '2026-02-15');
    const charts = await drawCharts(reportCharts(empty));
    expect(charts.map((c) => [c.id, c.description])).toEqual([
      ['funnel', 'No plan started from 2026-01-01 to 2026-01-31.'],
      ['recovery', 'No charge was due from 2026-01-01 to 2026-01-31.'],
    ]);
    for (const chart of charts) expect(chart.svg).toMatch(/^<svg/);
    expect(reportHtml(empty, charts, { clinic: 'downtown', template: null })).toContain('Nothing in this period.');
  });
});
