#!/usr/bin/env node
// The floor for bench/apply.mjs: what applying one template to many patients
// must at least cost — look each patient up by MRN and insert the same plan,
// step and audit rows, with txplan's pragmas, in one transaction. Nothing else.
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { parse } from 'yaml';

const [dbPath, templatePath, listPath] = process.argv.slice(2);
const template = parse(readFileSync(templatePath, 'utf8'));
const snapshot = JSON.stringify(template);
const mrns = readFileSync(listPath, 'utf8').split('\n').filter(Boolean);
const db = new Database(dbPath);
db.pragma('busy_timeout = 5000');
db.pragma('journal_mode = WAL');
db.pragma('synchronous = FULL');
db.pragma('foreign_keys = ON');
const now = new Date().toISOString();
const byMrn = db.prepare('SELECT id FROM patients WHERE mrn = ?').pluck();
const plan = db.prepare(`INSERT INTO plans (patient_id, clinic_id, template_id, template_version, template_hash, template_commit, template_dirty, name, type, status, snapshot, currency, created_at, updated_at)
  VALUES (?, NULL, ?, ?, 'hash', NULL, NULL, ?, ?, 'prescribed', ?, 'USD', ?, ?)`);
const step = db.prepare(`INSERT INTO steps (plan_id, n, when_unit, when_value, services, alternatives, note, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')`);
const audit = db.prepare(`INSERT INTO audit (at, actor, action, entity, entity_id, before, after) VALUES (?, 'bench', 'plan.prescribe', 'plan', ?, NULL, ?)`);
db.transaction(() => {
  for (const mrn of mrns) {
    const patientId = byMrn.get(mrn);
    const id = plan.run(patientId, template.id, template.version, template.name, template.type, snapshot, now, now).lastInsertRowid;
    template.schedule.forEach((entry, i) => {
      const unit = entry.when.week !== undefined ? 'week' : 'month';
      step.run(id, i + 1, unit, entry.when[unit], JSON.stringify(entry.services), entry.alternatives ? JSON.stringify(entry.alternatives) : null, entry.note ?? null);
    });
    audit.run(now, String(id), JSON.stringify({ patient_id: patientId, template: `${template.id}@${template.version}`, status: 'prescribed' }));
  }
})();
db.close();
