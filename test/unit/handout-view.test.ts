import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { buildHandout, handoutLanguage, longDate, type HandoutSources } from '../../src/handout/view.js';
import { renderHandout } from '../../src/handout/render.js';
import { stepsFor } from '../../src/domain/plan.js';
import { parseDate } from '../../src/domain/dates.js';
import type { PaymentSummary } from '../../src/billing/summary.js';
import type { PlanView } from '../../src/plans/view.js';
import type { Catalog, Template } from '../../src/generated/schema-types.js';
import { repoRoot } from '../helpers.js';
import { pdfText } from '../pdf-text.js';
import type { PlanRow, PlanStatus, StepRow } from '../../src/domain/records.js';

const template = (id: string) => parse(readFileSync(join(repoRoot, 'templates', `${id}.yaml`), 'utf8')) as Template;
const catalog = parse(readFileSync(join(repoRoot, 'catalog.yaml'), 'utf8')) as Catalog;
const names = {
  services: new Map(catalog.services.map((s) => [s.id, { name: s.name }])),
  products: new Map(catalog.products.map((p) => [p.sku, { name: p.name }])),
};
const NOW = new Date('2027-02-10T15:00:00Z');

/** A plan as the store would hand it over: steps from the snapshot, numbered from 1. */
function planView(id: string, overrides: Partial<PlanRow> = {}, edit: (steps: StepRow[]) => void = () => {}): PlanView {
  const snapshot = template(id);
  const start = overrides.start_date === undefined ? '2027-01-31' : overrides.start_date;
  const plan: PlanRow = {
    id: 12,
    patient_id: 3,
    clinic_id: 'downtown',
    template_id: id,
    template_version: snapshot.version,
    template_hash: 'a'.repeat(64),
    template_commit: null,
    template_dirty: null,
    name: snapshot.name,
    type: snapshot.type,
    status: 'active',
    snapshot: JSON.stringify(snapshot),
    currency: 'USD',
    start_date: start,
    end_date: start ? '2027-07-31' : null,
    paused_on: null,
    pause_until: null,
    cancelled_on: null,
    cancel_reason: null,
    payment_method_id: 1,
    service_prices: '{}',
    billing_offset_months: 0,
    created_at: '2027-01-31T10:00:00Z',
    updated_at: '2027-01-31T10:00:00Z',
    version: 1,
    ...overrides,
  };
  const steps = stepsFor(snapshot, start ? parseDate(start) : undefined).map((s, i) => ({ ...s, id: 100 + i, plan_id: plan.id, booking_sequence: 0, booking_changed_at: null, patient_note: null as string | null, version: 1 }));
  edit(steps);
  return {
    plan,
    snapshot,
    steps,
    patient: { id: 3, mrn: 'A-1003', first_name: 'Łukasz', last_name: 'Żółć', dob: null, email: null, phone: null, created_at: '', updated_at: '', archived_at: null, merged_into: null },
    clinic: plan.clinic_id ? { id: 'downtown', name: 'Lumen Downtown', timezone: 'America/New_York', address: '120 Main Street', phone: '+1 555 010 0100', created_at: '' } : undefined,
    paymentMethod: plan.payment_method_id ? { id: 1, patient_id: 3, token: 'pm_card_visa', brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2034, customer: null, created_at: '' } : undefined,
    prices: snapshot.type === 'monthly' ? [{ from_installment: 1, monthly_fee_minor: 24900 }] : [],
    attachments: [],
  };
}

const monthlyPayment = (over: Partial<NonNullable<PaymentSummary['monthly']>> = {}, paid = 24900): PaymentSummary => ({
  currency: 'USD',
  type: 'monthly',
  paid_minor: paid,
  outstanding_minor: 0,
  monthly: { installments: 6, paid_installments: 1, fees_minor: [24900, 24900, 24900, 24900, 24900, 24900], next_charge: { installment: 2, date: '2027-03-01', amount_minor: 24900 }, ...over },
  visits: null,
  items: [],
});

function sources(view: PlanView, payment: PaymentSummary, now = NOW): HandoutSources {
  return { view, payment, catalog: names, settings: { name: 'Lumen Aesthetics', timezone: 'UTC' }, now };
}

