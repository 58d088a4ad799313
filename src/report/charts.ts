import type { Spec } from 'vega';
import { formatMoney, minorDigits } from '../domain/money.js';
import type { Report } from '../domain/report.js';
import { importPackage } from '../packages.js';

/**
 * The practice report's charts, as vega specifications built by pure
 * functions from a `Report`: revenue by month (collected vs forecast, one
 * chart per currency, since different currencies are never added), the
 * completion funnel per template (started → active, completed, cancelled) and
 * payment recovery per template (charges, first attempt declined, recovered by
 * a retry). Each chart comes with its title, a one-sentence description and
 * the same figures as a table, for readers who cannot see the picture.
 *
 * Nothing here loads vega: `drawCharts` imports it when a chart is drawn, so
 * the plain report never pays for it. The same report gives the same SVG.
 */

export interface ChartTable {
  headers: string[];
  rows: string[][];
  /** Columns holding numbers (right-aligned). */
  numeric: number[];
}

export interface Chart {
  /** Stable and unique in a report, usable as an HTML id: "revenue-usd", "funnel", "recovery". */
  id: string;
  title: string;
  /** What the chart shows, in words: its text alternative. */
  description: string;
  spec: Spec;
  table: ChartTable;
}

export interface DrawnChart extends Chart {
  /** The chart as a standalone SVG document (no script, no external reference). */
  svg: string;
}

/** The colours of the handout: teal for what happened, its tint for what is expected, amber and red for trouble. */
export const PALETTE = { ink: '#1d2733', muted: '#566372', rule: '#dce2e8', teal: '#2b6f6b', tint: '#8fbdb8', amber: '#b0701a', red: '#a23a3a', slate: '#6b7c8f' } as const;

const WIDTH = 520;
const FONT = 'Noto Sans, sans-serif';

/** Every chart of a report, in reading order: revenue per currency, then the funnel, then recovery. */
export function reportCharts(report: Report): Chart[] {
  return [...report.currencies.map((currency) => revenueChart(report, currency)), funnelChart(report), recoveryChart(report)];
}

/** One value of the revenue chart: a month's collected or forecast amount in one currency. */
export interface RevenueDatum {
  month: string;
  series: 'Collected' | 'Forecast';
  amount_minor: number;
  /** In the currency's major unit, for the axis. */
  amount: number;
  label: string;
}

/** Revenue by month in one currency: collected and forecast side by side. */
export function revenueChart(report: Report, currency: string): Chart {
  const unit = 10 ** minorDigits(currency);
  const values: RevenueDatum[] = report.months.flatMap((m) => {
    const money = m.money[currency] ?? { collected_minor: 0, refunded_minor: 0, forecast_minor: 0 };
    return [
      { month: m.month, series: 'Collected' as const, amount_minor: money.collected_minor, amount: money.collected_minor / unit, label: formatMoney(money.collected_minor, currency) },
      { month: m.month, series: 'Forecast' as const, amount_minor: money.forecast_minor, amount: money.forecast_minor / unit, label: formatMoney(money.forecast_minor, currency) },
    ];
  });
  const collected = report.months.reduce((sum, m) => sum + (m.money[currency]?.collected_minor ?? 0), 0);
  const forecast = report.months.reduce((sum, m) => sum + (m.money[currency]?.forecast_minor ?? 0), 0);
  const title = `Revenue by month, ${currency}`;
  const description = `Bar chart of revenue in ${currency} for each month from ${report.months[0]?.month ?? report.from} to ${report.months.at(-1)?.month ?? report.to}: ${formatMoney(collected, currency)} collected and ${formatMoney(forecast, currency)} forecast in all.`;
  return {
    id: `revenue-${currency.toLowerCase()}`,
    title,
    description,
    spec: groupedBars({
      description,
      values: values.map((v) => ({ group: v.month, series: v.series, amount_minor: v.amount_minor, value: v.amount, label: v.label })),
      series: ['Collected', 'Forecast'],
      colors: [PALETTE.teal, PALETTE.tint],
      valueTitle: currency,
      valueFormat: unit === 1 ? ',.0f' : ',.2~f',
      vertical: true,
    }),
    table: {
      headers: ['Month', 'Collected', 'Refunded', 'Forecast'],
      rows: report.months.map((m) => {
        const money = m.money[currency] ?? { collected_minor: 0, refunded_minor: 0, forecast_minor: 0 };
        return [m.month, formatMoney(money.collected_minor, currency), formatMoney(money.refunded_minor, currency), formatMoney(money.forecast_minor, currency)];
      }),
      numeric: [1, 2, 3],
    },
  };
}

