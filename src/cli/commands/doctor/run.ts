import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { databaseLocationOf, openStore } from '../../store.js';
import { resolveWorkspace } from '../../workspace.js';
import { packageRoot } from '../../../paths.js';
import { TxplanError } from '../../../errors.js';
import type { Workspace } from '../../../registry/workspace.js';
import { readSettings, type ResolvedSettings } from '../../../registry/settings.js';
import type { Store } from '../../../store/store.js';
import type { PostgresEngine } from '../../../store/postgres/engine.js';
import { cronPathCheck, fail, fontsCheck, nodeCheck, ok, warn, type Check } from './checks.js';

/** The PATH cron gives a job (Debian, Ubuntu, RHEL): /usr/bin:/bin. */
const CRON_PATH = ['/usr/bin', '/bin'];

/**
 * `txplan doctor`: every check, one line each, with the fix for what fails.
 * Reads only: the database is opened read-only (never migrated here). Exits 1
 * when a check fails. Messages name files, settings and ids, never patient
 * data or secrets.
 */
export async function run(ctx: Context): Promise<number> {
  const checks: Check[] = [];
  checks.push(nodeCheck(process.versions.node, engines()));

  let workspace: Workspace | undefined;
  try {
    workspace = resolveWorkspace(ctx);
    checks.push(ok('workspace', workspace.root));
  } catch (error) {
    const [message, fix] = sentence(error);
    checks.push(fail('workspace', message, fix || 'run "txplan init DIR", or pass --workspace DIR'));
  }
  const settings = workspace ? readSettings(workspace) : undefined;

  checks.push(...(await databaseChecks(ctx, workspace, settings)));
  checks.push(await gatewayCheck(ctx, settings));
  checks.push(await gitCheck(workspace));
  const fonts = await import('../../../handout/fonts.js');
  checks.push(fontsCheck(fonts.handoutFontFiles(), fonts.fontPackageRoot));
  checks.push(cronPathCheck(CRON_PATH, resolve(process.argv[1] ?? 'txplan'), dirname(process.execPath)));

  // Time zones go after the workspace's settings, but the database checks produce them: keep one order.
  const order = ['node', 'workspace', 'database', 'migrations', 'gateway', 'git', 'fonts', 'timezones', 'billing-lock', 'last-billing-run', 'cron-path'];
  checks.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));

  const failed = checks.filter((c) => c.status === 'fail');
  if (ctx.options.json) {
    ctx.json({ ok: failed.length === 0, checks });
  } else if (ctx.tty) {
    const mark = { ok: ctx.color.green('✔'), warn: ctx.color.yellow('!'), fail: ctx.color.red('✖') };
    for (const c of checks) {
      ctx.out(`${mark[c.status]} ${LABELS[c.name] ?? c.name}: ${c.message}`);
      if (c.fix) ctx.out(`    ${ctx.color.dim('fix:')} ${c.fix}`);
    }
  } else {
    // Piped: one tab-separated line per check (status, name, message, fix), for grep and cut.
    for (const c of checks) ctx.out([c.status, c.name, c.message, c.fix].join('\t'));
  }
  if (failed.length > 0 && !ctx.options.json) ctx.err(`txplan: ${failed.length} check${failed.length === 1 ? '' : 's'} failed: ${failed.map((c) => c.name).join(', ')}`);
  return failed.length > 0 ? 1 : 0;
}

const LABELS: Record<string, string> = {
  node: 'Node',
  workspace: 'Workspace',
  database: 'Database',
  migrations: 'Migrations',
  gateway: 'Payment gateway',
  git: 'Git',
  fonts: 'Handout fonts',
  timezones: 'Time zones',
  'billing-lock': 'Billing lock',
  'last-billing-run': 'Last billing run',
  'cron-path': 'Cron PATH',
};

function engines(): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(resolve(packageRoot, 'package.json'), 'utf8')) as { engines?: { node?: string } };
    return pkg.engines?.node;
  } catch {
    return undefined;
  }
}

/** A txplan error's sentence split at its first "; " into the problem and the fix. */
function sentence(error: unknown): [message: string, fix: string] {
  if (!(error instanceof TxplanError)) return [`unexpected error (${error instanceof Error ? error.name : 'unknown'})`, 'run "txplan db check --debug" for details'];
  const at = error.message.indexOf('; ');
  return at < 0 ? [error.message, ''] : [error.message.slice(0, at), error.message.slice(at + 2)];
}

