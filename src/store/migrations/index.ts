import type { Database } from 'better-sqlite3';
import { migration as m001 } from './001-clinics-patients-audit.js';
import { migration as m002 } from './002-plans-steps.js';
import { migration as m003 } from './003-billing.js';
import { migration as m004 } from './004-row-versions.js';
import { migration as m005 } from './005-database-id-charge-history.js';
import { migration as m006 } from './006-billing-lock-holder.js';
import { migration as m007 } from './007-cancellation-dues.js';
import { migration as m008 } from './008-services-performed.js';
import { migration as m009 } from './009-refunds.js';
import { migration as m010 } from './010-declined-starts.js';
import { migration as m011 } from './011-processor-customers.js';
import { migration as m012 } from './012-booking-revisions.js';
import { migration as m013 } from './013-patient-records.js';
import { migration as m014 } from './014-patient-notes.js';
import { migration as m015 } from './015-clinic-money-archive.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Forward-only, numbered; `PRAGMA user_version` records the last one applied. */
export const migrations: readonly Migration[] = [m001, m002, m003, m004, m005, m006, m007, m008, m009, m010, m011, m012, m013, m014, m015];

export const LATEST_VERSION = migrations[migrations.length - 1]!.version;
