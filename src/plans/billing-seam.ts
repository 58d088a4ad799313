import type { Store } from '../store/store.js';

/**
 * Where plan changes meet money. Lifecycle operations call it at the points
 * SPEC §5 charges (a monthly program's start, a pay-as-you-go visit, an early
 * cancellation); the billing module supplies the implementation that charges.
 */
export interface Billing {
  /** After a plan became active: installment 1 of a monthly plan is due now. */
  programStarted(store: Store, planId: number): Promise<void>;
  /**
   * After step `stepN` of a plan was marked done (its transaction committed):
   * a pay-as-you-go plan charges the step's services now (SPEC §5).
   */
  stepDone(store: Store, planId: number, stepN: number): Promise<void>;
}

/** Until a gateway charges, starting a program or finishing a visit records it and charges nothing. */
export const noBilling: Billing = {
  async programStarted() {},
  async stepDone() {},
};