const notChecked = (name: string, why: string): Check => warn(name, `not checked: ${why}`, '');

async function databaseChecks(ctx: Context, workspace: Workspace | undefined, settings: ResolvedSettings | undefined): Promise<Check[]> {
  const checks: Check[] = [];
  const zones = (await import('../../../domain/dates.js')).isTimeZone;
  const workspaceZone = settings?.timezone;
  const zoneProblems: string[] = [];
  if (workspaceZone !== undefined && (workspaceZone === '' || !zones(workspaceZone))) zoneProblems.push(`timezone "${workspaceZone}" in txplan.yaml is not an IANA time zone`);
  const dependent = ['migrations', 'billing-lock', 'last-billing-run'];

  let location;
  try {
    location = databaseLocationOf(ctx, () => resolveWorkspace(ctx));
  } catch (error) {
    const [message, fix] = sentence(error);
    const noWorkspace = error instanceof TxplanError && error.code === 'no_workspace';
    checks.push(noWorkspace ? notChecked('database', 'no workspace (and no --db or TXPLAN_DB)') : fail('database', message, fix));
    checks.push(...dependent.map((name) => notChecked(name, 'no database')));
    checks.push(zoneCheck(zoneProblems, workspaceZone, undefined));
    return checks;
  }

  let store: Store;
  try {
    store = await openStore(ctx, { readonly: true });
  } catch (error) {
    const [message, fix] = sentence(error);
    const code = error instanceof TxplanError ? error.code : '';
    if (code === 'database_old' || code === 'database_too_new') {
      checks.push(ok('database', `${location.display} is reachable`));
      checks.push(fail('migrations', message, fix || 'upgrade txplan'));
    } else if (code === 'no_database') {
      checks.push(warn('database', `no database at ${location.display} yet`, 'it is made by the first command that writes, such as "txplan clinic add"; check the folder can be written'));
      checks.push(notChecked('migrations', 'no database yet'));
    } else {
      checks.push(fail('database', message, fix || 'check --db, TXPLAN_DB or database: in txplan.yaml, and that the database can be reached'));
      checks.push(notChecked('migrations', 'the database cannot be opened'));
    }
    checks.push(notChecked('billing-lock', 'the database cannot be opened'), notChecked('last-billing-run', 'the database cannot be opened'));
    checks.push(zoneCheck(zoneProblems, workspaceZone, undefined));
    return checks;
  }

  try {
    const { schemaHealth } = await import('../../../store/maintenance.js');
    const health = schemaHealth(store);
    const unwritable = location.engine === 'sqlite' ? (await import('../../../store/database.js')).readOnlyReason(location.path) : (store.engine as PostgresEngine).serverReadOnly ? 'the server lets this session only read (a standby server, or default_transaction_read_only)' : undefined;
    // Integrity, foreign keys and card numbers read every row: "txplan db check" does that, doctor stays quick.
    if (unwritable) checks.push(fail('database', `${location.display} can be read but not written: ${unwritable}`, location.engine === 'sqlite' ? 'make the database file and its folder writable by the user that runs txplan' : 'connect to the primary server with a login that may write'));
    else checks.push(ok('database', `${location.display} is reachable and writable${store.kind === 'postgres' ? ' (PostgreSQL)' : ''}`));

    const latest = store.kind === 'postgres' ? (await import('../../../store/postgres/migrations/index.js')).POSTGRES_LATEST : (await import('../../../store/migrations/index.js')).LATEST_VERSION;
    if (health.drift.length > 0) checks.push(fail('migrations', `schema ${health.schemaVersion}, but it differs from the one txplan's migrations build (${health.drift.length} difference${health.drift.length === 1 ? '' : 's'}): changed by hand`, '"txplan db check" lists them; undo the changes, or copy the data into a new database with "txplan db copy"'));
    else checks.push(ok('migrations', `schema ${health.schemaVersion} of ${latest}, no drift`));

    const { listClinics } = await import('../../../store/clinics.js');
    const clinics = listClinics(store, { all: false });
    const bad = clinics.filter((c) => c.timezone === '' || !zones(c.timezone));
    for (const clinic of bad) zoneProblems.push(`clinic ${clinic.id} has the time zone "${clinic.timezone}", which is not an IANA time zone`);
    checks.push(zoneCheck(zoneProblems, workspaceZone, clinics.length, bad.map((c) => c.id)));

    checks.push(await lockCheck(store, workspaceZone ?? 'UTC'));
    checks.push(await lastRunCheck(ctx, store));
  } finally {
    store.close();
  }
  return checks;
}

