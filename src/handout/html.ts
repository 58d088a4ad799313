import { htmlEscape } from 'escape-goat';
import type { Handout, StepMark } from './view.js';
import { webFontFaces } from './webfonts.js';

/**
 * The patient handout as one self-contained web page, from the same view
 * model as the PDF (view.ts, after cover.ts), so both carry the same words:
 * patient-facing notes only.
 *
 * Self-contained: no script, no external address of any kind, the fonts
 * inlined as data: URIs (webfonts.ts), and a Content-Security-Policy that
 * forbids scripts and every remote load, so a page opened from a mail
 * attachment or a patient portal fetches nothing. Every value from the
 * model goes through escape-goat's htmlEscape; markup is only ever built
 * from this file's own literals (the `html` tag below).
 *
 * Responsive: one column on a phone, where each table row becomes a stacked
 * card with its labels; printable: a print stylesheet in ink only that keeps
 * a visit, a payment row and the signature block on one page.
 */

/** Markup this file built: passed through `html` as it is, where any other value is escaped. */
class Markup {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

type Value = string | number | Markup | null | undefined | false | readonly Value[];

function piece(value: Value): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof Markup) return value.text;
  if (Array.isArray(value)) return (value as readonly Value[]).map(piece).join('');
  return htmlEscape(String(value));
}

/** A tagged template: the literal parts are markup, every interpolated value is escaped unless it is Markup. */
function html(strings: TemplateStringsArray, ...values: Value[]): Markup {
  let out = strings[0]!;
  values.forEach((value, i) => {
    out += piece(value) + strings[i + 1]!;
  });
  return new Markup(out);
}

/**
 * The policy: nothing from anywhere (default-src 'none'), the page's own
 * inline style, fonts and images only as data: URIs, no base URL, no form
 * posts. Scripts fall under default-src, so none runs.
 */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; font-src data:; img-src data:; base-uri 'none'; form-action 'none'";

/** The whole page, as text to write. */
export function renderHandoutHtml(h: Handout): string {
  const body = html`<header class="masthead">
<div class="clinic"><p class="clinic-name" dir="auto">${h.clinic.name}</p>${h.clinic.details.length ? html`<p class="clinic-details" dir="auto">${h.clinic.details.join('  ·  ')}</p>` : ''}</div>
<p class="doc"><span class="eyebrow">Treatment plan</span> <span class="plan-id">Plan ${h.planId}</span></p>
</header>
<main>
${intro(h)}
${schedule(h)}
${homeCare(h)}
${timed('Expected milestones', 'milestones', h.milestones)}
${timed('Follow-up recommendations', 'follow-up', h.followUp)}
${payment(h)}
${agreement(h)}
</main>
<footer class="footer"><p><span>${h.footer.plan}</span> · <span dir="auto">${h.footer.provenance}</span> · <span>${h.footer.generated}</span></p></footer>`;
  const fonts = webFontFaces(body.text);
  return html`<!doctype html>
<html lang="${h.language}" dir="ltr">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CONTENT_SECURITY_POLICY}">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="author" content="${h.metadata.author}">
<meta name="description" content="${h.metadata.subject}">
<title>${h.metadata.title}</title>
<style>
${new Markup(fonts)}
${new Markup(STYLE)}
</style>
</head>
<body>
${body}
</body>
</html>
`.text;
}

function intro(h: Handout): Markup {
  const facts: Array<[string, string]> = [
    ['Duration', capitalize(h.duration.length)],
    ['Starts', h.duration.starts ?? 'When you start'],
    ['Ends', h.duration.ends ?? `${capitalize(h.duration.length)} later`],
    ['Price', h.payment.headline],
  ];
  return html`<section class="intro" aria-labelledby="plan-title">
<p class="eyebrow">Prepared for</p>
<p class="patient" dir="auto">${h.patient}</p>
<h1 id="plan-title" dir="auto">${h.title}</h1>
<p class="pill status-${h.status.code}">${h.status.label}</p>
<p class="lede" dir="auto">${h.goal}</p>
${h.description ? html`<p class="description" dir="auto">${h.description}</p>` : ''}
<dl class="facts">${facts.map(([label, value]) => html`<div><dt>${label}</dt><dd dir="auto">${value}</dd></div>`)}</dl>
${h.notice ? html`<p class="notice notice-${h.status.code}" role="note">${h.notice}</p>` : ''}
</section>`;
}

