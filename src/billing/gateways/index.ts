import { dirname, join } from 'node:path';
import type { ResolvedSettings } from '../../registry/settings.js';
import type { Environment } from '../../config.js';
import type { Gateway } from '../gateway.js';
import type { Store } from '../../store/store.js';
import { SqliteSandboxLedger } from '../../store/sandbox-ledger.js';
import { PostgresSandboxLedger } from '../../store/postgres/sandbox-ledger.js';
import { SandboxGateway } from './sandbox.js';
import { StripeGateway, stripeConfig } from './stripe.js';

export interface GatewayPlace {
  /** txplan's database: on PostgreSQL the sandbox keeps its ledger in the same server, in tables of its own. */
  store: Store;
  /** The SQLite database's file: the sandbox keeps its ledger beside it (.txplan/sandbox-gateway.db in a workspace). */
  databasePath: string;
  /** This database's random id: it names the database's charges at the processor. */
  databaseId: string;
  env: Pick<Environment, 'stripeApiBase' | 'stripeSecretKey'>;
  now?: () => Date;
}

/** The processor named by txplan.yaml `payments.gateway`. */
export function gatewayFor(settings: ResolvedSettings, place: GatewayPlace): Gateway {
  switch (settings.payments.gateway) {
    case 'stripe':
      return new StripeGateway(stripeConfig(settings, place.env), { databaseId: place.databaseId, ...(place.now ? { now: place.now } : {}) });
    case 'sandbox':
    default:
      return new SandboxGateway(
        place.store.kind === 'postgres' ? new PostgresSandboxLedger(place.store) : new SqliteSandboxLedger(join(dirname(place.databasePath), 'sandbox-gateway.db')),
        place.now,
      );
  }
}