function zoneCheck(problems: readonly string[], workspaceZone: string | undefined, clinics: number | undefined, badClinics: readonly string[] = []): Check {
  if (problems.length > 0) {
    const fixes = [...(problems.some((p) => p.includes('txplan.yaml')) ? ['set timezone: in txplan.yaml to one such as Europe/London'] : []), ...badClinics.map((id) => `txplan clinic edit ${id} --timezone Area/City`)];
    return fail('timezones', problems.join('; '), fixes.join('; '));
  }
  const workspacePart = workspaceZone !== undefined ? `workspace default ${workspaceZone}` : 'no workspace default';
  return ok('timezones', clinics === undefined ? workspacePart : `${workspacePart}; ${clinics} clinic${clinics === 1 ? '' : 's'} with valid zones`);
}

async function lockCheck(store: Store, zone: string): Promise<Check> {
  const { billingLock, describeHolder } = await import('../../../billing/lock.js');
  const lock = billingLock(store);
  if (!lock) return ok('billing-lock', 'free');
  const held = describeHolder(lock, lock.state, zone);
  if (lock.state === 'stale') return warn('billing-lock', `left behind: ${held}`, 'nothing to do: the next billing run takes it over ("txplan billing unlock" removes it now)');
  if (lock.state === 'unknown') return warn('billing-lock', held, 'if no billing run is going on on that computer, "txplan billing unlock" removes it');
  return fail('billing-lock', `a billing run holds it: ${held}`, `wait for that run to end before billing again; if it hangs, stop process ${lock.pid}`);
}

async function lastRunCheck(ctx: Context, store: Store): Promise<Check> {
  const { lastBillingDay } = await import('../../../store/charges.js');
  const last = lastBillingDay(store);
  if (!last) return warn('last-billing-run', 'billing has never run here', 'normal on a new workspace; schedule "txplan billing run" daily (see examples/cron/)');
  const result = `${last.succeeded} paid, ${last.failed} declined${last.pending ? `, ${last.pending} unanswered` : ''}`;
  if (last.pending > 0) return warn('last-billing-run', `${last.day}: ${result}`, 'run "txplan billing reconcile" to settle the unanswered charges with the processor');
  const days = Math.floor((Date.parse(ctx.now().toISOString().slice(0, 10)) - Date.parse(last.day)) / 86_400_000);
  if (days > 2) return warn('last-billing-run', `${last.day} (${days} days ago): ${result}`, 'billing should run daily: check the cron job and its log (see examples/cron/)');
  return ok('last-billing-run', `${last.day}: ${result}`);
}

async function gatewayCheck(ctx: Context, settings: ResolvedSettings | undefined): Promise<Check> {
  if (!settings) return notChecked('gateway', 'no workspace');
  const gateway = settings.payments.gateway;
  if (gateway !== 'stripe') return ok('gateway', `${gateway} (simulated payments: no money moves)`);
  // The same checks the Stripe gateway makes before it sends anything; the key itself is never shown.
  const { stripeConfig } = await import('../../../billing/gateways/stripe.js');
  try {
    const config = stripeConfig(settings, ctx.env);
    return ok('gateway', `stripe (${config.mode} mode; STRIPE_SECRET_KEY is set)`);
  } catch (error) {
    const [message, fix] = sentence(error);
    return fail('gateway', message, fix);
  }
}

async function gitCheck(workspace: Workspace | undefined): Promise<Check> {
  const git = await import('../../../registry/git.js');
  if (!(await git.gitAvailable())) return fail('git', 'git is not installed', 'install git (apt install git, dnf install git, or from git-scm.com): templates are versioned with it');
  if (!workspace) return ok('git', 'git is installed (no workspace to look at)');
  const top = await git.gitTopLevel(workspace.root);
  if (!top) return fail('git', `${workspace.root} is not in a git repository: templates are not versioned and plans cannot name the commit they were made from`, `run "git init" in ${workspace.root} and commit the templates`);
  return ok('git', `the workspace is in the git repository ${top}`);
}