function schedule(h: Handout): Markup {
  const intro = h.duration.starts ? 'Recommended dates for each visit; book them with the front desk.' : 'Each visit is counted from the day you start; the dates are set then.';
  const rows = h.schedule.map((step) => {
    const notes = [
      step.note ? html`<p dir="auto">${step.note}</p>` : '',
      step.visitNote ? html`<p dir="auto">Visit note: ${step.visitNote}</p>` : '',
      step.outcome ? html`<p class="aside" dir="auto">Outcome: ${step.outcome}</p>` : '',
    ];
    const none = !step.note && !step.visitNote && !step.outcome;
    return html`<tr class="visit mark-${step.mark}">
<th scope="row" data-label="Visit"><span class="visually-hidden">Visit </span>${step.n}</th>
<td data-label="Recommended"><p class="strong">${step.when}</p>${step.date ? html`<p class="muted">${step.date}</p>` : ''}</td>
<td data-label="Booked">${step.booked ? html`<p>${step.booked.date}</p><p class="muted">${step.booked.time}</p>` : html`<p class="faint"><span aria-hidden="true">—</span><span class="visually-hidden">Not booked</span></p>`}</td>
<td data-label="Services">${step.services.map((name) => html`<p dir="auto">${name}</p>`)}${step.alternatives.length ? html`<p class="aside" dir="auto">or ${step.alternatives.join(', ')}</p>` : ''}${step.performed ? html`<p dir="auto">Done at this visit: ${step.performed.join(', ')}</p>` : ''}</td>
<td data-label="Notes">${notes}${none ? html`<p class="faint"><span aria-hidden="true">—</span><span class="visually-hidden">No notes</span></p>` : ''}</td>
<td data-label="Status"><p class="strong ${markClass(step.mark)}">${step.markLabel}</p>${step.markDate ? html`<p class="muted">${step.markDate}</p>` : ''}</td>
</tr>`;
  });
  return html`<section aria-labelledby="schedule">
<h2 id="schedule">Treatment schedule</h2>
<p class="muted">${intro}</p>
<table class="stack schedule">
<thead><tr><th scope="col" class="w-n">#</th><th scope="col" class="w-when">Recommended</th><th scope="col" class="w-booked">Booked</th><th scope="col" class="w-services">Services</th><th scope="col">Notes</th><th scope="col" class="w-status">Status</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
</section>`;
}

function homeCare(h: Handout): Markup | '' {
  if (h.homeCare.length === 0) return '';
  return html`<section aria-labelledby="home-care">
<h2 id="home-care">Home care</h2>
${h.homeCare.map(
  (group) => html`<div class="care-group">
<h3>${group.title}</h3>
<ol class="care">${group.items.map((item) => html`<li>${item.product ? html`<p class="item-name" dir="auto">${item.product}</p>` : ''}<p dir="auto">${item.instructions}</p></li>`)}</ol>
</div>`,
)}
</section>`;
}

function timed(title: string, id: string, notes: Handout['milestones']): Markup | '' {
  if (notes.length === 0) return '';
  return html`<section aria-labelledby="${id}">
<h2 id="${id}">${title}</h2>
<dl class="rows">${notes.map((note) => html`<div><dt><span class="item-name" dir="auto">${note.when}</span>${note.date ? html`<span class="detail">around ${note.date}</span>` : ''}</dt><dd dir="auto">${note.text}</dd></div>`)}</dl>
</section>`;
}

function payment(h: Handout): Markup {
  const { payment: p } = h;
  const visits = p.visits && p.visits.length > 0
    ? html`<h3>Price per visit</h3>
<table class="stack visits">
<thead><tr><th scope="col" class="w-visit">Visit</th><th scope="col" class="w-visit-when">When</th><th scope="col">Services</th><th scope="col" class="money w-price">Price</th></tr></thead>
<tbody>
${p.visits.map((v) => html`<tr><th scope="row" data-label="Visit">${v.n}</th><td data-label="When">${v.when}</td><td data-label="Services" dir="auto">${v.services}</td><td data-label="Price" class="money ${v.price === 'Complimentary' ? 'muted' : 'strong'}">${v.price}</td></tr>\n`)}
</tbody>
</table>`
    : '';
  return html`<section aria-labelledby="payment">
<h2 id="payment">Payment summary</h2>
<dl class="rows payment">${p.rows.map((row) => html`<div><dt>${row.label}</dt><dd><span class="${row.amount ? 'amount' : ''}" dir="auto">${row.value}</span>${row.detail ? html`<span class="detail">${row.detail}</span>` : ''}</dd></div>`)}</dl>
${visits}
</section>`;
}

