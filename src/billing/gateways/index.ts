import { dirname, join } from 'node:path';
import type { ResolvedSettings } from '../../registry/settings.js';
import type { Gateway } from '../gateway.js';
import { SandboxGateway } from './sandbox.js';
import { FailedError } from '../../errors.js';

/**
 * The processor named by txplan.yaml `payments.gateway`. The sandbox keeps its
 * ledger beside the database (.txplan/sandbox-gateway.db in a workspace).
 */
export function gatewayFor(settings: ResolvedSettings, databasePath: string, now?: () => Date): Gateway {
  switch (settings.payments.gateway) {
    case 'sandbox':
      return new SandboxGateway(join(dirname(databasePath), 'sandbox-gateway.db'), now);
    default:
      throw new FailedError(`The "${settings.payments.gateway}" gateway is not available in this version of txplan; set payments.gateway: sandbox in txplan.yaml`, 'gateway_unavailable');
  }
}
