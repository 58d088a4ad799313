import { describe, expect, it } from 'vitest';
import { pieces } from '../../src/handout/script.js';
import { replaceUncovered } from '../../src/handout/cover.js';

describe('handout text in other scripts', () => {
  it('splits a line by the face that has its glyphs, in visual order, right-to-left runs marked', () => {
    expect(pieces('Plan for محمد العلي', 'regular')).toEqual([
      { text: 'Plan for ', font: 'regular', rtl: false },
      { text: 'محمد العلي', font: 'arabic-regular', rtl: true },
    ]);
    // A Hebrew name before Latin text: the Hebrew run comes first on the line; punctuation after it keeps its face.
    expect(pieces('דוד כהן · Plan 2', 'semibold')).toEqual([
      { text: 'דוד כהן', font: 'hebrew-semibold', rtl: true },
      { text: ' · ', font: 'hebrew-semibold', rtl: false },
      { text: 'Plan 2', font: 'semibold', rtl: false },
    ]);
    // Italic has no Arabic face: the upright one stands in.
    expect(pieces('ملاحظة', 'italic')).toEqual([{ text: 'ملاحظة', font: 'arabic-regular', rtl: true }]);
    expect(pieces('Zoë Ødegård', 'bold')).toEqual([{ text: 'Zoë Ødegård', font: 'bold', rtl: false }]);
  });

  it('replaces runs no font covers with their transliteration, or a notice naming them where there is none, and lists the characters', () => {
    expect(replaceUncovered('小明 王')).toEqual({ text: 'XiaoMing Wang', characters: ['小', '明', '王'], labels: [] });
    expect(replaceUncovered('Zoë 🌸 Ångström')).toEqual({ text: 'Zoë :cherry_blossom: Ångström', characters: ['🌸'], labels: [] });
    expect(replaceUncovered('Thanks ❤️ 감사합니다')).toEqual({ text: 'Thanks :heart: GamSaHabNiDa', characters: ['❤', '감', '사', '합', '니', '다'], labels: [] });
    expect(replaceUncovered('やまだ 山田')).toMatchObject({ text: 'yamada ShanTian' });
    // Private-use characters have no transliteration: a notice says so.
    expect(replaceUncovered('Room \uE000\uE001 B')).toEqual({ text: 'Room [characters the handout cannot print] B', characters: ['\uE000', '\uE001'], labels: ['characters the handout cannot print'] });
    expect(replaceUncovered('محمد العلي')).toEqual({ text: 'محمد العلي', characters: [], labels: [] });
  });
});
