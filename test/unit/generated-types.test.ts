import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers.js';

describe('types generated from the schemas', () => {
  it('are current: the committed file equals a fresh generation', async () => {
    const { generate } = (await import(join(repoRoot, 'scripts', 'gen-types.mjs'))) as { generate(): Promise<string> };
    expect(readFileSync(join(repoRoot, 'src', 'generated', 'schema-types.ts'), 'utf8')).toBe(await generate());
  });
});
