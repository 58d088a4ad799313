#!/usr/bin/env node
// The floor for bench/validate.mjs: the least a validator must do — read each
// file, parse its YAML, check it against the template schema — with nothing
// else. Prints how many files were valid.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { Ajv2020 } from 'ajv/dist/2020.js';

const dir = process.argv[2];
const schema = JSON.parse(readFileSync(new URL('../schemas/template.schema.json', import.meta.url), 'utf8'));
const validate = new Ajv2020({ allErrors: true, allowUnionTypes: true }).compile(schema);
let valid = 0;
for (const name of readdirSync(dir).sort()) {
  if (!name.endsWith('.yaml')) continue;
  if (validate(parse(readFileSync(join(dir, name), 'utf8')))) valid++;
}
console.log(valid);
