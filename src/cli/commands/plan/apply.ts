import { readFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import type { Context } from '../../context.js';
import type { Prompter } from '../../prompter.js';
import { resolveWorkspace } from '../../workspace.js';
import { assertNotArchived, findPatient, knownPatients, withStore } from '../../store.js';
import { progressBar } from '../../progress.js';
import { editSnapshot } from '../../editor.js';
import { CancelledError, FailedError, NotFoundError, UsageError } from '../../../errors.js';
import { formatDate, parseDate, todayIn, describeDuration, type PlainDate } from '../../../domain/dates.js';
import { formatMoney } from '../../../domain/money.js';
import { minorOf } from '../../../domain/pricing.js';
import { getTemplate, loadRegistry, loadTemplates, type LoadedTemplate, type Registry } from '../../../registry/registry.js';
import { asNewTemplate, checkNewTemplateId, templateText, writeNewTemplate } from '../../../registry/write.js';
import { applyAssignments, checkSnapshot, parseAssignment } from '../../../plans/snapshot.js';
import { applyTemplate, checkApplicable, heldPlans, refuseDraft, isPaid, prepareApplication, saleCurrency, writePlans, type Application, type ApplyMode, type HeldPlan } from '../../../plans/apply.js';
import { checkToken, isTestCardToken, type PaymentMethodDetails, type SavedPaymentMethod } from '../../../billing/gateway.js';
import type { ChargingContext } from '../../../billing/charging.js';
import { customerOf, latestPaymentMethod, tokenOwners } from '../../../store/payment-methods.js';
import { startProgram } from '../../../billing/points.js';
import { startCharges, totalOf } from '../../../billing/quote.js';
import { chargeConfirmation, combineConfirmations, confirmCharge, type Confirmation } from '../../confirm.js';
import { chargingContext } from '../../billing.js';
import { removeUnstartedPlan } from '../../../store/charges.js';
import { getPlan } from '../../../store/plans.js';
import { getClinic, listClinics } from '../../../store/clinics.js';
import { searchPatients } from '../../../store/patients.js';
import type { Store } from '../../../store/store.js';
import type { Template } from '../../../generated/schema-types.js';
import type { Clinic, Patient } from '../../../domain/records.js';

export interface ApplyOptions {
  mode?: string;
  clinic?: string;
  start?: string;
  paymentMethod?: string;
  set?: string[];
  edit?: boolean;
  saveAsTemplate?: string;
  patientsFile?: string;
  chargeNow?: boolean;
  allowDuplicate?: boolean;
}

export async function run(ctx: Context, first: string | undefined, second: string | undefined, opts: ApplyOptions): Promise<number> {
  const workspace = resolveWorkspace(ctx);
  const registry = await loadRegistry(workspace);
  // With --patients-file the one positional argument is the template.
  const [patientRef, templateRef] = opts.patientsFile !== undefined ? [undefined, second ?? first] : [first, second];
  if (opts.patientsFile !== undefined && second !== undefined) throw new UsageError('With --patients-file, give only the template: txplan plan apply <template> --patients-file FILE --mode …');
  const mode = parseMode(opts.mode, opts.saveAsTemplate !== undefined);
  const assignments = (opts.set ?? []).map(parseAssignment);
  const prompter = ctx.interactive ? await ctx.prompter() : undefined;

  return withStore(ctx, async (store) => {
    let entries = opts.patientsFile !== undefined ? readPatientsFile(store, resolve(ctx.cwd, opts.patientsFile)) : [{ patient: await choosePatient(store, patientRef, prompter), token: undefined, line: 0 }];
    let patients = entries.map((e) => e.patient);
    if (opts.patientsFile !== undefined && opts.paymentMethod !== undefined) {
      // One card is one person's: it is never charged for several patients.
      if (patients.length > 1) {
        throw new UsageError(`--payment-method would charge one card for ${patients.length} patients; leave it out and give each patient's own token in the patients file (lines "patient,payment_method"), or let each patient's saved payment method be used`);
      }
      if (entries[0]!.token !== undefined) throw new UsageError('The patients file already gives this patient a payment method; leave out --payment-method');
    }
    const source = await chooseTemplate(registry, templateRef, prompter);
    refuseDraft(source.template); // before anything is asked about it
    const chosenMode = mode ?? (prompter ? await askMode(prompter) : missing('--mode start or --mode prescribe (or --save-as-template NEW_ID)'));

    // A second plan of the same template is usually a slip: asked about, refused, or (in bulk) skipped and listed.
    const held = chosenMode === 'save' || opts.allowDuplicate ? new Map<number, HeldPlan>() : heldPlans(store, source.template.id, patients);
    let skipped: Array<{ patient: Patient; held: HeldPlan }> = [];
    if (held.size > 0 && opts.patientsFile === undefined) {
      const patient = patients[0]!;
      const plan = held.get(patient.id)!;
      const has = `${patientLabel(patient).replace(/^p/, 'P')} already has plan ${plan.plan_id} of "${source.template.id}" (${plan.status.replace('_', ' ')})`;
      if (!prompter) throw new FailedError(`${has}; add --allow-duplicate to apply it again`, 'duplicate');
      if (!(await prompter.confirm(`${has}. Apply it again anyway?`, false))) throw new CancelledError();
    } else if (held.size > 0) {
      skipped = entries.filter((e) => held.has(e.patient.id)).map((e) => ({ patient: e.patient, held: held.get(e.patient.id)! }));
      entries = entries.filter((e) => !held.has(e.patient.id));
      patients = entries.map((e) => e.patient);
      if (entries.length === 0) {
        reportSkipped(ctx, skipped, source.template.id, true);
        return 0;
      }
    }

    let snapshot = applyAssignments(source.template, assignments);
    if (assignments.length > 0) snapshot = checkSnapshot(snapshot, registry, `--set ${assignments.map((a) => `${a.field}=${a.value}`).join(' --set ')}`);
    const wantsEdit = opts.edit ?? (prompter ? await prompter.confirm('Adjust the plan for this patient in your editor first?', false) : false);
    if (wantsEdit) snapshot = editSnapshot(ctx, registry, snapshot, `${snapshot.id}.yaml`);

    // The new template is written only once the plan is: a refused plan leaves no file behind.
    const saveTemplate = async (id: string) => {
      const file = await writeNewTemplate(registry, id, templateText(asNewTemplate(snapshot, id)));
      return relative(ctx.cwd, file) || file;
    };
    if (chosenMode === 'save') {
      report(ctx, { saved: await saveTemplate(opts.saveAsTemplate!), plans: [] });
      return 0;
    }
    if (opts.saveAsTemplate !== undefined) checkNewTemplateId(registry, opts.saveAsTemplate);
    const applyMode = chosenMode;

    const clinic = await chooseClinic(store, opts.clinic, applyMode, source.template, prompter);
    const start = applyMode === 'start' ? await chooseStart(opts.start, clinic!, ctx, prompter) : undefined;
    if (applyMode === 'prescribe' && opts.start !== undefined) throw new UsageError('--start only applies to --mode start; a prescribed plan gets its dates when it starts');
    let token = opts.paymentMethod;
    if (token === undefined && applyMode === 'start' && isPaid(snapshot, registry) && prompter && patients.length === 1) {
      token = await prompter.input('Payment method token (pm_…):', { validate: (v) => (/^pm_\w+$/.test(v) ? true : 'Enter the processor token, e.g. pm_card_visa; never a card number.') });
    }
    const charging = chargingContext(ctx, store, registry.settings, applyMode === 'start' ? 'charge' : 'look-up');
    try {
      const payments = new Map<number, SavedPaymentMethod>();
      // A card given here is saved with the processor for its patient (their customer made the first time they pay).
      const save = (patientId: number, given: string) => charging.gateway.savePaymentMethod({ token: checkToken(given), patientId, customer: customerOf(store, patientId) });
      if (opts.patientsFile !== undefined) {
        const tokens = new Map<number, string>();
        for (const entry of entries) {
          const own = entry.token ?? (entries.length === 1 ? token : undefined);
          if (own !== undefined) tokens.set(entry.patient.id, checkToken(own));
          else if (applyMode === 'start') {
            const saved = latestPaymentMethod(store, entry.patient.id);
            if (saved) payments.set(entry.patient.id, { token: saved.token, brand: saved.brand, last4: saved.last4, exp_month: saved.exp_month, exp_year: saved.exp_year, customer: saved.customer });
          }
        }
        // Before the processor sees any of them: one card is never saved for two patients.
        refuseSharedCards(entries, new Map<number, string>([...[...payments].map(([id, p]): [number, string] => [id, p.token]), ...tokens]));
        for (const [patientId, given] of tokens) payments.set(patientId, await save(patientId, given));
      } else if (token !== undefined) payments.set(patients[0]!.id, await save(patients[0]!.id, token));
      checkApplicable({ registry, source, snapshot, mode: applyMode, clinic, payments, patients });

      // What starting charges at once, per patient and card: asked before anything is written.
      const toConfirm = applyMode === 'start' ? startConfirmation(registry, snapshot, patients, payments, clinic!, start!, ctx.now(), opts.chargeNow ?? false) : undefined;
      if (prompter) {
        const summary = describeApplication(registry, snapshot, patients, applyMode, clinic, start);
        if (toConfirm) toConfirm.lines.unshift(`${summary}.`);
        else if (!(await prompter.confirm(`${summary}. Go ahead?`, true))) throw new CancelledError();
      }
      await confirmCharge(ctx, toConfirm);

      const progress = await progressBar(ctx, applyMode === 'start' ? 'Starting plans' : 'Prescribing plans', patients.length);
      const request = { registry, source, snapshot, patients, mode: applyMode, clinic, start, payments, actor: ctx.actor, now: ctx.now(), onProgress: (done: number, total: number) => progress.update(done, total) };
      if (opts.patientsFile !== undefined && applyMode === 'start') {
        let outcome: BulkStart;
        try {
          outcome = await startEach(store, charging, await prepareApplication(request), isPaid(snapshot, registry), (done) => progress.update(done, patients.length), { today: todayIn(clinic!.timezone, ctx.now()), chargeNow: opts.chargeNow ?? false });
        } finally {
          progress.stop();
        }
        const saved = opts.saveAsTemplate !== undefined && outcome.started.length > 0 ? await saveTemplate(opts.saveAsTemplate) : undefined;
        return reportBulkStart(ctx, outcome, describeApplication(registry, snapshot, undefined, applyMode, clinic, start).replace(/^Start /, ''), saved, skipped, source.template.id);
      }
      let ids: number[];
      try {
        ids = await applyTemplate(store, request);
      } finally {
        progress.stop();
      }
      // Installment 1 of a paid monthly program; a decline leaves no plan behind.
      if (applyMode === 'start') {
        for (const id of ids) await startProgram(charging, getPlan(store, id)!, todayIn(clinic!.timezone, ctx.now()), () => removeUnstartedPlan(store, id), opts.chargeNow ?? false);
      }
      const saved = opts.saveAsTemplate !== undefined ? await saveTemplate(opts.saveAsTemplate) : undefined;
      report(ctx, { saved, plans: ids, summary: describeApplication(registry, snapshot, patients, applyMode, clinic, start), mode: applyMode, patients, ...(opts.patientsFile !== undefined ? { skipped, template: source.template.id } : {}) });
      return 0;
    } finally {
      charging.gateway.close();
    }
  });
}

function parseMode(mode: string | undefined, saving: boolean): ApplyMode | 'save' | undefined {
  if (mode === undefined) return saving ? 'save' : undefined;
  if (mode !== 'start' && mode !== 'prescribe') throw new UsageError(`--mode is "${mode}"; use --mode start (begin the program) or --mode prescribe (recommend only)`);
  return mode;
}

function missing(what: string): never {
  throw new UsageError(`Missing ${what}; txplan plan apply <patient> <template> --mode start|prescribe`);
}

async function choosePatient(store: Store, ref: string | undefined, prompter: Prompter | undefined): Promise<Patient> {
  if (ref !== undefined) {
    const patient = findPatient(store, ref);
    assertNotArchived(patient);
    return patient;
  }
  if (!prompter) missing('the patient (id or MRN)');
  // A search that finds no one asks again: the flow goes on with the next try.
  let question = 'Find the patient (name, MRN, email or phone):';
  let matches: Patient[] = [];
  for (;;) {
    const text = await prompter.input(question, { validate: (v) => (v.trim() ? true : 'Type part of a name, an MRN, an email or a phone number.') });
    matches = searchPatients(store, text, 20);
    if (matches.length > 0) break;
    question = 'No patient matches that; try another part of the name, the MRN, email or phone ("txplan patient add" adds a new patient):';
  }
  const id = await prompter.select(
    'Patient:',
    matches.map((p) => ({ value: String(p.id), name: `${p.first_name} ${p.last_name}${p.mrn ? ` (MRN ${p.mrn})` : ''}`, ...(p.dob ? { description: `born ${p.dob}` } : {}) })),
  );
  return matches.find((p) => String(p.id) === id)!;
}

async function chooseTemplate(registry: Registry, ref: string | undefined, prompter: Prompter | undefined): Promise<LoadedTemplate> {
  if (ref !== undefined) return getTemplate(registry.workspace, ref);
  if (!prompter) missing('the template id');
  const { templates } = await loadTemplates(registry.workspace);
  const active = templates.filter((t) => t.template.status === 'active');
  const id = await prompter.select(
    'Template:',
    active.map((t) => ({ value: t.template.id, name: t.template.name, description: `${t.template.type}, ${describeDuration(t.template.duration)}` })),
  );
  return active.find((t) => t.template.id === id)!;
}

async function askMode(prompter: Prompter): Promise<ApplyMode | 'save'> {
  return prompter.select<ApplyMode | 'save'>('What should happen?', [
    { value: 'start', name: 'Start Program', description: 'active now: recommended dates and billing begin' },
    { value: 'prescribe', name: 'Prescribe Only', description: 'documented recommendations, no billing or scheduling' },
  ]);
}

async function chooseClinic(store: Store, id: string | undefined, mode: ApplyMode, template: Template, prompter: Prompter | undefined): Promise<Clinic | undefined> {
  if (id !== undefined) {
    const clinic = getClinic(store, id);
    if (!clinic) throw new NotFoundError(`No clinic "${id}"; "txplan clinic list" shows them, "txplan clinic add" adds one`);
    return clinic;
  }
  if (mode !== 'start') return undefined;
  const offered = listClinics(store, { all: false }).filter((c) => !template.clinics || template.clinics.includes(c.id));
  if (offered.length === 1) return offered[0];
  if (offered.length === 0) throw new FailedError(`No clinic offers "${template.id}" yet; add one with "txplan clinic add"`, 'clinic_required');
  if (!prompter) return undefined; // checkApplicable names the missing flag
  const chosen = await prompter.select('Clinic:', offered.map((c) => ({ value: c.id, name: c.name, description: c.timezone })));
  return offered.find((c) => c.id === chosen);
}

async function chooseStart(text: string | undefined, clinic: Clinic, ctx: Context, prompter: Prompter | undefined): Promise<PlainDate> {
  const today = formatDate(todayIn(clinic.timezone, ctx.now()));
  const value = text ?? (prompter ? await prompter.input('Start date (YYYY-MM-DD):', { default: today, validate: (v) => (parseDate(v) ? true : 'Enter a date as YYYY-MM-DD.') }) : today);
  const date = parseDate(value);
  if (!date) throw new UsageError(`--start "${value}" is not a date; write it as YYYY-MM-DD, e.g. ${today}`);
  return date;
}

interface PatientsFileEntry {
  patient: Patient;
  /** The patient's own payment method token, from the file's payment_method column. */
  token: string | undefined;
  line: number;
}

/**
 * One template for many patients. One reference (id or MRN) per line, or
 * "patient,payment_method" per line (a header row naming those two columns,
 * in either order, is allowed) so that each patient pays with their own card;
 * # comments and blank lines are ignored. Every line is checked: all or none.
 */
function readPatientsFile(store: Store, file: string): PatientsFileEntry[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`Cannot read --patients-file ${file}; check the path`);
  }
  const entries: PatientsFileEntry[] = [];
  const seen = new Map<number, number>();
  const tokens = new Map<string, number>();
  const problems: string[] = [];
  let columns: { patient: number; token: number } | undefined;
  const lines = text.split(/\r?\n/);
  // Every patient the file may name, read ahead in two queries (a file may list thousands).
  const known = knownPatients(store, lines.flatMap((raw) => raw.replace(/#.*$/, '').split(',').map((cell) => cell.trim()).filter((cell) => cell !== '')));
  lines.forEach((raw, index) => {
    const line = index + 1;
    const cells = raw.replace(/#.*$/, '').split(',').map((cell) => cell.trim());
    if (cells.every((cell) => cell === '')) return;
    if (entries.length === 0 && problems.length === 0 && columns === undefined && cells.some((cell) => /^(patient|payment_method)$/i.test(cell))) {
      const names = cells.map((cell) => cell.toLowerCase());
      const unknown = names.filter((name) => name !== 'patient' && name !== 'payment_method');
      if (unknown.length > 0 || !names.includes('patient') || new Set(names).size !== names.length) problems.push(`line ${line}: the header may name only the columns patient and payment_method, once each`);
      else columns = { patient: names.indexOf('patient'), token: names.indexOf('payment_method') };
      return;
    }
    const width = columns ? (columns.token === -1 ? 1 : 2) : 2;
    if (cells.length > width) return void problems.push(`line ${line}: has ${cells.length} columns; write "patient" or "patient,payment_method"`);
    const ref = cells[columns?.patient ?? 0] ?? '';
    const token = (columns ? (columns.token === -1 ? undefined : cells[columns.token]) : cells[1]) || undefined;
    if (ref === '') return void problems.push(`line ${line}: names no patient`);
    try {
      const patient = findPatient(store, ref, known);
      assertNotArchived(patient);
      const earlier = seen.get(patient.id);
      if (earlier !== undefined) return void problems.push(`line ${line}: patient ${patient.id} is already on line ${earlier}`);
      seen.set(patient.id, line);
      if (token !== undefined) {
        // Never echo the cell: it is a payment detail, and may be worse than a token.
        try {
          checkToken(token);
        } catch (error) {
          return void problems.push(`line ${line}: the payment_method ${(error as FailedError).code === 'card_number' ? 'looks like a card number; txplan never takes card numbers, give the processor token (pm_…)' : 'is not a processor token (pm_…)'}`);
        }
        const other = isTestCardToken(token) ? undefined : tokens.get(token);
        if (other !== undefined) return void problems.push(`line ${line}: that payment method is already on line ${other}; each patient pays with their own`);
        if (!isTestCardToken(token) && tokenOwners(store, token).some((owner) => owner !== patient.id)) return void problems.push(`line ${line}: that payment method is saved for another patient; give patient ${patient.id}'s own`);
        tokens.set(token, line);
      }
      entries.push({ patient, token, line });
    } catch (error) {
      problems.push(`line ${line}: ${(error as Error).message}`);
    }
  });
  if (problems.length > 0) throw new FailedError(`${file} has ${problems.length} problem${problems.length === 1 ? '' : 's'}, so no plan was applied: ${problems.slice(0, 5).join('; ')}${problems.length > 5 ? `; and ${problems.length - 5} more` : ''}`, 'patients_file');
  if (entries.length === 0) throw new FailedError(`${file} names no patients; write one id or MRN per line (or "patient,payment_method")`, 'patients_file');
  return entries;
}

/** Saved payment methods may be shared by accident too: refuse before anyone is charged. */
function refuseSharedCards(entries: readonly PatientsFileEntry[], tokens: ReadonlyMap<number, string>): void {
  const byToken = new Map<string, PatientsFileEntry>();
  for (const entry of entries) {
    const token = tokens.get(entry.patient.id);
    if (token === undefined || isTestCardToken(token)) continue;
    const other = byToken.get(token);
    if (other) {
      throw new FailedError(`Patients ${other.patient.id} (line ${other.line}) and ${entry.patient.id} (line ${entry.line}) would pay with the same card, so no plan was applied; give each patient their own token in the patients file (lines "patient,payment_method")`, 'shared_card');
    }
    byToken.set(token, entry);
  }
}

interface BulkStart {
  total: number;
  started: Array<{ patient: Patient; plan: number }>;
  notStarted: Array<{ patient: Patient; plan: number | null; reason: string }>;
}

/**
 * Starts one plan per patient, each with its own card: the plan is written,
 * its first installment charged, and a decline removes it again before the
 * next patient. So no plan is left started without its first installment,
 * and one patient's decline does not stop the others.
 */
async function startEach(store: Store, charging: ChargingContext, application: Application, paid: boolean, onProgress: (done: number) => void, at: { today: PlainDate; chargeNow: boolean }): Promise<BulkStart> {
  const { patients, payments } = application.request;
  const result: BulkStart = { total: patients.length, started: [], notStarted: [] };
  for (const [index, patient] of patients.entries()) {
    if (paid && !payments.has(patient.id)) {
      result.notStarted.push({ patient, plan: null, reason: 'no payment method saved for this patient and none on its line; add its own token as "patient,payment_method"' });
    } else {
      const [id] = writePlans(store, application, [patient]);
      try {
        await startProgram(charging, getPlan(store, id!)!, at.today, () => removeUnstartedPlan(store, id!), at.chargeNow);
        result.started.push({ patient, plan: id! });
      } catch (error) {
        const code = (error as FailedError).code;
        if (code !== 'declined' && code !== 'charge_unconfirmed') throw error;
        const message = (error as Error).message;
        result.notStarted.push({ patient, plan: code === 'declined' ? null : id!, reason: message.charAt(0).toLowerCase() + message.slice(1) });
      }
    }
    onProgress(index + 1);
  }
  return result;
}

function patientLabel(patient: Patient): string {
  return `patient ${patient.id}${patient.mrn ? ` (MRN ${patient.mrn})` : ''}`;
}

/** Both groups, on stdout and stderr (or both in --json); exit 1 when any patient's plan was not started. */
function reportBulkStart(ctx: Context, outcome: BulkStart, summary: string, saved: string | undefined, skipped: Skipped, template: string): number {
  if (ctx.options.json) {
    ctx.json({
      skipped: skippedJson(skipped),
      plans: outcome.started.map((s) => s.plan),
      status: 'active',
      started: outcome.started.map((s) => ({ patient_id: s.patient.id, plan_id: s.plan })),
      not_started: outcome.notStarted.map((n) => ({ patient_id: n.patient.id, ...(n.plan !== null ? { plan_id: n.plan } : {}), reason: n.reason })),
      saved_template: saved ?? null,
    });
  } else {
    const { color } = ctx;
    if (saved) ctx.out(`${color.green('✔')} Saved the customised plan as ${color.bold(saved)} (v1).`);
    if (outcome.started.length > 0) {
      ctx.out(`${color.green('✔')} Started ${outcome.started.length} of ${outcome.total} plans: ${outcome.started.map((s) => `plan ${s.plan} for ${patientLabel(s.patient)}`).join(', ')}; ${summary}.`);
    }
    if (outcome.notStarted.length > 0) {
      ctx.err(`Not started (${outcome.notStarted.length}):`);
      for (const n of outcome.notStarted) ctx.err(`  ${patientLabel(n.patient)}: ${n.reason}`);
    }
    reportSkipped(ctx, skipped, template, false);
  }
  if (outcome.notStarted.length === 0) return 0;
  ctx.err(`txplan: ${outcome.notStarted.length} of ${outcome.total} plans were not started (listed ${ctx.options.json ? 'in not_started' : 'above'}); give those patients a working payment method and apply the template to them again`);
  return 1;
}

/** What starting the program charges each patient's card at once (installment 1, and any already due). */
function startConfirmation(registry: Registry, snapshot: Template, patients: readonly Patient[], payments: ReadonlyMap<number, PaymentMethodDetails>, clinic: Clinic, start: PlainDate, now: Date, chargeNow: boolean): Confirmation | undefined {
  if (snapshot.type !== 'monthly' || !snapshot.pricing) return undefined;
  const currency = saleCurrency(clinic, registry);
  const locale = clinic.locale ?? registry.settings.locale;
  const fee = minorOf(snapshot.pricing.monthly_fee, currency);
  const fees = Array.from({ length: snapshot.duration.months ?? 0 }, () => fee);
  // What falls due at once: installment 1 (unless the start is in the future), and a backdated start's installments already due.
  const charges = startCharges(fees, start, todayIn(clinic.timezone, now), { chargeNow });
  const each = patients.filter((p) => payments.has(p.id)).map((p) => chargeConfirmation({ subject: `${p.first_name} ${p.last_name}, ${snapshot.name}`, charges, currency, locale, card: payments.get(p.id) }));
  const asked = each.filter((c) => c !== undefined).length;
  const total = formatMoney(totalOf(charges) * asked, currency, locale);
  return combineConfirmations(each, (n) => `Charge ${total} in all to ${n} patients' cards now?`, (n) => `charge ${total} in all to ${n} patients' cards now (${snapshot.name})`);
}

function describeApplication(registry: Registry, snapshot: Template, patients: readonly Patient[] | undefined, mode: ApplyMode, clinic: Clinic | undefined, start: PlainDate | undefined): string {
  const who = patients === undefined ? '' : ` for ${patients.length === 1 ? `${patients[0]!.first_name} ${patients[0]!.last_name}` : `${patients.length} patients`}`;
  const price = snapshot.type === 'monthly' && snapshot.pricing
    ? `${formatMoney(minorOf(snapshot.pricing.monthly_fee, saleCurrency(clinic, registry)), saleCurrency(clinic, registry), clinic?.locale ?? registry.settings.locale)}/month × ${snapshot.duration.months}`
    : 'pay per visit';
  const where = clinic ? ` at ${clinic.name}` : '';
  const when = start ? ` from ${formatDate(start)}` : '';
  return `${mode === 'start' ? 'Start' : 'Prescribe'} ${snapshot.name}${who}${where}${when}, ${describeDuration(snapshot.duration)}, ${price}`;
}

type Skipped = ReadonlyArray<{ patient: Patient; held: HeldPlan }>;

const skippedJson = (skipped: Skipped) => skipped.map((s) => ({ patient_id: s.patient.id, plan_id: s.held.plan_id, status: s.held.status }));

/** The patients a bulk apply left out because they already hold a plan of the template, on stdout (or alone in --json when nobody else was left). */
function reportSkipped(ctx: Context, skipped: Skipped, template: string, alone: boolean): void {
  if (ctx.options.json) {
    if (alone) ctx.json({ plans: [], skipped: skippedJson(skipped) });
    return;
  }
  if (skipped.length === 0) return;
  const who = skipped.map((s) => `${patientLabel(s.patient)} has plan ${s.held.plan_id} (${s.held.status.replace('_', ' ')})`).join(', ');
  ctx.out(`Skipped ${skipped.length} patient${skipped.length === 1 ? '' : 's'} who already ${skipped.length === 1 ? 'has' : 'have'} a plan of ${template}${alone ? ', so no plan was applied' : ''}: ${who}; add --allow-duplicate to apply it to them too.`);
}

function report(ctx: Context, result: { saved: string | undefined; plans: number[]; summary?: string; mode?: ApplyMode; patients?: readonly Patient[]; skipped?: Skipped; template?: string }): void {
  if (ctx.options.json) {
    const single = result.plans.length === 1 && result.patients?.length === 1;
    ctx.json({ ...(single ? { id: result.plans[0] } : {}), plans: result.plans, status: result.mode === 'start' ? 'active' : result.mode === 'prescribe' ? 'prescribed' : null, saved_template: result.saved ?? null, ...(result.skipped ? { skipped: skippedJson(result.skipped) } : {}) });
    return;
  }
  if (result.skipped) reportSkipped(ctx, result.skipped, result.template!, false);
  const { color } = ctx;
  if (result.saved) ctx.out(`${color.green('✔')} Saved the customised plan as ${color.bold(result.saved)} (v1).`);
  if (result.plans.length === 0) return;
  const ids = result.plans.length === 1 ? `plan ${result.plans[0]}` : `${result.plans.length} plans (${result.plans[0]}–${result.plans[result.plans.length - 1]})`;
  ctx.out(`${color.green('✔')} ${result.mode === 'start' ? 'Started' : 'Prescribed'} ${color.bold(ids)}: ${result.summary!.replace(/^(Start|Prescribe) /, '')}.`);
  if (result.plans.length === 1) ctx.out(`  Next: txplan plan show ${result.plans[0]}`);
}

