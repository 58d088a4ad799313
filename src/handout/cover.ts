import anyAscii from 'any-ascii';
import { covered } from './script.js';
import type { Handout } from './view.js';

/**
 * Text the handout's fonts cannot draw, found before layout.
 *
 * Noto Sans and its Arabic, Hebrew and Devanagari fallbacks cover the names
 * and notes of most patients. Chinese, Japanese and Korean fonts are tens of
 * MB, and emoji fonts are colour bitmaps pdfkit cannot embed, so text in
 * those scripts is not shipped: rather than an empty box, each run of such
 * characters prints as its transliteration into Latin letters (any-ascii:
 * 王小明 → "WangXiaoMing", 김민준 → "GimMinJun", 🌸 → ":cherry_blossom:"), or,
 * where there is none, as a bracketed notice saying what is there
 * ("[Chinese characters]", "[emoji]"); a name with nothing printable left
 * prints as "[name in Korean text — see patient record] MRN T-5". A warning
 * names the field, the characters and what was printed, so the clinic can
 * check the patient's record.
 */

export interface Uncovered {
  /** The field, as the clinic knows it: "patient name", "plan name", "visit 2 note". */
  field: string;
  /** The text as entered. */
  text: string;
  /** The characters no font covers, each once, in order. */
  characters: string[];
  /** What the handout prints instead. */
  printed: string;
}

/** Presentation selectors only choose between text and emoji glyphs: they are dropped, never drawn. */
const SELECTORS = /[\ufe0e\ufe0f]/gu;
/** Characters that sit between two uncovered ones without ending the run: spaces, joiners, marks. */
const GLUE = /^[\s\u200c\u200d\p{M}]$/u;

/** The handout with every uncovered run replaced, and what was replaced. */
export function coverHandout(handout: Handout): { handout: Handout; uncovered: Uncovered[] } {
  const uncovered: Uncovered[] = [];
  const seen = new Set<string>();
  const fix = (field: string, text: string, name = false): string => {
    const result = replaceUncovered(text);
    if (result.characters.length === 0) return result.text;
    let printed = result.text;
    if (name && !/[\p{L}\p{N}]/u.test(result.text.replace(/\[[^\]]*\]/gu, ''))) printed = `[name in ${result.labels.join(', ')} — see patient record]${handout.mrn ? ` MRN ${handout.mrn}` : ''}`;
    const key = `${field}\u0000${text}`;
    if (!seen.has(key)) {
      seen.add(key);
      uncovered.push({ field, text, characters: result.characters, printed });
    }
    return printed;
  };
  const opt = (field: string, text: string | null): string | null => (text === null ? null : fix(field, text));
  const h = handout;
  const out: Handout = {
    ...h,
    clinic: { name: fix('clinic name', h.clinic.name), details: h.clinic.details.map((d) => fix('clinic address or phone', d)) },
    patient: fix('patient name', h.patient, true),
    title: fix('plan name', h.title),
    notice: opt('status notice', h.notice),
    goal: fix('plan goal', h.goal),
    description: opt('plan description', h.description),
    schedule: h.schedule.map((row) => ({
      ...row,
      when: fix(`visit ${row.n} timing`, row.when),
      services: row.services.map((s) => fix(`visit ${row.n} service`, s)),
      alternatives: row.alternatives.map((s) => fix(`visit ${row.n} alternative`, s)),
      performed: row.performed?.map((s) => fix(`visit ${row.n} service performed`, s)) ?? null,
      note: opt(`visit ${row.n} note`, row.note),
      visitNote: opt(`visit ${row.n} visit note`, row.visitNote),
      outcome: opt(`visit ${row.n} outcome`, row.outcome),
    })),
    homeCare: h.homeCare.map((group) => ({
      ...group,
      items: group.items.map((item) => ({ product: opt('home care product', item.product), instructions: fix('home care instructions', item.instructions) })),
    })),
    milestones: h.milestones.map((m) => ({ ...m, text: fix('milestone', m.text) })),
    followUp: h.followUp.map((f) => ({ ...f, text: fix('follow-up recommendation', f.text) })),
    payment: {
      ...h.payment,
      headline: fix('price', h.payment.headline),
      rows: h.payment.rows.map((row) => ({ ...row, label: fix('payment summary', row.label), value: fix('payment summary', row.value), detail: opt('payment summary', row.detail) })),
      ...(h.payment.visits ? { visits: h.payment.visits.map((v) => ({ ...v, services: fix(`visit ${v.n} services`, v.services) })) } : {}),
    },
    cancellation: h.cancellation ? { terms: h.cancellation.terms.map((t) => fix('cancellation terms', t)) } : null,
    agreement: h.agreement ? { statement: fix('agreement', h.agreement.statement), signer: fix('patient name', h.agreement.signer, true) } : null,
    footer: { plan: fix('plan name', h.footer.plan), provenance: fix('template id', h.footer.provenance), generated: h.footer.generated },
  };
  return { handout: out, uncovered };
}

/** Each run of characters no font covers, replaced by its transliteration, or by a bracketed notice naming the script. */
export function replaceUncovered(text: string): { text: string; characters: string[]; labels: string[] } {
  const chars = [...text.replace(SELECTORS, '')];
  const bad = chars.map((ch) => !GLUE.test(ch) && !covered(ch.codePointAt(0)!));
  if (!bad.includes(true)) return { text: chars.join(''), characters: [], labels: [] };
  const characters = new Set<string>();
  const labels: string[] = [];
  let out = '';
  let i = 0;
  while (i < chars.length) {
    if (!bad[i]) {
      out += chars[i++];
      continue;
    }
    // A run: uncovered characters of one kind (emoji, Korean, …), and the spaces and joiners between them.
    const family = kind(chars[i]!);
    let end = i + 1;
    for (let k = i + 1; k < chars.length; k++) {
      if (bad[k] && kind(chars[k]!) === family) end = k + 1;
      else if (bad[k] || !GLUE.test(chars[k]!)) break;
    }
    const run = chars.slice(i, end).join('');
    for (const ch of chars.slice(i, end)) if (!GLUE.test(ch)) characters.add(ch);
    // Transliterations are Latin letters Noto Sans draws; kanji read as Chinese (Japanese readings need a dictionary).
    const latin = anyAscii(run).trim();
    if (/[A-Za-z0-9]/.test(latin)) out += latin;
    else {
      const label = describe(run);
      if (!labels.includes(label)) labels.push(label);
      out += `[${label}]`;
    }
    i = end;
  }
  return { text: out, characters: [...characters], labels };
}

/** Which notice a character belongs to: Chinese characters and kana share one, since Japanese mixes them. */
function kind(ch: string): string {
  if (/\p{Script=Hangul}/u.test(ch)) return 'korean';
  if (/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]/u.test(ch)) return 'cjk';
  if (/\p{Extended_Pictographic}/u.test(ch)) return 'emoji';
  return 'other';
}

function describe(run: string): string {
  if (/\p{Script=Hangul}/u.test(run)) return 'Korean text';
  if (/[\p{Script=Hiragana}\p{Script=Katakana}]/u.test(run)) return 'Japanese text';
  if (/\p{Script=Han}/u.test(run)) return 'Chinese characters';
  if (/\p{Extended_Pictographic}/u.test(run)) return 'emoji';
  return 'characters the handout cannot print';
}

/** "王 (U+738B), 小 (U+5C0F)": the characters, each with its code point, for a warning. */
export function listCharacters(characters: readonly string[]): string {
  return characters.map((ch) => `${ch} (U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`).join(', ');
}
