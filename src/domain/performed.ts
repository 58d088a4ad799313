import { suggestions } from './text.js';

/**
 * Which services a visit delivered. A step lists its planned services and,
 * when the template offers them, alternatives the provider may choose
 * instead. Recording a visit says what was done; the rule here decides what
 * a clinic may record:
 *
 * - every service is a catalog id (or one the plan already prices);
 * - a step with alternatives records its choice: at least one of the planned
 *   services or of the alternatives (anything else done at the same visit
 *   goes beside it);
 * - a step without alternatives may record any catalog services: the
 *   clinician did something else than planned.
 */

export interface StepOffer {
  n: number;
  services: readonly string[];
  alternatives: readonly string[];
}

export interface PerformedProblem {
  code: 'unknown_service' | 'not_a_choice' | 'choice_required';
  message: string;
}

/** "mandelic-peel (as planned), or instead salicylic-peel or jessners-peel". */
export function describeChoices(step: StepOffer): string {
  return `${step.services.join(' + ')} (as planned), or instead ${step.alternatives.join(' or ')}`;
}

/** Why `performed` cannot be recorded for the step, or undefined when it can. `known` are the ids a visit may name. */
export function checkPerformed(planId: number, step: StepOffer, performed: readonly string[], known: readonly string[]): PerformedProblem | undefined {
  const knownSet = new Set(known);
  for (const id of performed) {
    if (knownSet.has(id)) continue;
    const near = suggestions(id, [...knownSet].sort());
    return {
      code: 'unknown_service',
      message: `"${id}" is not a service in the catalog${near.length ? `; the closest are ${near.map((n) => `"${n}"`).join(', ')}` : ''} ("txplan catalog list" shows them all)`,
    };
  }
  if (performed.length === 0) return { code: 'choice_required', message: `Say which services step ${step.n} of plan ${planId} delivered with --service` };
  if (step.alternatives.length === 0) return undefined;
  const choices = new Set([...step.services, ...step.alternatives]);
  if (performed.some((id) => choices.has(id))) return undefined;
  const listed = performed.map((id) => `"${id}"`).join(', ');
  return {
    code: 'not_a_choice',
    message: `Step ${step.n} of plan ${planId} offers ${describeChoices(step)}; ${listed} ${performed.length === 1 ? 'is' : 'are'} none of these, so say which of them was performed with --service, and add ${performed.join(', ')} as another --service if it was done as well`,
  };
}

/** Off a terminal, a visit whose price depends on the alternative chosen must say which one was performed. */
export function choiceRequired(planId: number, step: StepOffer): PerformedProblem {
  return {
    code: 'choice_required',
    message: `Step ${step.n} of plan ${planId} offers ${describeChoices(step)}, and its price depends on which was performed; say which with --service (e.g. --service ${step.alternatives[0] ?? step.services[0]})`,
  };
}

/** The services a step delivered: those recorded when it was done, else the planned ones. */
export function performedOf(step: { services: string; performed: string | null }): string[] {
  return JSON.parse(step.performed ?? step.services) as string[];
}

/** Whether what was performed differs from what was planned (order aside). */
export function differsFromPlan(step: { services: string; performed: string | null }): boolean {
  if (step.performed === null) return false;
  const planned = [...(JSON.parse(step.services) as string[])].sort();
  const done = [...performedOf(step)].sort();
  return planned.length !== done.length || planned.some((id, i) => id !== done[i]);
}