/** One value of the funnel: how many of a template's plans reached a stage. */
export interface FunnelDatum {
  template: string;
  stage: 'Started' | 'Active' | 'Completed' | 'Cancelled';
  plans: number;
}

export const FUNNEL_STAGES = ['Started', 'Active', 'Completed', 'Cancelled'] as const;

/** The plans started in the period per template, and where they stand today. */
export function funnelChart(report: Report): Chart {
  const values: FunnelDatum[] = report.templates.flatMap((t) => [
    { template: t.template_id, stage: 'Started' as const, plans: t.plans.started },
    { template: t.template_id, stage: 'Active' as const, plans: t.plans.active },
    { template: t.template_id, stage: 'Completed' as const, plans: t.plans.completed },
    { template: t.template_id, stage: 'Cancelled' as const, plans: t.plans.cancelled },
  ]);
  const total = report.totals.plans;
  const description = report.templates.length
    ? `Bar chart of the plans started from ${report.from} to ${report.to} for each template and where they stand today: ${total.started} started, ${total.active} active, ${total.completed} completed and ${total.cancelled} cancelled in all.`
    : `No plan started from ${report.from} to ${report.to}.`;
  return {
    id: 'funnel',
    title: 'Completion funnel by template',
    description,
    spec: groupedBars({
      description,
      values: values.map((v) => ({ group: v.template, series: v.stage, value: v.plans, label: String(v.plans) })),
      series: [...FUNNEL_STAGES],
      colors: [PALETTE.slate, PALETTE.tint, PALETTE.teal, PALETTE.red],
      valueTitle: 'Plans',
      valueFormat: 'd',
      vertical: false,
    }),
    table: {
      headers: ['Template', 'Started', 'Active', 'Completed', 'Cancelled', 'Completion rate'],
      rows: report.templates.map((t) => [t.template_id, String(t.plans.started), String(t.plans.active), String(t.plans.completed), String(t.plans.cancelled), percent(t.plans.completion_rate)]),
      numeric: [1, 2, 3, 4, 5],
    },
  };
}

/** One value of the recovery chart: a template's charges, declined ones and those a retry recovered. */
export interface RecoveryDatum {
  template: string;
  series: 'Charges' | 'Declined' | 'Recovered';
  charges: number;
}

export const RECOVERY_SERIES = ['Charges', 'Declined', 'Recovered'] as const;

/** Per template: charges due in the period, those whose first attempt was declined, and those a retry then paid. */
export function recoveryChart(report: Report): Chart {
  const values: RecoveryDatum[] = report.templates.flatMap((t) => [
    { template: t.template_id, series: 'Charges' as const, charges: t.payments.charges },
    { template: t.template_id, series: 'Declined' as const, charges: t.payments.declined },
    { template: t.template_id, series: 'Recovered' as const, charges: t.payments.recovered },
  ]);
  const total = report.totals.payments;
  const description = report.templates.length
    ? `Bar chart of the charges due from ${report.from} to ${report.to} for each template: ${total.charges} charges, ${total.declined} declined at the first attempt (${percent(total.failed_rate)}), ${total.recovered} of them recovered by a retry (${percent(total.recovery_rate)}).`
    : `No charge was due from ${report.from} to ${report.to}.`;
  return {
    id: 'recovery',
    title: 'Payment recovery by template',
    description,
    spec: groupedBars({
      description,
      values: values.map((v) => ({ group: v.template, series: v.series, value: v.charges, label: String(v.charges) })),
      series: [...RECOVERY_SERIES],
      colors: [PALETTE.slate, PALETTE.amber, PALETTE.teal],
      valueTitle: 'Charges',
      valueFormat: 'd',
      vertical: false,
    }),
    table: {
      headers: ['Template', 'Charges', 'Declined', 'Failed rate', 'Recovered', 'Recovery rate'],
      rows: report.templates.map((t) => [t.template_id, String(t.payments.charges), String(t.payments.declined), percent(t.payments.failed_rate), String(t.payments.recovered), percent(t.payments.recovery_rate)]),
      numeric: [1, 2, 3, 4, 5],
    },
  };
}

/** A share as people read it: "16.7%", or "–" when there is nothing to divide by. */
export function percent(value: number | null): string {
  return value === null ? '–' : `${(value * 100).toFixed(1)}%`;
}