describe('the handout view model', () => {
  it('says, in the order a patient reads it, who, what, when and how it is paid', () => {
    const view = planView('comprehensive-acne-resolution', {}, (steps) => {
      Object.assign(steps[0]!, { status: 'done', completed_on: '2027-01-31', patient_note: 'Baseline photos taken', outcome: 'Moderate inflammatory acne' });
      Object.assign(steps[1]!, { booked_at: '2027-02-28 14:30' });
    });
    const handout = buildHandout(sources(view, monthlyPayment()));

    expect(handout.clinic).toEqual({ name: 'Lumen Downtown', details: ['120 Main Street', '+1 555 010 0100'] });
    expect(handout.patient).toBe('Łukasz Żółć');
    expect(handout.title).toBe('Comprehensive Acne Resolution');
    expect(handout.status).toEqual({ code: 'active', label: 'Active' });
    expect(handout.notice).toBeNull();
    expect(handout.goal).toBe('Clear active acne and reduce scarring within 6 months');
    expect(handout.description).toMatch(/^For moderate to severe inflammatory acne/);
    expect(handout.duration).toEqual({ length: '6 months', starts: 'Jan 31, 2027', ends: 'Jul 31, 2027' });

    expect(handout.schedule).toHaveLength(6);
    expect(handout.schedule[0]).toMatchObject({
      n: 1,
      when: 'Month 1',
      date: 'Jan 31, 2027',
      booked: null,
      services: ['Deep Cleansing Facial', 'Extractions (add-on)', 'Salicylic Acid Peel'],
      visitNote: 'Baseline photos taken',
      outcome: 'Moderate inflammatory acne',
      mark: 'done',
      markLabel: 'Done',
      markDate: 'Jan 31, 2027',
    });
    // Month 2 of a Jan 31 start is clamped to the end of February.
    expect(handout.schedule[1]).toMatchObject({ when: 'Month 2', date: 'Feb 28, 2027', booked: { date: 'Feb 28, 2027', time: '2:30 PM' }, mark: 'pending', markLabel: 'Upcoming' });
    expect(handout.schedule[3]!.alternatives).toEqual(['Salicylic Acid Peel', "Jessner's Peel"]);

    expect(handout.milestones[1]).toEqual({ when: 'Month 3', date: 'Mar 31, 2027', text: 'Active lesions reduced by half.' });
    expect(handout.followUp.map((f) => f.when)).toEqual(['Month 3', 'Month 6']);
    expect(handout.footer).toEqual({ plan: 'Plan 12', provenance: 'Template comprehensive-acne-resolution v3', generated: 'Generated Feb 10, 2027' });
  });

  it('groups home care by time of day, in the order of a day, with product names from the catalog', () => {
    const handout = buildHandout(sources(planView('post-procedure-recovery'), { currency: 'USD', type: 'pay-as-you-go', paid_minor: 0, outstanding_minor: 0, monthly: null, visits: [], items: [] }));
    expect(handout.homeCare.map((g) => g.title)).toEqual(['Morning (AM)', 'Evening (PM)', 'As needed']);
    expect(handout.homeCare[0]!.items.map((i) => i.product)).toEqual(['Gentle Hydrating Cleanser', 'Ceramide Barrier Moisturizer', 'Mineral Sunscreen SPF 50']);
    // An item used at night and as needed is in both groups.
    expect(handout.homeCare[1]!.items.map((i) => i.product)).toContain('Healing Ointment');
    expect(handout.homeCare[2]!.items).toEqual([{ product: 'Healing Ointment', instructions: 'Thin layer over any dry, tight or crusted areas as needed. Do not pick flaking skin.' }]);

    const acne = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment()));
    expect(acne.homeCare.map((g) => g.time)).toEqual(['am', 'pm', 'weekly']);
    // Instructions without a product (the prescription topical) keep no product name.
    expect(acne.homeCare[1]!.items[0]).toEqual({ product: null, instructions: expect.stringMatching(/^Apply the topical medication/) });
  });

  it('falls back to the catalog id of a product the catalog no longer lists', () => {
    const handout = buildHandout({ ...sources(planView('comprehensive-acne-resolution'), monthlyPayment()), catalog: { services: names.services, products: new Map() } });
    expect(handout.homeCare[0]!.items[0]!.product).toBe('bha-cleanser');
  });

  it('summarises a monthly plan: fee × installments, paid so far, the next charge', () => {
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment()));
    expect(handout.payment.headline).toBe('$249.00 × 6 months');
    expect(handout.payment.rows.map((r) => [r.label, r.value, r.detail])).toEqual([
      ['Monthly fee', '$249.00 × 6 months', '$1,494.00 in total'],
      ['When you pay', 'The first month when the program starts, then on the 1st of each month', null],
      ['Paid so far', '$249.00', '1 of 6 installments'],
      ['Next charge', '$249.00 on Mar 1, 2027', 'Installment 2 of 6'],
      ['Payment method', 'Visa ending in 4242', null],
    ]);
    expect(handout.payment.visits).toBeNull();
  });

  it('shows a fee changed by an edit as runs, and a charge whose date has passed as due', () => {
    const payment = monthlyPayment({ fees_minor: [24900, 24900, 24900, 19900, 19900, 19900], next_charge: { installment: 2, date: '2027-02-01', amount_minor: 24900 } });
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), { ...payment, outstanding_minor: 24900 }));
    expect(handout.payment.headline).toBe('From $199.00 a month');
    expect(handout.payment.rows.find((r) => r.label === 'Monthly fee')).toMatchObject({ value: '$249.00 × 3 months, then $199.00 × 3 months', detail: '$1,344.00 in total' });
    expect(handout.payment.rows.find((r) => r.label === 'Next charge')!.value).toBe('$249.00 due since Feb 1, 2027');
    expect(handout.payment.rows.find((r) => r.label === 'Outstanding')!.value).toBe('$249.00');
  });

  it('lists the price of each visit of a pay-as-you-go plan, complimentary ones as such', () => {
    const payment: PaymentSummary = { currency: 'USD', type: 'pay-as-you-go', paid_minor: 0, outstanding_minor: 0, monthly: null, visits: [{ n: 1, amount_minor: 0 }, { n: 2, amount_minor: 18000 }, { n: 3, amount_minor: 0 }, { n: 4, amount_minor: 0 }], items: [] };
    const handout = buildHandout(sources(planView('post-procedure-recovery', { start_date: '2027-01-04', end_date: '2027-05-04' }), payment));
    expect(handout.payment.headline).toBe('Per visit');
    expect(handout.payment.visits).toEqual([
      { n: 1, when: 'Week 1, Jan 4, 2027', services: 'Post-Procedure Check-In', price: 'Complimentary' },
      { n: 2, when: 'Week 2, Jan 11, 2027', services: 'Gentle Hydrating Facial, LED Therapy (red and near-infrared)', price: '$180.00' },
      { n: 3, when: 'Week 3, Jan 18, 2027', services: 'Progress Assessment', price: 'Complimentary' },
      { n: 4, when: 'Week 4, Jan 25, 2027', services: 'Final Assessment and Maintenance Planning', price: 'Complimentary' },
    ]);
    expect(handout.payment.rows.find((r) => r.label === 'All visits')).toMatchObject({ value: '$180.00', detail: '4 visits, if every visit takes place as planned' });
    // No minimum term, so no cancellation terms and nothing to sign.
    expect(handout.cancellation).toBeNull();
    expect(handout.agreement).toBeNull();
  });

  it('prints cancellation terms and the agreement only for started programs with a minimum term', () => {
    const started = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment()));
    expect(started.cancellation!.terms).toEqual([
      'This program has a minimum term of 3 months, until Apr 30, 2027.',
      'If you cancel before Apr 30, 2027, an early cancellation fee of $150.00 is charged.',
      'You can cancel at any time by telling the clinic; cancelling stops all future charges.',
    ]);
    expect(started.agreement!.signer).toBe('Łukasz Żółć');

    const prescribed = buildHandout(sources(planView('comprehensive-acne-resolution', { status: 'prescribed', start_date: null, clinic_id: null, payment_method_id: null }), monthlyPayment({ next_charge: null }, 0)));
    expect(prescribed.cancellation).toBeNull();
    expect(prescribed.agreement).toBeNull();
    expect(prescribed.duration).toEqual({ length: '6 months', starts: null, ends: null });
    expect(prescribed.schedule[0]!.date).toBeNull();
    expect(prescribed.milestones[0]!.date).toBeNull();
    expect(prescribed.notice).toMatch(/Nothing is booked or charged until you decide to start/);
    expect(prescribed.payment.rows.find((r) => r.label === 'Next charge')!.value).toBe('None until the program starts');
    // Without a clinic, the practice name from txplan.yaml heads the page.
    expect(prescribed.clinic).toEqual({ name: 'Lumen Aesthetics', details: [] });
  });

  it('explains what a paused, overdue, completed or cancelled plan means for the patient', () => {
    const notice = (status: PlanStatus, extra: Partial<PlanRow> = {}) => buildHandout(sources(planView('comprehensive-acne-resolution', { status, ...extra }), monthlyPayment())).notice;
    expect(notice('paused', { paused_on: '2027-02-03', pause_until: '2027-03-01' })).toMatch(/^This plan is paused since Feb 3, 2027, until Mar 1, 2027\./);
    expect(notice('past_due')).toMatch(/update your payment method/);
    expect(notice('completed')).toMatch(/completed this plan/);
    const cancelled = buildHandout(sources(planView('comprehensive-acne-resolution', { status: 'cancelled', cancelled_on: '2027-02-05', cancel_reason: 'Moved away' }), monthlyPayment()));
    expect(cancelled.notice).toBe('This plan was cancelled on Feb 5, 2027. It is kept here for your records.');
    expect(JSON.stringify(cancelled)).not.toContain('Moved away');
    expect(cancelled.schedule[1]).toMatchObject({ mark: 'cancelled', markLabel: 'Not done' });
    expect(cancelled.cancellation).toBeNull();
  });

  it("itemises a cancelled plan's payments: each installment, the fee, and each refund after its charge; a running plan's summary stays short", () => {
    const items: PaymentSummary['items'] = [
      { kind: 'installment', label: 'Installment 1 of 6', date: '2027-01-01', amount_minor: 24900, state: 'paid', charge_id: 1 },
      { kind: 'refund', label: 'Refund of installment 1 of 6', date: '2027-01-20', amount_minor: 4900, state: 'refunded', charge_id: 1 },
      { kind: 'installment', label: 'Installment 2 of 6', date: '2027-02-01', amount_minor: 24900, state: 'declined', charge_id: 2 },
      { kind: 'early_fee', label: 'Early cancellation fee', date: null, amount_minor: 15000, state: 'waived', charge_id: null },
    ];
    const cancelled = buildHandout(sources(planView('comprehensive-acne-resolution', { status: 'cancelled', cancelled_on: '2027-02-05', cancel_reason: 'Moved away' }), { ...monthlyPayment(), items }));
    const rows = cancelled.payment.rows.map((r) => [r.label, r.value, r.detail]);
    expect(rows).toEqual(expect.arrayContaining([
      ['Installment 1 of 6', '$249.00', 'Paid, due Jan 1, 2027'],
      ['Refund of installment 1 of 6', '−$49.00', 'Refunded on Jan 20, 2027'],
      ['Installment 2 of 6', '$249.00', 'Declined, due Feb 1, 2027; still owed'],
      ['Early cancellation fee', '$150.00', 'Waived by the clinic'],
    ]));
    const labels = rows.map((r) => r[0]);
    expect(labels.indexOf('Refund of installment 1 of 6')).toBe(labels.indexOf('Installment 1 of 6') + 1);
    const active = buildHandout(sources(planView('comprehensive-acne-resolution'), { ...monthlyPayment(), items }));
    expect(active.payment.rows.map((r) => r.label)).not.toContain('Installment 1 of 6');
  });

  it("dates the handout with the clinic's local day on the clock given, at midnight UTC in the metadata", () => {
    // 03:00 UTC on Jan 1 is still Dec 31 in New York.
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment(), new Date('2027-01-01T03:00:00Z')));
    expect(handout.generatedOn).toBe('2026-12-31');
    expect(handout.footer.generated).toBe('Generated Dec 31, 2026');
    expect(handout.metadata.creationDate.toISOString()).toBe('2026-12-31T00:00:00.000Z');
    expect(handout.metadata.title).toBe('Comprehensive Acne Resolution: treatment plan');
    expect(handout.metadata.author).toBe('Lumen Downtown');
  });

  it('derives the document id from the content: stable for the same plan and day, different for another plan', () => {
    const a = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment()));
    const b = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment(), new Date('2027-02-10T20:00:00Z')));
    const other = buildHandout(sources(planView('comprehensive-acne-resolution', { id: 13 }), monthlyPayment()));
    const nextDay = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment(), new Date('2027-02-11T15:00:00Z')));
    expect(a.metadata.id).toMatch(/^[0-9a-f]{32}$/);
    expect(b.metadata.id).toBe(a.metadata.id);
    expect(other.metadata.id).not.toBe(a.metadata.id);
    expect(nextDay.metadata.id).not.toBe(a.metadata.id);
  });

  it('formats dates for people', () => {
    expect(longDate('2027-01-31')).toBe('Jan 31, 2027');
    expect(longDate('2028-02-29')).toBe('Feb 29, 2028');
  });
});

