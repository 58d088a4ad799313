import { userInfo } from 'node:os';

/**
 * The one place that reads the process environment, so the rest of the code
 * gets its configuration passed in.
 */
export interface Environment {
  workspace: string | undefined;
  db: string | undefined;
  actor: string;
  noColor: boolean;
  editor: string | undefined;
  /** How long a command waits for a database another process is writing to (TXPLAN_DB_WAIT, seconds). */
  dbWaitSeconds?: number;
  /** TXPLAN_NOW as given: a simulated clock for rehearsals, demos and tests (parsed by the context). */
  clock?: string;
  /** TXPLAN_STRIPE_API_BASE: where the Stripe API is reached (stripe-mock, a test stand-in); overrides txplan.yaml. */
  stripeApiBase?: string;
  /**
   * STRIPE_SECRET_KEY, read only when the Stripe gateway is opened. A getter,
   * not a field: the key is never part of anything that prints or serialises
   * the environment.
   */
  readonly stripeSecretKey?: () => string | undefined;
  /**
   * The whole process environment, for ${VAR} in txplan.yaml's database URL.
   * A getter, like the key above, so nothing prints it by accident.
   */
  readonly variables?: () => Readonly<Record<string, string | undefined>>;
}

export function readEnvironment(env: NodeJS.ProcessEnv = process.env): Environment {
  return {
    workspace: nonEmpty(env.TXPLAN_WORKSPACE),
    db: nonEmpty(env.TXPLAN_DB),
    actor: nonEmpty(env.TXPLAN_ACTOR) ?? osUser(),
    // https://no-color.org: any non-empty value disables colour.
    noColor: nonEmpty(env.NO_COLOR) !== undefined,
    editor: nonEmpty(env.VISUAL) ?? nonEmpty(env.EDITOR),
    dbWaitSeconds: /^\d{1,5}$/.test(env.TXPLAN_DB_WAIT ?? '') ? Number(env.TXPLAN_DB_WAIT) : 60,
    clock: nonEmpty(env.TXPLAN_NOW),
    stripeApiBase: nonEmpty(env.TXPLAN_STRIPE_API_BASE),
    stripeSecretKey: () => nonEmpty(env.STRIPE_SECRET_KEY),
    variables: () => env,
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}