interface Bars {
  description: string;
  values: Array<{ group: string; series: string; value: number; label: string; amount_minor?: number }>;
  series: string[];
  colors: string[];
  valueTitle: string;
  valueFormat: string;
  /** Columns (groups along the bottom) or rows (groups down the left). */
  vertical: boolean;
}

/**
 * Grouped bars: one group per month or template, one bar per series, with a
 * legend above and the value axis starting at zero. Every mark is hidden from
 * assistive technology (the chart as a whole carries the text alternative).
 */
function groupedBars(bars: Bars): Spec {
  const groups = [...new Set(bars.values.map((v) => v.group))];
  const perGroup = bars.series.length * 9 + 10;
  const long = bars.vertical ? 220 : Math.max(60, groups.length * perGroup);
  const groupScale = bars.vertical ? 'width' : 'height';
  const label = { fontSize: 11, font: FONT, fill: PALETTE.muted };
  const axisStyle = { labelFont: FONT, labelFontSize: 11, labelColor: PALETTE.muted, titleFont: FONT, titleFontSize: 11, titleColor: PALETTE.muted, domainColor: PALETTE.rule, tickColor: PALETTE.rule, aria: false };
  const position = bars.vertical ? 'x' : 'y';
  const size = bars.vertical ? 'width' : 'height';
  const value = bars.vertical ? 'y' : 'x';
  return {
    description: bars.description,
    width: WIDTH,
    height: bars.vertical ? long : long,
    padding: 8,
    background: 'white',
    autosize: { type: 'pad' },
    config: { text: label, legend: { labelFont: FONT, labelFontSize: 11, labelColor: PALETTE.ink } },
    data: [{ name: 'bars', values: bars.values }],
    scales: [
      { name: 'group', type: 'band', domain: groups, range: groupScale, paddingInner: 0.2, paddingOuter: 0.1 },
      { name: 'value', type: 'linear', domain: { data: 'bars', field: 'value' }, domainMin: 0, range: bars.vertical ? 'height' : 'width', nice: true, zero: true },
      { name: 'color', type: 'ordinal', domain: bars.series, range: bars.colors },
    ],
    axes: [
      // Many months along the bottom lean, so that none overlaps its neighbour.
      { orient: bars.vertical ? 'bottom' : 'left', scale: 'group', labelLimit: bars.vertical ? 80 : 240, ...(bars.vertical && groups.length > 6 ? { labelAngle: -45, labelAlign: 'right', labelBaseline: 'middle' } : {}), ...axisStyle },
      { orient: bars.vertical ? 'left' : 'bottom', scale: 'value', title: bars.valueTitle, format: bars.valueFormat, grid: true, gridColor: PALETTE.rule, tickCount: 5, ...(bars.valueFormat === 'd' ? { tickMinStep: 1 } : {}), ...axisStyle },
    ],
    legends: [{ fill: 'color', orient: 'top', direction: 'horizontal', symbolType: 'square', aria: false }],
    marks: [
      {
        type: 'group',
        aria: false,
        from: { facet: { data: 'bars', name: 'facet', groupby: 'group' } },
        encode: { enter: { [position]: { scale: 'group', field: 'group' }, [size]: { scale: 'group', band: 1 } } },
        signals: [{ name: 'band', update: 'bandwidth("group")' }],
        scales: [{ name: 'series', type: 'band', domain: bars.series, range: { signal: '[0, band]' }, paddingInner: 0.1 }],
        marks: [
          {
            type: 'rect',
            aria: false,
            from: { data: 'facet' },
            encode: {
              enter: {
                [position]: { scale: 'series', field: 'series' },
                [size]: { scale: 'series', band: 1 },
                [value]: { scale: 'value', field: 'value' },
                [`${value}2`]: { scale: 'value', value: 0 },
                fill: { scale: 'color', field: 'series' },
              },
            },
          },
        ],
      },
    ],
  } as Spec;
}

/**
 * Draws each chart as SVG with vega (loaded here, on first use). Without a
 * canvas, vega measures text from its own font metrics estimate, so the
 * drawing depends only on the spec.
 */
export async function drawCharts(charts: readonly Chart[]): Promise<DrawnChart[]> {
  const vega = await importPackage<typeof import('vega')>('vega');
  const drawn: DrawnChart[] = [];
  for (const chart of charts) {
    const view = new vega.View(vega.parse(chart.spec), { renderer: 'none' });
    const svg = await view.toSVG();
    view.finalize();
    drawn.push({ ...chart, svg });
  }
  return drawn;
}