describe('the handout PDF', () => {
  it('is byte-identical for the same plan and clock, and carries the content-derived id', async () => {
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment()));
    const first = await renderHandout(handout, 'letter');
    const second = await renderHandout(buildHandout(sources(planView('comprehensive-acne-resolution'), monthlyPayment())), 'letter');
    expect(Buffer.compare(first.bytes, second.bytes)).toBe(0);
    const trailer = first.bytes.subarray(first.bytes.length - 400).toString('latin1');
    expect(trailer).toContain(`/ID [<${handout.metadata.id}> <${handout.metadata.id}>]`);
    // CreationDate and ModDate: the clinic's day on the clock, not the time of rendering.
    expect(first.bytes.toString('latin1').match(/\(D:\d{14}Z\)/g)).toEqual(['(D:20270210000000Z)', '(D:20270210000000Z)']);
  });

  it('is set in letter or A4, and a row taller than a page continues on the next one, whole', async () => {
    const words = Array.from({ length: 700 }, (_, i) => `word${i}`).join(' ');
    const view = planView('post-procedure-recovery', {}, (steps) => Object.assign(steps[1]!, { status: 'done', completed_on: '2027-02-07', patient_note: words }));
    const handout = buildHandout(sources(view, { currency: 'USD', type: 'pay-as-you-go', paid_minor: 0, outstanding_minor: 0, monthly: null, visits: [], items: [] }));
    for (const paper of ['letter', 'a4'] as const) {
      const rendered = await renderHandout(handout, paper);
      const pdf = await pdfText(rendered.bytes);
      expect(pdf.pages.length).toBe(rendered.pages);
      expect(pdf.size).toEqual(paper === 'letter' ? [612, 792] : [595.28, 841.89]);
      // Every word of the note, in order, across the pages it runs over.
      expect(pdf.text).toContain('Visit note: word0 word1');
      expect(pdf.text.match(/word\d+/g)).toEqual(words.split(' '));
      // The schedule's header is repeated on the page the long row continues on.
      expect(pdf.pages.filter((page) => page.includes('Recommended Booked Services Notes Status')).length).toBeGreaterThanOrEqual(2);
      expect(pdf.pages.at(-1)).toContain(`Page ${rendered.pages} of ${rendered.pages}`);
    }
  });

  it('starts a first row taller than a page under its heading, not on a page of its own', async () => {
    const words = Array.from({ length: 1500 }, (_, i) => `word${i}`).join(' ');
    const view = planView('post-procedure-recovery', {}, (steps) => Object.assign(steps[0]!, { status: 'done', completed_on: '2027-02-07', patient_note: words }));
    const handout = buildHandout(sources(view, { currency: 'USD', type: 'pay-as-you-go', paid_minor: 0, outstanding_minor: 0, monthly: null, visits: [], items: [] }));
    const rendered = await renderHandout(handout, 'letter');
    const pdf = await pdfText(rendered.bytes);
    const at = pdf.pages.findIndex((page) => page.includes('Treatment schedule'));
    expect(at).toBeGreaterThanOrEqual(0);
    // The heading, the table's header and the start of the row share a page; the row then runs on.
    expect(pdf.pages[at]).toContain('Recommended Booked Services Notes Status');
    expect(pdf.pages[at]).toContain('Visit note: word0 word1');
    expect(pdf.text.match(/word\d+/g)).toEqual(words.split(' '));
  });
});

