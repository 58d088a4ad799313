import { billingFacts, billingPlansByIds } from '../store/plans.js';
import type { Store } from '../store/store.js';
import { feeForInstallment } from '../plans/view.js';
import type { BillablePlan } from './plan.js';
import type { BillingFacts, BillingPlanRow } from '../domain/records.js';

/** The billing plan's view of one plan, from its row and the facts read with its chunk. */
export function billableOf(plan: BillingPlanRow, fact: BillingFacts): BillablePlan {
  const installments = plan.type === 'monthly' ? (plan.months ?? 0) : 0;
  return {
    id: plan.id,
    status: plan.status,
    type: plan.type,
    start_date: plan.start_date,
    end_date: plan.end_date,
    billing_offset_months: plan.billing_offset_months,
    fees: Array.from({ length: installments }, (_, i) => feeForInstallment(fact.prices, i + 1) ?? 0),
    last_step_date: fact.lastStepDate,
    pending_steps: fact.pendingSteps,
    has_payment_method: fact.token !== null,
    cancelled_on: plan.cancelled_on,
    paused_on: plan.paused_on,
    dues_waived: plan.dues_waived === 1,
  };
}

/** The billing plan's view of one plan, read from the store (as written: call it after the plan's change is saved). */
export function billablePlan(store: Store, planId: number): BillablePlan {
  const [plan] = billingPlansByIds(store, [planId]);
  if (!plan) throw new Error(`plan ${planId} is not in the database`);
  return billableOf(plan, billingFacts(store, [planId]).get(planId)!);
}
