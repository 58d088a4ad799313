import type { Migration } from './index.js';

/**
 * A processor with customers (Stripe) saves a patient's cards to one
 * customer made for that patient: its id is kept with each payment method
 * saved to it, so the customer is made once and every charge names it.
 */
export const migration: Migration = {
  version: 11,
  name: 'processor customers of payment methods',
  up: (db) => {
    db.exec(`
      ALTER TABLE payment_methods ADD COLUMN customer TEXT;
      CREATE INDEX payment_methods_customer ON payment_methods (patient_id, customer) WHERE customer IS NOT NULL;
    `);
  },
};