describe('the payment summary with refunds (issue 9)', () => {
  it('shows what was paid, what was refunded and the net, in the PDF too', async () => {
    const payment: PaymentSummary = { ...monthlyPayment({ paid_installments: 2 }, 2 * 24900), refunded_minor: 5000, net_minor: 2 * 24900 - 5000, refunds: [{ charge_id: 7, amount_minor: 5000, on: '2027-02-05', reason: 'missed session' }] };
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), payment));
    const rows = handout.payment.rows.map((r) => [r.label, r.value, r.detail]);
    expect(rows).toContainEqual(['Paid so far', '$498.00', '2 of 6 installments']);
    expect(rows).toContainEqual(['Refunded', '$50.00', '1 refund, to the card that paid']);
    expect(rows).toContainEqual(['Paid, net of refunds', '$448.00', null]);
    const pdf = await pdfText((await renderHandout(handout, 'letter')).bytes);
    expect(pdf.text).toContain('Refunded');
    expect(pdf.text).toContain('$448.00');
  });

  it('shows no refund rows when nothing was refunded', () => {
    const handout = buildHandout(sources(planView('comprehensive-acne-resolution'), { ...monthlyPayment(), refunded_minor: 0, net_minor: 24900, refunds: [] }));
    expect(handout.payment.rows.map((r) => r.label)).not.toContain('Refunded');
  });
});

describe('the handout language', () => {
  it('is English in the clinic region, which sets how dates are written', () => {
    expect(['en-US', 'nb-NO', 'en-GB', 'de', 'not a locale!'].map(handoutLanguage)).toEqual(['en-US', 'en-NO', 'en-GB', 'en-DE', 'en-US']);
    expect(longDate('2027-01-31')).toBe('Jan 31, 2027');
    expect(longDate('2027-01-31', 'en-NO')).toBe('31 Jan 2027');
  });
});
