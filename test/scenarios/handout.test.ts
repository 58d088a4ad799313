import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { git, tempDir, txplan, workspace } from '../helpers.js';
import { pdfText } from '../pdf-text.js';

const ACNE = 'comprehensive-acne-resolution';
const TIGHTENING = 'comprehensive-skin-tightening';
const RECOVERY = 'post-procedure-recovery';
/** A 1×1 transparent PNG: a photo taken at a visit. */
const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8ffff3f0005fe02fea7d6a4b20000000049454e44ae426082', 'hex');

/** A committed workspace with a clinic and four patients whose names need more than ASCII. */
function clinic() {
  const ws = workspace();
  git(ws, 'add', '-A');
  git(ws, 'commit', '-qm', 'starter library');
  // Plans are entered on their start date (TXPLAN_NOW): a backdated start would charge every installment already due.
  const run = (...args: string[]) => txplan(args, { cwd: ws, ...(args[1] === 'apply' && args.includes('--start') ? { env: { TXPLAN_NOW: args[args.indexOf('--start') + 1]! } } : {}) });
  const ok = (...args: string[]) => {
    const result = run(...args);
    if (result.code !== 0) throw new Error(`txplan ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
    return result;
  };
  ok('clinic', 'add', 'downtown', '--name', 'Lumen Downtown', '--timezone', 'America/New_York', '--address', '120 Main Street, Suite 4', '--phone', '+1 555 010 0100');
  ok('patient', 'add', '--first', 'Zoë', '--last', 'Ødegård', '--mrn', 'A-1001');
  ok('patient', 'add', '--first', 'José', '--last', 'Núñez', '--mrn', 'A-1002');
  ok('patient', 'add', '--first', 'Łukasz', '--last', 'Żółć', '--mrn', 'A-1003');
  ok('patient', 'add', '--first', 'Ярослава', '--last', 'Коваленко', '--mrn', 'A-1004');
  return { ws, run, ok };
}

/** Sections in the order the issue asks for them. */
function expectInOrder(text: string, needles: readonly string[]): void {
  let from = 0;
  for (const needle of needles) {
    const at = text.indexOf(needle, from);
    expect(at, `"${needle}" after position ${from}`).toBeGreaterThanOrEqual(0);
    from = at + needle.length;
  }
}

const noStackTrace = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);

describe('txplan handout', () => {
  it('prints every section of a started monthly plan, in order, with the footer on every page', async () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    // A visit with a photo: kept in .txplan/attachments on SQLite, in the database on PostgreSQL; the handout is made either way.
    writeFileSync(join(c.ws, 'baseline.png'), PNG);
    c.ok('plan', 'step', '--yes', '1', '1', '--done', '--date', '2025-03-03', '--patient-note', 'Baseline photos taken', '--outcome', 'Moderate inflammatory acne, no cysts', '--photo', 'baseline.png');
    c.ok('plan', 'book', '1', '3', '--at', '2025-05-05 14:30');

    const result = c.run('handout', '1');
    expect(result.code).toBe(0);
    const file = join(c.ws, 'plan-1.pdf');
    expect(result.stdout).toBe(`✔ Wrote the handout of plan 1 (4 pages, US Letter) to ${file}\n`);
    expect(result.stderr).toBe('');
    // Health data: private to its owner, like the database.
    expect(statSync(file).mode & 0o777).toBe(0o600);

    const pdf = await pdfText(file);
    expect(pdf.size).toEqual([612, 792]);
    expectInOrder(pdf.text, [
      // Clinic header, patient and plan title
      'Lumen Downtown',
      '120 Main Street, Suite 4 · +1 555 010 0100',
      'Zoë Ødegård',
      'Comprehensive Acne Resolution',
      'Active',
      // Goal and description
      'Clear active acne and reduce scarring within 6 months',
      'For moderate to severe inflammatory acne with early scarring.',
      // Duration with start and end dates
      'Duration 6 months Starts Mar 3, 2025 Ends Sep 3, 2025 Price $249.00 × 6 months',
      // Schedule table: step, recommended date, booking, services, notes, mark
      'Treatment schedule',
      '# Recommended Booked Services Notes Status',
      '1 Month 1 Mar 3, 2025 — Deep Cleansing Facial Extractions (add-on) Salicylic Acid Peel Baseline photos.',
      'Visit note: Baseline photos taken Outcome: Moderate inflammatory acne, no cysts Done Mar 3, 2025',
      '3 Month 3 May 3, 2025 May 5, 2025 2:30 PM Progress Assessment Microneedling',
      'Upcoming',
      '4 Month 4 Jun 3, 2025 — Mandelic Acid Peel or Salicylic Acid Peel, Jessner\'s Peel',
      // Home care by time of day, product names from the catalog
      'Home care',
      'Morning (AM) 1 Salicylic Acid 2% Clarifying Cleanser Gentle cleanser with BHA',
      'Evening (PM) 1 Apply the topical medication prescribed by your provider',
      'Once a week 1 Clarifying Clay Mask Weekly clarifying mask for 10 minutes',
      'Expected milestones',
      'Month 3 around May 3, 2025 Active lesions reduced by half.',
      'Follow-up recommendations',
      'Month 6 around Aug 3, 2025 Final assessment and maintenance planning',
      // Payment: fee × installments, paid so far, next charge
      'Payment summary',
      'Monthly fee $249.00 × 6 months $1,494.00 in total',
      'Paid so far $249.00 1 of 6 installments',
      'Next charge $249.00 due since Apr 1, 2025 Installment 2 of 6',
      'Payment method Visa ending in 4242',
      // A started program with a minimum term: terms and a signature block
      'Cancellation terms',
      'This program has a minimum term of 3 months, until Jun 3, 2025.',
      'If you cancel before Jun 3, 2025, an early cancellation fee of $150.00 is charged.',
      'Patient agreement',
      'I have read this treatment plan',
      'Patient signature · Zoë Ødegård Date Clinic representative Date',
    ]);
    pdf.pages.forEach((page, i) => {
      expect(page).toContain(`Page ${i + 1} of 4`);
      expect(page).toMatch(/Plan 1 · Template comprehensive-acne-resolution v3 · Generated [A-Z][a-z]{2} \d{1,2}, \d{4}/);
    });
    // Every page after the first names the clinic and the patient at the top.
    expect(pdf.pages[1]).toMatch(/^Lumen Downtown Zoë Ødegård · Comprehensive Acne Resolution/);
    expect(pdf.fonts).toEqual(['NotoSans-Bold', 'NotoSans-Italic', 'NotoSans-Regular', 'NotoSans-SemiBold']);
  });

  it('prints a pay-as-you-go plan with the price of each visit, and no terms to sign', async () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1002', RECOVERY, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    c.ok('plan', 'step', '--yes', '1', '2', '--skip', '--date', '2025-03-10', '--patient-note', 'Patient travelling');
    const result = c.run('handout', '1', '-o', 'recovery.pdf', '--json');
    expect(result.code).toBe(0);
    const json = JSON.parse(result.stdout);
    expect(json).toEqual({ id: 1, file: join(c.ws, 'recovery.pdf'), pages: expect.any(Number), paper: 'letter', notes: [] });

    const pdf = await pdfText(json.file);
    expect(pdf.pages).toHaveLength(json.pages);
    expectInOrder(pdf.text, [
      'Lumen Downtown',
      'José Núñez',
      'Post-Procedure Recovery Protocol',
      'Support optimal healing and maximize results following laser resurfacing',
      'Duration 4 months Starts Mar 3, 2025 Ends Jul 3, 2025 Price Per visit',
      'Treatment schedule',
      '2 Week 2 Mar 10, 2025 — Gentle Hydrating Facial LED Therapy (red and near-infrared)',
      'Visit note: Patient travelling Skipped Mar 10, 2025',
      'Home care',
      'Morning (AM) 1 Gentle Hydrating Cleanser',
      'Evening (PM)',
      'As needed 1 Healing Ointment',
      'Expected milestones',
      'Week 2 around Mar 10, 2025 Peeling and crusting have settled',
      'Follow-up recommendations',
      'Payment summary',
      'How you pay Each visit when it is delivered, at the price listed below',
      'Paid so far $0.00',
      'All visits $180.00 4 visits',
      'Price per visit',
      'Visit When Services Price',
      '1 Week 1, Mar 3, 2025 Post-Procedure Check-In Complimentary',
      '2 Week 2, Mar 10, 2025 Gentle Hydrating Facial, LED Therapy (red and near-infrared) $180.00',
      `Page ${json.pages} of ${json.pages}`,
    ]);
    expect(pdf.text).not.toContain('Cancellation terms');
    expect(pdf.text).not.toContain('Patient agreement');
  });

  it('prints names in Latin Extended and Cyrillic as written, in the embedded font', async () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', TIGHTENING, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    c.ok('plan', 'apply', 'A-1002', ACNE, '--mode', 'prescribe');
    c.ok('plan', 'apply', 'A-1003', RECOVERY, '--mode', 'prescribe');
    c.ok('plan', 'apply', 'A-1004', RECOVERY, '--mode', 'prescribe');
    const names = ['Zoë Ødegård', 'José Núñez', 'Łukasz Żółć', 'Ярослава Коваленко'];
    for (const [i, name] of names.entries()) {
      expect(c.run('handout', String(i + 1)).code).toBe(0);
      const pdf = await pdfText(join(c.ws, `plan-${i + 1}.pdf`));
      expect(pdf.pages[0]).toContain(`Prepared for ${name}`);
      expect(pdf.fonts.every((f) => f.startsWith('NotoSans-'))).toBe(true);
    }
    // A prescribed plan says what that means, and has no dates yet.
    const prescribed = await pdfText(join(c.ws, 'plan-2.pdf'));
    expect(prescribed.text).toContain('Prescribed');
    expect(prescribed.text).toContain('Nothing is booked or charged until you decide to start the program');
    expect(prescribed.text).toContain('Starts When you start Ends 6 months later');
    expect(prescribed.text).toContain('Next charge None until the program starts');
    expect(prescribed.text).not.toContain('Patient agreement');
  });

  it('numbers the pages of a plan long enough for three, repeating the schedule header on each page', async () => {
    const c = clinic();
    const steps = Array.from({ length: 12 }, (_, i) => [
      `  - when: { week: ${2 * i + 1} }`,
      '    services: [glycolic-peel]',
      `    note: Peel ${i + 1} of 12. Check tolerance and adjust the strength; photos every fourth visit.`,
    ]).flat();
    writeFileSync(
      join(c.ws, 'templates', 'long-peel-course.yaml'),
      [
        '# yaml-language-server: $schema=../schemas/template.schema.json',
        'id: long-peel-course',
        'version: 1',
        'name: Long Peel Course',
        'type: pay-as-you-go',
        'status: active',
        'goal: Even tone after a long course of gentle peels',
        'duration: { weeks: 26 }',
        'schedule:',
        ...steps,
        'home_care:',
        '  - product: gentle-cleanser',
        '    when: [am, pm]',
        '    instructions: Morning and night.',
        '',
      ].join('\n'),
    );
    expect(c.run('template', 'validate', 'templates/long-peel-course.yaml').code).toBe(0);
    c.ok('plan', 'apply', 'A-1003', 'long-peel-course', '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    const result = c.run('handout', '1', '--json');
    expect(JSON.parse(result.stdout).pages).toBe(3);
    const pdf = await pdfText(join(c.ws, 'plan-1.pdf'));
    expect(pdf.pages.map((page) => /Page (\d) of (\d)/.exec(page)?.slice(1))).toEqual([['1', '3'], ['2', '3'], ['3', '3']]);
    const schedulePages = pdf.pages.filter((page) => page.includes('# Recommended Booked Services Notes Status'));
    expect(schedulePages.length).toBe(2);
    expect(schedulePages[1]).toContain('Treatment schedule, continued # Recommended Booked Services Notes Status');
    // Every step is there once, none cut at a page break.
    for (let n = 1; n <= 12; n++) expect(pdf.text.split(`Peel ${n} of 12. Check tolerance and adjust the strength; photos every fourth visit.`)).toHaveLength(2);
  });

  it('gives byte-identical PDFs for the same plan on the same day', () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    expect(c.run('handout', '1', '-o', 'a.pdf').code).toBe(0);
    expect(c.run('handout', '1', '-o', 'b.pdf').code).toBe(0);
    const a = readFileSync(join(c.ws, 'a.pdf'));
    expect(Buffer.compare(a, readFileSync(join(c.ws, 'b.pdf')))).toBe(0);
    expect(a.subarray(0, 8).toString('latin1')).toBe('%PDF-1.3');
  });

  it('takes the paper size from txplan.yaml, and --paper over it', async () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', RECOVERY, '--mode', 'prescribe');
    const settings = join(c.ws, 'txplan.yaml');
    writeFileSync(settings, readFileSync(settings, 'utf8').replace(/^paper: .*$/m, 'paper: a4'));
    expect(c.run('handout', '1', '-o', 'a4.pdf').stdout).toContain('(3 pages, A4)');
    expect((await pdfText(join(c.ws, 'a4.pdf'))).size).toEqual([595.28, 841.89]);
    expect(c.run('handout', '1', '-o', 'letter.pdf', '--paper', 'letter').code).toBe(0);
    expect((await pdfText(join(c.ws, 'letter.pdf'))).size).toEqual([612, 792]);
  });

  it('prints one PDF per plan in a status; one failing plan is reported, the others still print, exit 1', () => {
    const c = clinic();
    for (const mrn of ['A-1001', 'A-1002', 'A-1003']) c.ok('plan', 'apply', mrn, ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    c.ok('plan', 'apply', 'A-1004', RECOVERY, '--mode', 'prescribe');
    const out = join(c.ws, 'handouts');
    mkdirSync(out);
    writeFileSync(join(out, 'plan-2.pdf'), 'not ours');

    const result = c.run('handout', '--status', 'active', '--out-dir', 'handouts');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`✖ plan 2: ${join(out, 'plan-2.pdf')} already exists; choose another file or add --force to replace it\n`);
    expect(result.stdout).toBe(`✔ Wrote 2 handouts (6 pages, US Letter) to ${out}\n✖ 1 of 3 handouts failed; see the messages above\n`);
    expect(readdirSync(out).sort()).toEqual(['plan-1.pdf', 'plan-2.pdf', 'plan-3.pdf']);
    expect(readFileSync(join(out, 'plan-2.pdf'), 'utf8')).toBe('not ours');

    const json = c.run('handout', '--status', 'active', '--out-dir', 'handouts', '--json');
    expect(json.code).toBe(1);
    const doc = JSON.parse(json.stdout);
    expect(doc.handouts).toEqual([]);
    expect(doc.failed.map((f: { id: number; error: { code: string } }) => [f.id, f.error.code])).toEqual([[1, 'file_exists'], [2, 'file_exists'], [3, 'file_exists']]);

    const forced = c.run('handout', '--status', 'active', '--out-dir', 'handouts', '--force', '--json');
    expect(forced.code).toBe(0);
    expect(JSON.parse(forced.stdout)).toMatchObject({ status: 'active', out_dir: out, paper: 'letter', failed: [], handouts: [{ id: 1, file: join(out, 'plan-1.pdf'), pages: 3 }, { id: 2 }, { id: 3 }] });
    expect(readFileSync(join(out, 'plan-2.pdf')).subarray(0, 5).toString()).toBe('%PDF-');

    // The prescribed plan prints with its own status, into a folder made for it.
    const prescribed = c.run('handout', '--status', 'prescribed', '--out-dir', 'new/folder');
    expect(prescribed.code).toBe(0);
    expect(readdirSync(join(c.ws, 'new', 'folder'))).toEqual(['plan-4.pdf']);
    const none = c.run('handout', '--status', 'cancelled', '--out-dir', 'handouts');
    expect(none).toMatchObject({ code: 0, stdout: 'No cancelled plans: no handouts written.\n', stderr: '' });
  });

  it('refuses bad input with one clear sentence and the right exit code', () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    writeFileSync(join(c.ws, 'a-file'), 'x');
    const cases: Array<[string[], number, RegExp]> = [
      [['handout', '99'], 1, /^txplan: No plan 99; "txplan plan list --patient P" lists a patient's plans\n$/],
      [['handout', 'twelve'], 2, /^txplan: "twelve" is not a plan id; plans are numbered/],
      [['handout'], 2, /^txplan: Name a plan \("txplan handout 12"\) or a status/],
      [['handout', '1', '--status', 'active', '--out-dir', 'x'], 2, /^txplan: Give a plan id or --status, not both\n$/],
      [['handout', '--status', 'finished', '--out-dir', 'x'], 2, /^txplan: "finished" is not a plan status; use one of prescribed, active/],
      [['handout', '--status', 'active'], 2, /^txplan: --status writes one PDF per plan; add --out-dir DIR to say where\n$/],
      [['handout', '--status', 'active', '-o', 'x.pdf', '--out-dir', 'x'], 2, /^txplan: Give -o FILE or --out-dir DIR, not both\n$/],
      [['handout', '1', '--paper', 'legal'], 2, /^txplan: Option '--paper <size>' argument 'legal' is invalid\. Allowed choices are letter, a4\./],
      [['handout', '1', '-o', 'missing/plan.pdf'], 1, /^txplan: Could not write .*missing\/plan\.pdf: the folder .*missing does not exist; create it or choose another path\n$/],
      [['handout', '1', '-o', 'a-file/plan.pdf'], 1, /^txplan: Could not write .*a-file\/plan\.pdf: part of the path is a file, not a folder; choose another path\n$/],
      [['handout', '1', '-o', 'templates'], 1, /^txplan: .*templates is a folder; give -o a file name such as .*templates\/plan\.pdf, or use --out-dir\n$/],
      [['handout', '--status', 'active', '--out-dir', 'a-file'], 1, /^txplan: .*a-file is a file, not a folder; give --out-dir a folder\n$/],
    ];
    for (const [args, code, stderr] of cases) {
      const result = c.run(...args);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(stderr);
      expect(result.stdout, args.join(' ')).toBe('');
      noStackTrace(result.stderr);
    }
    expect(existsSync(join(c.ws, 'missing'))).toBe(false);

    // An existing file is refused without --force, left as it was, and replaced with it.
    writeFileSync(join(c.ws, 'plan-1.pdf'), 'keep me');
    const refused = c.run('handout', '1');
    expect(refused).toMatchObject({ code: 1, stdout: '' });
    expect(refused.stderr).toBe(`txplan: ${join(c.ws, 'plan-1.pdf')} already exists; choose another file or add --force to replace it\n`);
    expect(readFileSync(join(c.ws, 'plan-1.pdf'), 'utf8')).toBe('keep me');
    const json = c.run('handout', '1', '--json');
    expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'file_exists', message: `${join(c.ws, 'plan-1.pdf')} already exists; choose another file or add --force to replace it` } });
    expect(c.run('handout', '1', '--force').code).toBe(0);
    expect(readFileSync(join(c.ws, 'plan-1.pdf')).subarray(0, 5).toString()).toBe('%PDF-');
    // No temporary files left behind.
    expect(readdirSync(c.ws).filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  it('prints a plan whose template was deleted from its own snapshot, and says so', async () => {
    const c = clinic();
    c.ok('plan', 'apply', 'A-1001', ACNE, '--mode', 'start', '--yes', '--clinic', 'downtown', '--start', '2025-03-03', '--payment-method', 'pm_card_visa');
    rmSync(join(c.ws, 'templates', `${ACNE}.yaml`));
    const result = c.run('handout', '1');
    expect(result.code).toBe(0);
    expect(result.stderr).toBe(`note: the template ${ACNE} of plan 1 is no longer in templates/; the handout was printed from the plan's own copy (v3)\n`);
    const pdf = await pdfText(join(c.ws, 'plan-1.pdf'));
    expect(pdf.text).toContain('Comprehensive Acne Resolution');
    expect(pdf.text).toContain('Template comprehensive-acne-resolution v3');

    const json = JSON.parse(c.run('handout', '--status', 'active', '--out-dir', 'out', '--json').stdout);
    expect(json.notes).toEqual([`the template ${ACNE} of plan 1 is no longer in templates/; the handout was printed from the plan's own copy (v3)`]);
  });

  it('is part of the demo, which prints where the handout is', async () => {
    const dir = join(tempDir(), 'demo');
    const result = txplan(['demo', '--dir', dir]);
    expect(result.code).toBe(0);
    const file = join(dir, '.txplan', 'plan-1.pdf');
    expect(result.stdout).toContain('$ txplan handout 1 -o .txplan/plan-1.pdf');
    expect(result.stdout).toContain(`to ${file}`);
    const pdf = await pdfText(file);
    expect(pdf.text).toContain('Zoë Ødegård');
    // Kept out of git with the rest of .txplan/.
    expect(git(dir, 'status', '--porcelain')).toBe('');
  });
});