function agreement(h: Handout): Markup | '' {
  if (!h.cancellation) return '';
  return html`<section class="terms" aria-labelledby="cancellation">
<h2 id="cancellation">Cancellation terms</h2>
${h.cancellation.terms.map((term) => html`<p>${term}</p>`)}
${h.agreement
  ? html`<h2 id="agreement">Patient agreement</h2>
<p>${h.agreement.statement}</p>
<div class="signatures">
<p class="signature"><span class="line" dir="auto">Patient signature  ·  ${h.agreement.signer}</span><span class="line date">Date</span></p>
<p class="signature"><span class="line">Clinic representative</span><span class="line date">Date</span></p>
</div>`
  : ''}
</section>`;
}

function markClass(mark: StepMark): string {
  return { done: 'done', skipped: 'muted', pending: '', cancelled: 'muted' }[mark];
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** The stylesheet: the PDF's colours and type on screen, ink only on paper, stacked rows on a phone. */
const STYLE = `
:root { --ink: #1d2733; --muted: #566372; --faint: #5f6b78; --accent: #2b6f6b; --accent-tint: #e9f2f1; --rule: #dce2e8; --fill: #f2f5f7; --done: #2f7d55; --amber: #8a5a12; --amber-tint: #fbf3e4; --red: #a23a3a; --red-tint: #fbeceb; }
*, *::before, *::after { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }
body { margin: 0 auto; max-width: 60rem; padding: 1.25rem; font-family: 'Noto Sans', 'Noto Sans Arabic', 'Noto Sans Hebrew', 'Noto Sans Devanagari', system-ui, sans-serif; font-size: 1rem; line-height: 1.5; color: var(--ink); background: #fff; overflow-wrap: break-word; }
p, h1, h2, h3, dl, dd, ol { margin: 0; }
.masthead { display: flex; flex-wrap: wrap; justify-content: space-between; gap: 0.5rem 1.5rem; padding-bottom: 0.75rem; border-bottom: 2px solid var(--accent); }
.clinic-name { font-weight: 600; font-size: 1.2rem; color: var(--accent); }
.clinic-details, .plan-id { color: var(--muted); font-size: 0.9rem; }
.doc { text-align: end; display: flex; flex-direction: column; }
.eyebrow { font-weight: 600; font-size: 0.8rem; letter-spacing: 0.06em; text-transform: uppercase; color: var(--faint); }
.intro { margin-top: 1.75rem; }
.patient { font-weight: 600; font-size: 1.25rem; }
h1 { font-weight: 700; font-size: clamp(1.6rem, 5vw, 2.2rem); line-height: 1.2; margin-top: 0.15rem; }
.pill { display: inline-block; margin-top: 0.6rem; padding: 0.1rem 0.7rem; border-radius: 1rem; font-weight: 600; font-size: 0.8rem; letter-spacing: 0.05em; text-transform: uppercase; color: var(--accent); background: var(--accent-tint); }
.status-past_due, .status-cancelled { color: var(--red); background: var(--red-tint); }
.status-prescribed, .status-paused { color: var(--amber); background: var(--amber-tint); }
.lede { margin-top: 1.25rem; font-size: 1.15rem; }
.description { margin-top: 0.5rem; color: var(--muted); }
.facts { display: grid; grid-template-columns: repeat(auto-fit, minmax(9rem, 1fr)); gap: 0.75rem; margin-top: 1.25rem; padding: 0.9rem 1rem; background: var(--fill); border-radius: 0.5rem; }
.facts dt { font-weight: 600; font-size: 0.8rem; letter-spacing: 0.06em; text-transform: uppercase; color: var(--faint); }
.facts dd { font-weight: 600; }
.notice { margin-top: 1rem; padding: 0.75rem 1rem; border-inline-start: 4px solid var(--amber); background: var(--amber-tint); }
.notice-past_due, .notice-cancelled { border-color: var(--red); background: var(--red-tint); }
.notice-completed { border-color: var(--accent); background: var(--accent-tint); }
section { margin-top: 2rem; }
h2 { font-weight: 600; font-size: 1.3rem; color: var(--accent); margin-bottom: 0.5rem; }
h3 { font-weight: 600; font-size: 1.05rem; margin: 1rem 0 0.4rem; }
.muted { color: var(--muted); }
.faint { color: var(--faint); }
.strong, .amount, .item-name { font-weight: 600; }
.done { color: var(--done); }
.aside { font-style: italic; color: var(--muted); }
.detail { display: block; font-size: 0.9rem; color: var(--muted); }
table { width: 100%; table-layout: fixed; border-collapse: collapse; margin-top: 0.75rem; font-size: 0.95rem; }
th, td { text-align: start; vertical-align: top; padding: 0.5rem 0.4rem; border-bottom: 1px solid var(--rule); }
thead th { font-weight: 600; font-size: 0.75rem; letter-spacing: 0.06em; text-transform: uppercase; color: var(--muted); background: var(--fill); }
tbody th { font-weight: 600; }
td p + p { margin-top: 0.2rem; }
.money { text-align: end; white-space: nowrap; }
.w-n { width: 2.5rem; }
.w-when { width: 15%; }
.w-booked { width: 14%; }
.w-services { width: 24%; }
.w-status { width: 15%; }
.w-visit { width: 4rem; }
.w-visit-when { width: 30%; }
.w-price { width: 9rem; }
.rows dt .item-name { color: var(--ink); }
.care { padding-inline-start: 1.5rem; }
.care li + li { margin-top: 0.4rem; }
.care li::marker { color: var(--accent); font-weight: 600; }
.rows > div { display: grid; grid-template-columns: minmax(8rem, 1fr) 3fr; gap: 0.25rem 1rem; padding: 0.6rem 0; border-bottom: 1px solid var(--rule); }
.rows dt { color: var(--muted); }
.terms p + p { margin-top: 0.4rem; }
.signatures { margin-top: 1rem; }
.signature { display: flex; flex-wrap: wrap; gap: 1.5rem; margin-top: 2.5rem; }
.signature .line { flex: 3 1 12rem; padding-top: 0.3rem; border-top: 1px solid var(--ink); font-size: 0.85rem; color: var(--muted); }
.signature .date { flex: 1 1 6rem; }
.footer { margin-top: 2.5rem; padding-top: 0.5rem; border-top: 1px solid var(--rule); font-size: 0.8rem; color: var(--faint); }
.visually-hidden { position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media screen and (max-width: 40rem) {
  body { padding: 1rem; }
  .doc { text-align: start; }
  table.stack, table.stack tbody, table.stack tr, table.stack th, table.stack td { display: block; width: 100%; }
  table.stack thead { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  table.stack tr { padding: 0.5rem 0; border-bottom: 1px solid var(--rule); }
  table.stack th, table.stack td { border: 0; padding: 0.2rem 0; position: relative; min-height: 1.5rem; padding-inline-start: 8.25rem; text-align: start; }
  table.stack th[data-label]::before, table.stack td[data-label]::before { content: attr(data-label); position: absolute; inset-inline-start: 0; top: 0.2rem; width: 7.5rem; font-weight: 600; font-size: 0.75rem; letter-spacing: 0.06em; text-transform: uppercase; color: var(--muted); padding-top: 0.15rem; }
  table.stack .money { white-space: normal; }
  table.stack tbody th .visually-hidden { display: none; }
  .rows > div { grid-template-columns: 1fr; }
}
@media print {
  @page { margin: 16mm 14mm; }
  :root { --muted: #333; --faint: #555; --accent: #000; --done: #000; --amber: #000; --red: #000; }
  body { max-width: none; padding: 0; font-size: 10pt; color: #000; }
  .facts, .notice, .pill, thead th { background: none; }
  .notice { border: 1px solid #000; }
  .pill { border: 1px solid #000; }
  h2, h3 { break-after: avoid; page-break-after: avoid; }
  tr, .rows > div, .care li, .care-group h3 + ol, .terms { break-inside: avoid; page-break-inside: avoid; }
  thead { display: table-header-group; }
}
`;
