import { describe, expect, it } from 'vitest';
import { statusChangeProblem } from '../../src/registry/write.js';

describe('statusChangeProblem', () => {
  it('lets a draft become active, and active and retired swap', () => {
    for (const [from, to] of [['draft', 'active'], ['active', 'retired'], ['retired', 'active'], ['active', 'active']] as const) {
      expect(statusChangeProblem('glow', from, to), `${from} → ${to}`).toBeUndefined();
    }
  });

  it('refuses going back to draft, and retiring a draft, each with the way forward', () => {
    expect(statusChangeProblem('glow', 'active', 'draft')).toBe('Template "glow" is active and cannot go back to draft; copy it into a new draft with "txplan template new NEW-ID --from glow"');
    expect(statusChangeProblem('glow', 'retired', 'draft')).toMatch(/^Template "glow" is retired and cannot go back to draft/);
    expect(statusChangeProblem('glow', 'draft', 'retired')).toBe('Template "glow" is a draft that was never applied, so there is nothing to retire; make it active with "txplan template status glow active", or delete templates/glow.yaml');
  });
});
