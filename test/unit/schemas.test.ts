import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers.js';

const schemaDir = join(repoRoot, 'schemas');
const schemas = readdirSync(schemaDir).filter((n) => n.endsWith('.schema.json'));

/** Every property schema, with its path, for the editor-help check. */
function properties(node: unknown, path: string, out: Array<[string, Record<string, unknown>]>): void {
  if (!node || typeof node !== 'object') return;
  const schema = node as Record<string, unknown>;
  for (const [name, child] of Object.entries((schema.properties as Record<string, unknown>) ?? {})) {
    out.push([`${path}.${name}`, child as Record<string, unknown>]);
    properties(child, `${path}.${name}`, out);
  }
  for (const [name, child] of Object.entries((schema.$defs as Record<string, unknown>) ?? {})) properties(child, `${path}/$defs/${name}`, out);
  if (schema.items) properties(schema.items, `${path}[]`, out);
}

describe('schemas', () => {
  it('are draft 2020-12 with an $id, closed to unknown keys', () => {
    expect(schemas.sort()).toEqual(['catalog.schema.json', 'settings.schema.json', 'template.schema.json']);
    for (const name of schemas) {
      const schema = JSON.parse(readFileSync(join(schemaDir, name), 'utf8')) as Record<string, unknown>;
      expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
      expect(schema.$id).toMatch(new RegExp(`/${name.replace('.', '\\.')}$`));
      expect(schema.additionalProperties).toBe(false);
    }
  });

  it('describe every property, so editors show help', () => {
    const missing: string[] = [];
    for (const name of schemas) {
      const found: Array<[string, Record<string, unknown>]> = [];
      properties(JSON.parse(readFileSync(join(schemaDir, name), 'utf8')), name, found);
      expect(found.length).toBeGreaterThan(3);
      for (const [path, schema] of found) if (typeof schema.description !== 'string' || schema.description.length < 5) missing.push(path);
    }
    expect(missing).toEqual([]);
  });

  it('are named by the yaml-language-server line of every YAML file in the repository', () => {
    const yamlFiles = ['txplan.yaml', 'catalog.yaml', ...readdirSync(join(repoRoot, 'templates')).map((n) => `templates/${n}`)];
    for (const file of yamlFiles) {
      const first = readFileSync(join(repoRoot, file), 'utf8').split('\n')[0]!;
      const target = /^# yaml-language-server: \$schema=(\S+)$/.exec(first)?.[1];
      expect(target, file).toBeDefined();
      expect(readdirSync(join(repoRoot, file, '..', target!, '..'))).toContain(target!.split('/').pop());
    }
  });
});
