import { describe, expect, it } from 'vitest';
import { templateReference, templateVersionWords } from '../../src/domain/versions.js';

describe('template versions as people read them', () => {
  it('writes a stored template reference and version numbers as v3, leaving other values alone', () => {
    expect(templateReference('comprehensive-acne-resolution@3')).toBe('comprehensive-acne-resolution v3');
    expect(templateReference('no-version')).toBe('no-version');
    expect(templateVersionWords({ template: 'acne@12', status: 'active', schema_version: 15, version: 4, nested: [{ from_version: 2, template_version: 3 }] })).toEqual({
      template: 'acne v12',
      status: 'active',
      schema_version: 15,
      version: 4,
      nested: [{ from_version: 'v2', template_version: 'v3' }],
    });
    expect(templateVersionWords(null)).toBeNull();
    expect(templateVersionWords('acne@3')).toBe('acne@3');
  });
});
