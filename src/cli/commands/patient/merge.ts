import type { Context } from '../../context.js';
import { lookUpPatient, withStore } from '../../store.js';
import { fullName } from '../../../domain/patient.js';
import { recordAudit } from '../../../store/audit.js';
import { mergePatientRows, openPlansOf, patientHoldings, planVersionsOf, type PatientHoldings } from '../../../store/patients.js';
import { FailedError, UsageError } from '../../../errors.js';

/**
 * `patient merge <keep> <duplicate>`: the duplicate's plans (and with them
 * their charges, steps and bookings), payment methods (with the processor
 * customer each names) and declined starts move to the kept patient in one
 * transaction, conditional on both records and the duplicate's plans as read;
 * the duplicate stays as a tombstone that resolves to the kept patient
 * wherever a patient is looked up. The audit log is never rewritten: the
 * kept patient's history includes the tombstone's entries when it is read.
 */
export async function run(ctx: Context, keepRef: string, duplicateRef: string): Promise<number> {
  const at = ctx.now().toISOString();
  const outcome = await withStore(ctx, (store) => {
    const keep = lookUpPatient(store, keepRef);
    const duplicate = lookUpPatient(store, duplicateRef);
    if (keep.merged_into !== null) throw new FailedError(`Patient ${keep.id} was merged into patient ${keep.merged_into}; merge into patient ${keep.merged_into} instead`, 'merged');
    if (duplicate.merged_into !== null) throw new FailedError(`Patient ${duplicate.id} was already merged into patient ${duplicate.merged_into}; nothing to do`, 'merged');
    if (keep.id === duplicate.id) throw new UsageError(`Both arguments name patient ${keep.id}; give the record to keep first, then the duplicate`);

    // Two running programs of the same template would bill the patient twice over.
    const clashes = sameTemplateClashes(openPlansOf(store, keep.id), openPlansOf(store, duplicate.id));
    if (clashes.length > 0 && !ctx.options.yes) {
      throw new FailedError(
        `Both patients have an active plan of ${clashes.map((c) => `${c.template} (plans ${c.keep} and ${c.duplicate})`).join(', ')}; cancel one first ("txplan plan cancel PLAN"), or add --yes to merge and keep both`,
        'duplicate_plans',
      );
    }
    const plans = planVersionsOf(store, duplicate.id);
    const before = { keep: patientHoldings(store, keep.id), duplicate: patientHoldings(store, duplicate.id) };
    return store.transaction(() => {
      const moved = mergePatientRows(store, keep, duplicate, plans, at);
      if (!moved) throw new FailedError(`Patient ${keep.id} or ${duplicate.id} changed while merging; nothing was merged — run the command again`, 'patient_changed');
      const after = patientHoldings(store, keep.id);
      const total = (h: PatientHoldings) => h.plans + h.charges + h.payment_methods;
      if (after.plans !== before.keep.plans + before.duplicate.plans || after.charges !== before.keep.charges + before.duplicate.charges || after.payment_methods !== before.keep.payment_methods + before.duplicate.payment_methods - moved.payment_methods_joined) {
        throw new FailedError(`The merge of patient ${duplicate.id} into ${keep.id} did not add up (${total(after)} records after, expected ${total(before.keep) + total(before.duplicate)}); nothing was merged`, 'merge_mismatch');
      }
      recordAudit(store, { at, actor: ctx.actor, action: 'patient.merge', entity: 'patient', entityId: keep.id, before: { merged: duplicate.id }, after: { merged_into: keep.id, moved } });
      return { keep, duplicate, moved, clashes };
    });
  });

  const { keep, duplicate, moved } = outcome;
  if (ctx.options.json) {
    ctx.json({ kept: keep.id, merged: duplicate.id, moved });
    return 0;
  }
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  const methods = moved.payment_methods_joined > 0 ? `${count(moved.payment_methods, 'payment method')} (${moved.payment_methods_joined} already on file)` : count(moved.payment_methods, 'payment method');
  ctx.out(`${ctx.color.green('✔')} Merged patient ${duplicate.id} (${fullName(duplicate)}) into patient ${ctx.color.bold(String(keep.id))} (${fullName(keep)}): moved ${count(moved.plans, 'plan')}, ${count(moved.charges, 'charge')}, ${methods}.`);
  ctx.out(`  Patient ${duplicate.id} now resolves to patient ${keep.id} wherever it is used.`);
  if (outcome.clashes.length > 0) ctx.err(`Note: patient ${keep.id} now has two active plans of ${outcome.clashes.map((c) => c.template).join(', ')}; cancel the one that is not wanted.`);
  return 0;
}

type OpenPlan = { id: number; template_id: string; status: string };

/** Templates both patients have a running (active, paused or past-due) plan of. */
function sameTemplateClashes(keep: readonly OpenPlan[], duplicate: readonly OpenPlan[]): Array<{ template: string; keep: number; duplicate: number }> {
  const running = (p: OpenPlan) => p.status === 'active' || p.status === 'paused' || p.status === 'past_due';
  const clashes: Array<{ template: string; keep: number; duplicate: number }> = [];
  for (const d of duplicate.filter(running)) {
    const k = keep.find((p) => running(p) && p.template_id === d.template_id);
    if (k) clashes.push({ template: d.template_id, keep: k.id, duplicate: d.id });
  }
  return clashes;
}

