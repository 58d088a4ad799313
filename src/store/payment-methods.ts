import type { Store } from './store.js';
import type { PaymentMethodRow } from '../domain/records.js';

/** Stores the token for the patient (once) and returns its row id. */
export function savePaymentMethod(store: Store, method: Omit<PaymentMethodRow, 'id' | 'customer'> & { customer?: string | null }): number {
  store
    .statement(
      `INSERT INTO payment_methods (patient_id, token, brand, last4, exp_month, exp_year, customer, created_at)
       VALUES (@patient_id, @token, @brand, @last4, @exp_month, @exp_year, @customer, @created_at)
       ON CONFLICT (patient_id, token) DO NOTHING`,
    )
    .run({ ...method, customer: method.customer ?? null });
  return store.statement<[number, string], { id: number }>('SELECT id FROM payment_methods WHERE patient_id = ? AND token = ?').get(method.patient_id, method.token)!.id;
}

export function getPaymentMethod(store: Store, id: number): PaymentMethodRow | undefined {
  return store.statement<[number], PaymentMethodRow>('SELECT * FROM payment_methods WHERE id = ?').get(id);
}

/** The payment method a patient saved last, if any. */
export function latestPaymentMethod(store: Store, patientId: number): PaymentMethodRow | undefined {
  return store.statement<[number], PaymentMethodRow>('SELECT * FROM payment_methods WHERE patient_id = ? ORDER BY id DESC LIMIT 1').get(patientId);
}

/** The patients a token is saved for. */
export function tokenOwners(store: Store, token: string): number[] {
  return store.statement<[string], { patient_id: number }>('SELECT patient_id FROM payment_methods WHERE token = ? ORDER BY patient_id').all(token).map((r) => r.patient_id);
}

/** What may be shown of the card behind a token (brand and last four), if a patient saved it. */
export function cardOfToken(store: Store, token: string): Pick<PaymentMethodRow, 'brand' | 'last4'> | undefined {
  return store.statement<[string], Pick<PaymentMethodRow, 'brand' | 'last4'>>('SELECT brand, last4 FROM payment_methods WHERE token = ? ORDER BY id DESC LIMIT 1').get(token);
}

/** The processor's customer made for a patient, if one was (the one their saved payment methods share). */
export function customerOf(store: Store, patientId: number): string | null {
  return store.statement<[number], { customer: string }>('SELECT customer FROM payment_methods WHERE patient_id = ? AND customer IS NOT NULL ORDER BY id LIMIT 1').get(patientId)?.customer ?? null;
}
