import { parse } from 'yaml';
import type { Template } from '../generated/schema-types.js';
import { FailedError } from '../errors.js';
import { todayIn } from '../domain/dates.js';
import { contentHash } from '../domain/plan.js';
import { servicePrices } from '../domain/pricing.js';
import { fileHistory, fileProvenance } from '../registry/git.js';
import { getTemplate, type Registry } from '../registry/registry.js';
import { clinicZone } from '../store/clinics.js';
import { listPlans, getPlan } from '../store/plans.js';
import type { Store } from '../store/store.js';
import { isCustomised, revisePlan, type Actor, type Revision } from './lifecycle.js';
import { refuseDraft, unpricedFor } from './apply.js';

export interface RolloutTarget {
  template: Template;
  commit: string | null;
  dirty: boolean | null;
}

export interface RolloutResult {
  target: { id: string; version: number; commit: string | null };
  plans: Array<{ id: number; patient_id: number; from_version: number; revision?: Revision; skipped?: string }>;
}

/**
 * The template version to roll out: the file as it is, or — with a version
 * number — that version as git last recorded it.
 */
export async function rolloutTarget(registry: Registry, id: string, version: number | undefined): Promise<RolloutTarget> {
  const current = await getTemplate(registry.workspace, id);
  if (version === undefined || version === current.template.version) {
    // A draft is not ready for patients: no plan moves to it (refused before anything is read or written).
    refuseDraft(current.template);
    const provenance = await fileProvenance(current.file);
    return { template: current.template, commit: provenance.commit, dirty: provenance.dirty };
  }
  if (version > current.template.version) throw new FailedError(`Template "${id}" is at v${current.template.version}; there is no v${version} yet`, 'no_such_version');
  const seen: number[] = [];
  for (const { commit, content } of await fileHistory(current.file)) {
    let template: Template;
    try {
      template = parse(content.toString('utf8')) as Template;
    } catch {
      continue;
    }
    if (typeof template?.version !== 'number') continue;
    seen.push(template.version);
    if (template.version === version) {
      refuseDraft(template);
      return { template, commit, dirty: false };
    }
  }
  const known = [...new Set(seen)].sort((a, b) => a - b);
  throw new FailedError(`Template "${id}" has no v${version} in its git history${known.length ? ` (committed: ${known.map((v) => `v${v}`).join(', ')})` : ' (it has no committed history)'}; roll out a committed version`, 'no_such_version');
}

/**
 * Moves the running plans of a template (active, paused, past due) to the
 * target version on purpose. Plans customised for their patient are left
 * alone and reported, so nobody's adjustments are overwritten silently.
 */
export function rollout(store: Store, registry: Registry, target: RolloutTarget, options: { dryRun: boolean; allowDuplicate?: boolean }, who: Actor): RolloutResult {
  const { template } = target;
  const source = { version: template.version, hash: contentHash(template), commit: target.commit, dirty: target.dirty };
  const candidates = (['active', 'paused', 'past_due'] as const).flatMap((status) => listPlans(store, { templateId: template.id, status }));
  candidates.sort((a, b) => a.id - b.id);
  const result: RolloutResult = { target: { id: template.id, version: template.version, commit: target.commit }, plans: [] };
  // What the rollout read: each plan is moved only if it is still this version when written.
  const read = candidates.map((summary) => getPlan(store, summary.id)).filter((plan) => plan !== undefined);
  // A patient holding two plans of the template (running or prescribed) is a slip to look at before either moves.
  const holding = new Map<number, number[]>();
  for (const plan of [...candidates, ...listPlans(store, { templateId: template.id, status: 'prescribed' })]) holding.set(plan.patient_id, [...(holding.get(plan.patient_id) ?? []), plan.id]);
  const work = () => {
    for (const plan of read) {
      const entry = { id: plan.id, patient_id: plan.patient_id, from_version: plan.template_version };
      if (plan.template_version >= template.version) continue;
      const held = holding.get(plan.patient_id) ?? [];
      if (held.length > 1 && !options.allowDuplicate) {
        result.plans.push({ ...entry, skipped: `patient ${plan.patient_id} holds ${held.length} plans of ${template.id} (plans ${held.sort((a, b) => a - b).join(', ')}); cancel the one not wanted, or roll out with --allow-duplicate` });
        continue;
      }
      if (isCustomised(plan)) {
        result.plans.push({ ...entry, skipped: `customised for its patient; review it with "txplan plan show ${plan.id}" and change it with "txplan plan edit ${plan.id}"` });
        continue;
      }
      if (plan.type !== template.type) {
        result.plans.push({ ...entry, skipped: `the template changed from ${plan.type} to ${template.type}; a plan cannot change type` });
        continue;
      }
      const unpriced = unpricedFor(plan, template, registry, registry.settings.currency, `v${template.version}`);
      if (unpriced) {
        result.plans.push({ ...entry, skipped: unpriced.replace(/^plan \d+ /, '') });
        continue;
      }
      const zone = clinicZone(store, plan.clinic_id, registry.settings.timezone);
      const prices = servicePrices(template, registry.services, { currency: plan.currency, workspace: registry.settings.currency });
      try {
        const revision = revisePlan(store, plan, template, { today: todayIn(zone, who.now), currency: plan.currency, action: 'plan.rollout', source, servicePrices: prices, write: !options.dryRun }, who);
        result.plans.push({ ...entry, revision });
      } catch (error) {
        // Changed by someone else since it was read (its own write is rolled back): reported, never overwritten.
        if ((error as FailedError).code !== 'conflict') throw error;
        result.plans.push({ ...entry, skipped: `${(error as FailedError).message.replace(/; nothing was saved$/, '')}, so it was left as it is; roll out again to move it` });
      }
    }
  };
  if (options.dryRun) work();
  else store.transaction(work);
  return result;
}
